"""Repair ops: remove islands, fill holes, smooth a class, replace a class."""
from __future__ import annotations

import numpy as np
import pytest

from engine.edits import PaintPolicy, fill_holes, remove_islands, replace_class, smooth_class


# --- remove_islands -----------------------------------------------------------------------------

def test_small_island_goes_big_blob_stays():
    label = np.zeros((30, 30), np.uint8)
    label[3:6, 3:6] = 4        # 9 px
    label[15:23, 15:23] = 4    # 64 px
    rec = remove_islands(label, 10, cls=4)
    assert (label[3:6, 3:6] == 0).all() and (label[15:23, 15:23] == 4).all()
    assert rec.bbox == (3, 3, 6, 6)


def test_island_takes_most_common_neighbour():
    label = np.zeros((20, 20), np.uint8)
    label[:, :10] = 6
    label[:, 10:] = 5
    label[8:11, 7:10] = 1      # 3x3 island touching 6 on three sides, 5 on one
    remove_islands(label, 10, cls=1)
    assert (label[8:11, 7:10] == 6).all()


def test_every_class_including_unlabelled_specks():
    label = np.full((20, 20), 4, np.uint8)
    label[:, 12:] = 0
    label[5, 5] = 255
    label[15, 15] = 3
    before = label.copy()
    remove_islands(label, 4)
    assert label[5, 5] == 4 and label[15, 15] == 0
    keep = (before != 255) & (before != 3)
    assert np.array_equal(label[keep], before[keep])


def test_connectivity_decides_what_an_island_is():
    base = np.zeros((10, 10), np.uint8)
    base[4, 4] = base[5, 5] = 3    # touch only diagonally
    a, b = base.copy(), base.copy()
    assert remove_islands(a, 2, cls=3, connectivity=8) is None
    remove_islands(b, 2, cls=3, connectivity=4)
    assert (b == 0).all()


def test_adjacent_islands_join_the_surrounding_class_not_each_other():
    label = np.full((20, 20), 5, np.uint8)
    label[8:10, 8:10] = 1
    label[8:10, 10:12] = 2
    remove_islands(label, 5)
    assert (label == 5).all()


def test_islands_respect_policy():
    label = np.zeros((20, 20), np.uint8)
    label[3:5, 3:5] = 4
    label[12:14, 12:14] = 7
    assert remove_islands(label.copy(), 10, policy=PaintPolicy(locked={4, 7})) is None
    out = label.copy()
    remove_islands(out, 10, policy=PaintPolicy(locked={4}))
    assert (out[3:5, 3:5] == 4).all() and (out[12:14, 12:14] == 0).all()


def test_single_class_frame_and_absent_class():
    label = np.full((8, 8), 2, np.uint8)
    assert remove_islands(label, 1000) is None
    assert remove_islands(label, 10, cls=9) is None


# --- fill_holes ---------------------------------------------------------------------------------

def ring_label():
    label = np.zeros((30, 30), np.uint8)
    label[5:25, 5:25] = 4
    label[10:13, 10:13] = 0      # hole of background
    label[15:20, 15:20] = 255    # hole of unlabelled
    label[12:14, 20:22] = 7      # hole of an instrument
    return label


def test_fill_holes_fills_enclosed_regions_only():
    label = ring_label()
    rec = fill_holes(label, 4)
    assert (label[5:25, 5:25] == 4).all()
    assert (label[:5] == 0).all() and (label[25:] == 0).all()
    assert rec.bbox == (10, 10, 22, 20)


def test_fill_holes_keeps_locked_and_large_holes():
    label = ring_label()
    fill_holes(label, 4, policy=PaintPolicy(locked={7}))
    assert (label[12:14, 20:22] == 7).all() and (label[10:13, 10:13] == 4).all()
    label = ring_label()
    fill_holes(label, 4, max_size=10)
    assert (label[15:20, 15:20] == 255).all()           # 25 px > 10: kept
    assert (label[10:13, 10:13] == 4).all() and (label[12:14, 20:22] == 4).all()


def test_open_shape_is_not_a_hole():
    label = np.zeros((20, 20), np.uint8)
    label[4:16, 4:16] = 2
    label[8:12, 8:16] = 0   # a bay opening to the right
    assert fill_holes(label, 2) is None
    label[8:12, 15] = 2     # close the bay
    fill_holes(label, 2)
    assert (label[4:16, 4:16] == 2).all()


# --- smooth_class -------------------------------------------------------------------------------

ELLIPSE5 = np.array([[0, 0, 1, 0, 0], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 1, 0, 0]], bool)


def morph(m, kernel, erode):
    """Full-frame binary erosion/dilation by shifts (outside the frame counts as 1 for erosion, 0 for dilation)."""
    r = kernel.shape[0] // 2
    p = np.pad(m, r, constant_values=erode)
    out = np.ones_like(m) if erode else np.zeros_like(m)
    for dy, dx in zip(*np.nonzero(kernel)):
        win = p[dy:dy + m.shape[0], dx:dx + m.shape[1]]
        out = out & win if erode else out | win
    return out


def ref_smooth_mask(m):
    opened = morph(morph(m, ELLIPSE5, True), ELLIPSE5, False)
    return morph(morph(opened, ELLIPSE5, False), ELLIPSE5, True)


@pytest.mark.parametrize("at_corner", [False, True])
def test_smooth_matches_full_frame_morphology(at_corner):
    label = np.zeros((40, 40), np.uint8)
    sl = (slice(0, 20), slice(0, 20)) if at_corner else (slice(10, 30), slice(10, 30))
    label[sl] = 4
    r0 = sl[0].start
    label[r0 + 8, sl[1].stop:sl[1].stop + 6] = 4   # a one-pixel spur
    label[r0 + 10, sl[1].start + (3 if at_corner else 0)] = 6  # an inner speck / a notch on the edge
    before = label.copy()
    smooth_class(label, 4, radius=2)
    want = ref_smooth_mask(before == 4)
    assert np.array_equal(label == 4, want)
    removed = (before == 4) & ~want
    assert removed.any() and (label[removed] == 0).all()   # spur pixels take the surrounding class
    assert label[r0 + 10, sl[1].start + (3 if at_corner else 0)] == 4


def test_smooth_respects_lock_and_reports_tight_box():
    label = np.zeros((40, 40), np.uint8)
    label[10:30, 10:30] = 4
    label[20, 10] = 6
    locked = label.copy()
    smooth_class(locked, 4, radius=2, policy=PaintPolicy(locked={6}))
    assert locked[20, 10] == 6
    out = label.copy()
    rec = smooth_class(out, 4, radius=2)
    assert out[20, 10] == 4
    changed = np.argwhere(out != label)
    assert rec.bbox == (changed[:, 1].min(), changed[:, 0].min(), changed[:, 1].max() + 1, changed[:, 0].max() + 1)


def test_smooth_radius_zero_or_absent_class():
    label = np.zeros((10, 10), np.uint8)
    label[2:4, 2:4] = 3
    assert smooth_class(label, 3, radius=0) is None
    assert smooth_class(label, 9) is None
    with pytest.raises(ValueError, match="radius"):
        smooth_class(label, 3, radius=-1)


# --- replace_class ------------------------------------------------------------------------------

def test_replace_class():
    label = np.zeros((10, 10), np.uint8)
    label[2:4, 2:8] = 13
    label[7, 1] = 13
    rec = replace_class(label, 13, 21)
    assert (label == 13).sum() == 0 and (label == 21).sum() == 13
    assert rec.bbox == (1, 2, 8, 8) and rec.description.startswith("Replace Phacoemulsifier Handpiece by")
    assert replace_class(label, 13, 21) is None
    assert replace_class(label, 21, 5, PaintPolicy(locked={21})) is None
    assert replace_class(label, 21, 5, PaintPolicy("over_class", target=0)) is None
    assert replace_class(label, 21, 5, PaintPolicy("over_class", target=21)) is not None
    assert (label == 5).sum() == 13
