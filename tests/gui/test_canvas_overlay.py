"""The overlay renderer: incremental dirty-rect updates must equal a full re-render, in every mode."""
from __future__ import annotations

import numpy as np
import pytest

from desktop.canvas.overlay import Overlay, class_colour_table
from desktop.qt_image import qimage_to_rgba, rgb_to_qimage, wrap_argb32
from engine.taxonomy import PALETTE, get_class_set


def naive_contour(label: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Reference: a pixel is drawn when a 4-neighbour inside the image has another colour."""
    c = table[label]
    h, w = label.shape
    out = np.zeros_like(c)
    for y in range(h):
        for x in range(w):
            for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
                yy, xx = y + dy, x + dx
                if 0 <= yy < h and 0 <= xx < w and c[yy, xx] != c[y, x]:
                    out[y, x] = c[y, x]
                    break
    return out


def random_label(rng, h=24, w=31) -> np.ndarray:
    label = rng.choice(np.array([0, 4, 5, 13, 255], np.uint8), size=(h, w), p=[0.1, 0.5, 0.1, 0.1, 0.2])
    return np.ascontiguousarray(label)


def test_colour_table_matches_palette_and_transparency():
    t = class_colour_table()
    for i in (0, 4, 35):
        r, g, b = PALETTE[i]
        assert t[i] == (0xFF << 24) | (r << 16) | (g << 8) | b
    assert t[255] == 0 and t[36] == 0
    hidden = class_colour_table(hidden={4})
    assert hidden[4] == 0 and hidden[0] == t[0]


def test_colour_table_for_experiments():
    t1 = class_colour_table(get_class_set(1))
    assert len(set(t1[7:36].tolist())) == 1 and t1[7] == class_colour_table()[7]
    t2 = class_colour_table(get_class_set(2))
    assert t2[30] == 0xFF000000  # ignored in experiment 2: opaque black
    assert t2[22] == class_colour_table()[9]  # Cap. Cystotome handle merged into the cystotome


@pytest.mark.parametrize("mode", ["fill", "contour"])
def test_incremental_updates_equal_full_render(mode):
    rng = np.random.default_rng(3)
    label = random_label(rng)
    ov = Overlay()
    ov.set_mode(mode)
    ov.set_label(label)
    for _ in range(40):
        x0, y0 = rng.integers(0, 31), rng.integers(0, 24)
        x1, y1 = x0 + rng.integers(1, 8), y0 + rng.integers(1, 8)
        label[y0:y1, x0:x1] = rng.choice([0, 4, 9, 255])
        changed = ov.update((x0, y0, x1, y1))
        assert changed is not None
        full = Overlay()
        full.set_mode(mode)
        full.set_label(label.copy())
        assert np.array_equal(ov.buffer, full.buffer)
    if mode == "contour":
        assert np.array_equal(ov.buffer, naive_contour(label, ov.colour_table))


def test_update_touches_only_the_rect():
    label = np.full((20, 20), 4, np.uint8)
    ov = Overlay()
    ov.set_label(label)
    label[:] = 0  # changed everywhere, but only a rect is refreshed
    assert ov.update((5, 6, 8, 9)) == (5, 6, 8, 9)
    drawn_pupil = ov.buffer == ov.colour_table[0]
    assert drawn_pupil.sum() == 9 and drawn_pupil[6:9, 5:8].all()
    assert ov.update((30, 30, 40, 40)) is None  # outside: nothing to do
    assert ov.update((-5, -5, 2, 1)) == (0, 0, 2, 1)  # clipped


def test_modes_hidden_classes_and_image_share_memory():
    label = np.full((10, 12), 4, np.uint8)
    label[3:7, 3:7] = 0
    ov = Overlay()
    ov.set_label(label)
    rgba = qimage_to_rgba(ov.image)
    assert tuple(rgba[5, 5]) == (*PALETTE[0], 255) and tuple(rgba[0, 0]) == (*PALETTE[4], 255)
    ov.set_hidden_classes({4})
    rgba = qimage_to_rgba(ov.image)  # the QImage sees the numpy buffer: no re-wrap needed
    assert rgba[0, 0, 3] == 0 and tuple(rgba[5, 5]) == (*PALETTE[0], 255)
    ov.set_mode("contour")
    assert ov.buffer[5, 5] == 0 and ov.buffer[3, 3] == ov.colour_table[0]
    with pytest.raises(ValueError, match="overlay mode"):
        ov.set_mode("wire")


def test_qt_image_helpers_round_trip():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(7, 9, 3), dtype=np.uint8)
    back = qimage_to_rgba(rgb_to_qimage(rgb))
    assert np.array_equal(back[:, :, :3], rgb) and (back[:, :, 3] == 255).all()
    grey = rng.integers(0, 256, size=(5, 6), dtype=np.uint8)
    assert np.array_equal(qimage_to_rgba(rgb_to_qimage(grey))[:, :, 1], grey)
    buf = np.zeros((3, 4), np.uint32)
    img = wrap_argb32(buf)
    buf[1, 2] = 0xFF102030
    assert img.pixel(2, 1) == 0xFF102030
    with pytest.raises(ValueError):
        wrap_argb32(np.zeros((3, 4), np.uint8))
