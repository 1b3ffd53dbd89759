"""The CaDIS class taxonomy: 36 classes, palette, and the three benchmark experiments.

Facts from the CaDIS paper (arXiv 1906.11586) and the community loaders; see shared/cadis_reference.md.
Remapping is a 256-entry lookup table applied with numpy indexing (no per-pixel Python loops).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IGNORE = 255
NUM_CLASSES = 36

CLASS_NAMES: tuple[str, ...] = (
    "Pupil", "Surgical Tape", "Hand", "Eye Retractors", "Iris", "Skin", "Cornea",
    "Hydrodissection Cannula", "Viscoelastic Cannula", "Capsulorhexis Cystotome", "Rycroft Cannula",
    "Bonn Forceps", "Primary Knife", "Phacoemulsifier Handpiece", "Lens Injector", "I/A Handpiece",
    "Secondary Knife", "Micromanipulator", "I/A Handpiece Handle", "Capsulorhexis Forceps",
    "Rycroft Cannula Handle", "Phacoemulsifier Handpiece Handle", "Capsulorhexis Cystotome Handle",
    "Secondary Knife Handle", "Lens Injector Handle", "Suture Needle", "Needle Holder",
    "Charleux Cannula", "Primary Knife Handle", "Vitrectomy Handpiece", "Mendez Ring", "Marker",
    "Hydrodissection Cannula Handle", "Troutman Forceps", "Cotton", "Iris Hooks",
)

PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 137, 255), (255, 165, 0), (255, 156, 201), (99, 0, 255), (255, 0, 0), (255, 0, 165),
    (255, 255, 255), (141, 141, 141), (255, 218, 0), (173, 156, 255), (73, 73, 73), (250, 213, 255),
    (255, 156, 156), (99, 255, 0), (157, 225, 255), (255, 89, 124), (173, 255, 156), (255, 60, 0),
    (40, 0, 255), (170, 124, 0), (188, 255, 0), (0, 207, 255), (0, 255, 207), (188, 0, 255),
    (243, 0, 255), (0, 203, 108), (252, 255, 0), (93, 182, 177), (0, 81, 203), (211, 183, 120),
    (231, 203, 0), (0, 124, 255), (10, 91, 44), (2, 0, 60), (0, 144, 2), (133, 59, 59),
)

# A display palette whose 36 colours are told apart (the CaDIS colours include near-identical pinks: Hand,
# I/A Handpiece, Primary Knife). Chosen by greedy farthest-point sampling in CIELAB over an sRGB grid (step 15,
# lightness 35..92, chroma > 30), starting from the CaDIS pupil blue; smallest pairwise CIELAB distance 29
# (CaDIS colours: 8.5). Exports and `colorize` keep the CaDIS colours.
DISTINCT_PALETTE: tuple[tuple[int, int, int], ...] = (
    (0, 135, 255), (0, 255, 0), (255, 0, 0), (75, 90, 30), (255, 0, 180), (255, 225, 0),
    (0, 255, 255), (75, 0, 255), (255, 150, 150), (165, 240, 135), (120, 60, 120), (210, 120, 0),
    (15, 135, 165), (225, 195, 255), (165, 75, 225), (240, 0, 90), (255, 225, 165), (0, 135, 0),
    (15, 165, 120), (135, 60, 45), (150, 150, 0), (165, 225, 0), (255, 0, 255), (255, 135, 225),
    (45, 255, 120), (180, 30, 15), (165, 0, 90), (0, 255, 195), (180, 135, 75), (0, 90, 255),
    (105, 180, 255), (45, 90, 150), (180, 240, 195), (90, 75, 180), (135, 165, 90), (255, 195, 75),
)
DISPLAY_PALETTES: dict[str, tuple[tuple[int, int, int], ...]] = {"distinct": DISTINCT_PALETTE, "cadis": PALETTE}

ANATOMY_IDS = (0, 1, 2, 3, 4, 5, 6)  # pupil .. cornea: everything that is not an instrument
INSTRUMENT_IDS = tuple(range(7, 36))

# Instrument tip -> handle, for instruments whose handle is a class of its own.
HANDLE_OF: dict[int, int] = {
    7: 32, 9: 22, 10: 20, 12: 28, 13: 21, 14: 24, 15: 18, 16: 23,
}


@dataclass(frozen=True)
class ClassSet:
    """A set of training classes: `groups[new_id]` lists the original IDs merged into it."""

    key: str  # "full", "1", "2", "3"
    names: tuple[str, ...]
    groups: tuple[tuple[int, ...], ...]

    @property
    def num_classes(self) -> int:
        return len(self.names)

    @property
    def lut(self) -> np.ndarray:
        """256-entry uint8 table original ID -> new ID (IGNORE for ignored or out-of-range IDs)."""
        return _LUTS[self.key]

    @property
    def palette(self) -> np.ndarray:
        """(256, 3) uint8 colours for new IDs: a merged class takes its first original ID's colour,
        IGNORE (and anything unused) is black."""
        return _PALETTES[self.key]

    def remap(self, label: np.ndarray) -> np.ndarray:
        return remap(label, self)


def _build(key: str, names: list[str], groups: list[tuple[int, ...]]) -> ClassSet:
    return ClassSet(key=key, names=tuple(names), groups=tuple(tuple(g) for g in groups))


FULL = _build("full", list(CLASS_NAMES), [(i,) for i in range(NUM_CLASSES)])

EXPERIMENT_1 = _build(
    "1", list(CLASS_NAMES[:7]) + ["Instrument"], [(i,) for i in range(7)] + [tuple(range(7, 36))]
)

EXPERIMENT_2 = _build(
    "2",
    list(CLASS_NAMES[:7]) + [
        "Cannula", "Cap. Cystotome", "Tissue Forceps", "Primary Knife", "Ph. Handpiece",
        "Lens Injector", "I/A Handpiece", "Secondary Knife", "Micromanipulator", "Cap. Forceps",
    ],
    [(i,) for i in range(7)] + [
        (7, 8, 10, 27, 20, 32), (9, 22), (11, 33), (12, 28), (13, 21), (14, 24), (15, 18), (16, 23),
        (17,), (19,),
    ],
)
EXPERIMENT_2_IGNORED = (25, 26, 29, 30, 31, 34, 35)

EXPERIMENT_3 = _build(
    "3",
    list(CLASS_NAMES[:7]) + [
        "Hydro. Cannula", "Visc. Cannula", "Cap. Cystotome", "Rycroft Cannula", "Bonn Forceps",
        "Primary Knife", "Ph. Handpiece", "Lens Injector", "I/A Handpiece", "Secondary Knife",
        "Micromanipulator", "I/A Handpiece Handle", "Cap. Forceps", "Rycroft Cannula Handle",
        "Ph. Handpiece Handle", "Cap. Cystotome Handle", "Secondary Knife Handle", "Lens Injector Handle",
    ],
    [(i,) for i in range(25)],
)

CLASS_SETS: dict[str, ClassSet] = {"full": FULL, "1": EXPERIMENT_1, "2": EXPERIMENT_2, "3": EXPERIMENT_3}


def _make_lut(cs: ClassSet) -> np.ndarray:
    lut = np.full(256, IGNORE, dtype=np.uint8)
    for new_id, group in enumerate(cs.groups):
        lut[list(group)] = new_id
    return lut


def _make_palette(cs: ClassSet) -> np.ndarray:
    pal = np.zeros((256, 3), dtype=np.uint8)
    for new_id, group in enumerate(cs.groups):
        pal[new_id] = PALETTE[group[0]]
    return pal


_LUTS = {k: _make_lut(v) for k, v in CLASS_SETS.items()}
_PALETTES = {k: _make_palette(v) for k, v in CLASS_SETS.items()}
for _a in list(_LUTS.values()) + list(_PALETTES.values()):
    _a.setflags(write=False)


def display_colours(class_set: ClassSet, palette: str = "cadis") -> np.ndarray:
    """(256, 3) uint8 colours of a class set's new IDs in a display palette ("cadis" or "distinct"): a merged
    class takes its first original ID's colour, IGNORE and unused IDs are black."""
    if palette not in DISPLAY_PALETTES:
        raise ValueError(f"unknown palette {palette!r}: use one of {', '.join(DISPLAY_PALETTES)}")
    if palette == "cadis":
        return class_set.palette
    colours = DISPLAY_PALETTES[palette]
    pal = np.zeros((256, 3), dtype=np.uint8)
    for new_id, group in enumerate(class_set.groups):
        pal[new_id] = colours[group[0]]
    return pal


def get_class_set(key: str | int | None) -> ClassSet:
    """`None`/"full"/"0" -> all 36 classes; 1/2/3 (int or str) -> that experiment."""
    k = "full" if key in (None, "full", "0", 0) else str(key)
    try:
        return CLASS_SETS[k]
    except KeyError:
        raise ValueError(f"unknown class set {key!r}: use full, 1, 2 or 3") from None


def remap(label: np.ndarray, class_set: ClassSet | str | int) -> np.ndarray:
    """Remap an original-ID label to a class set with one table lookup."""
    cs = class_set if isinstance(class_set, ClassSet) else get_class_set(class_set)
    if label.dtype != np.uint8:
        raise TypeError(f"labels are uint8 class-ID images, got {label.dtype}")
    return cs.lut[label]


def colorize(label: np.ndarray, class_set: ClassSet | str | int | None = None) -> np.ndarray:
    """HxW IDs (of `class_set`, original IDs by default) -> HxWx3 RGB uint8."""
    cs = class_set if isinstance(class_set, ClassSet) else get_class_set(class_set)
    return cs.palette[label]


def label_id_problem(label: np.ndarray, allow_ignore: bool = True) -> str | None:
    """None when `label` holds only original CaDIS IDs 0..35 (and 255 = unlabelled when `allow_ignore`),
    else what is wrong in the words `cadis info` uses ("class IDs outside 0..35: 40, 200")."""
    from engine.histogram import label_histogram

    if label.dtype != np.uint8:
        return f"a label holds uint8 class IDs, found {label.dtype}"
    if label.size == 0 or int(label.max()) < NUM_CLASSES:
        return None
    counts = label_histogram(label)
    bad = [i for i in np.flatnonzero(counts[NUM_CLASSES:]) + NUM_CLASSES if not (allow_ignore and i == IGNORE)]
    if not bad:
        return None
    shown = ", ".join(str(int(i)) for i in bad[:12]) + (f" and {len(bad) - 12} more" if len(bad) > 12 else "")
    return f"class IDs outside 0..{NUM_CLASSES - 1}: {shown}"
