"""Material IDs written next to the label while drawing, and their base colours.

A class can be made of several materials (a cannula's steel shaft and its plastic hub); the renderer
colours pixels by material, so the image shows the difference while the label keeps the class.
"""
from __future__ import annotations

import numpy as np

SKIN, TAPE, GLOVE, RETRACTOR, IRIS, SCLERA, PUPIL = 0, 1, 2, 3, 4, 5, 6
STEEL, TITANIUM, BLADE, SLEEVE, PLASTIC, DARK, COTTON, WOOD, NYLON = 10, 11, 12, 13, 14, 15, 16, 17, 18
HANDLE_COLORS = (20, 21, 22, 23)  # blue, green, gold, violet anodised handles

METALLIC = (RETRACTOR, STEEL, TITANIUM, BLADE, DARK, *HANDLE_COLORS)
SHADED = METALLIC + (SLEEVE, PLASTIC, WOOD, NYLON, GLOVE)

_FIXED = {
    STEEL: (188, 190, 194), TITANIUM: (132, 134, 140), BLADE: (214, 218, 224), SLEEVE: (150, 160, 172),
    PLASTIC: (210, 214, 206), DARK: (62, 64, 70), COTTON: (244, 242, 236), WOOD: (206, 178, 132),
    NYLON: (70, 96, 190), RETRACTOR: (176, 178, 184),
    HANDLE_COLORS[0]: (70, 110, 176), HANDLE_COLORS[1]: (64, 150, 110), HANDLE_COLORS[2]: (196, 160, 72),
    HANDLE_COLORS[3]: (128, 92, 168),
}


def material_lut(skin, tape, glove, iris, sclera) -> np.ndarray:
    """(256, 3) float32 RGB base colours for a scene; scene-dependent tones fill the anatomy slots."""
    lut = np.zeros((256, 3), np.float32)
    for m, rgb in _FIXED.items():
        lut[m] = rgb
    lut[SKIN], lut[TAPE], lut[GLOVE], lut[IRIS], lut[SCLERA] = skin, tape, glove, iris, sclera
    lut[PUPIL] = (232, 96, 44)
    return lut


def flag_lut(materials: tuple[int, ...]) -> np.ndarray:
    """256-entry bool table: True for the given materials."""
    table = np.zeros(256, bool)
    table[list(materials)] = True
    return table
