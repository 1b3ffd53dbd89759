"""Brush, eraser and polygon fill: exact pixels against an independent exact-arithmetic reference."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from engine.edits import PaintPolicy, brush_stroke, erase_stroke, fill_polygon


def ref_stroke(shape, points, radius):
    """Pixels whose centre is within `radius` of the polyline: exact rational arithmetic, per pixel."""
    r2 = Fraction(max(radius, 0.5)) ** 2
    pts = [(int(np.floor(x + 0.5)), int(np.floor(y + 0.5))) for x, y in points]
    segs = list(zip(pts[:-1], pts[1:])) or [(pts[0], pts[0])]
    out = np.zeros(shape, bool)
    for y in range(shape[0]):
        for x in range(shape[1]):
            for (ax, ay), (bx, by) in segs:
                dx, dy = bx - ax, by - ay
                dd = dx * dx + dy * dy
                t = Fraction(0) if dd == 0 else min(max(Fraction((x - ax) * dx + (y - ay) * dy, dd), Fraction(0)), Fraction(1))
                cx, cy = ax + t * dx, ay + t * dy
                if (x - cx) ** 2 + (y - cy) ** 2 <= r2:
                    out[y, x] = True
                    break
    return out


def striped(shape=(30, 40)):
    """A label with vertical bands of classes 0, 4, 6, 255 (so policies have something to bite on)."""
    label = np.zeros(shape, np.uint8)
    label[:, 10:20] = 4
    label[:, 20:30] = 6
    label[:, 30:] = 255
    return label


@pytest.mark.parametrize("points,radius", [
    ([(12, 9)], 3.5),                      # one point = one dab
    ([(3, 4), (30, 4)], 2.5),              # horizontal
    ([(5, 3), (17, 25), (36, 10)], 2),     # polyline with a corner, integer radius
    ([(2, 2), (37, 27)], 1.5),             # long diagonal
    ([(-3, 15), (45, 12)], 4.5),           # starts and ends outside the image
    ([(38, 28)], 5),                       # dab at the corner
])
def test_brush_matches_reference(points, radius):
    label = np.zeros((30, 40), np.uint8)
    rec = brush_stroke(label, points, radius, 9)
    expected = ref_stroke(label.shape, points, radius)
    assert expected.any()
    assert np.array_equal(label == 9, expected)
    assert np.array_equal(label[~expected], np.zeros((~expected).sum(), np.uint8))
    ys, xs = np.nonzero(expected)
    assert rec.bbox == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def test_dab_is_a_disc():
    label = np.zeros((21, 21), np.uint8)
    brush_stroke(label, [(10, 10)], 3, 1)
    yy, xx = np.mgrid[:21, :21]
    assert np.array_equal(label == 1, (xx - 10) ** 2 + (yy - 10) ** 2 <= 9)
    assert (label == 1).sum() == 29  # the classic radius-3 digital disc


def test_zero_radius_gives_gapless_one_pixel_line():
    label = np.zeros((20, 30), np.uint8)
    brush_stroke(label, [(1, 1), (28, 11)], 0, 3)
    cols = (label == 3).any(axis=0)
    assert cols[1:29].all() and not cols[0] and not cols[29]
    assert (label == 3).sum() <= 2 * 28  # thin
    import cv2
    n, _ = cv2.connectedComponents((label == 3).view(np.uint8), connectivity=8)
    assert n == 2  # one 8-connected piece: no gaps


def test_fast_mouse_leaves_no_gap():
    label = np.zeros((50, 300), np.uint8)
    brush_stroke(label, [(5, 25), (290, 25)], 4, 2)
    assert (label[21:30, 5:291] == 2).all()


def test_points_are_rounded_to_nearest_pixel():
    a = np.zeros((20, 20), np.uint8)
    b = np.zeros((20, 20), np.uint8)
    brush_stroke(a, [(7.4, 8.6)], 2.5, 1)
    brush_stroke(b, [(7, 9)], 2.5, 1)
    assert np.array_equal(a, b)


def test_stroke_outside_image_changes_nothing():
    label = striped()
    before = label.copy()
    assert brush_stroke(label, [(-50, -50), (-20, -60)], 5, 1) is None
    assert np.array_equal(label, before)


def test_over_class_paints_only_that_class():
    label = striped()
    before = label.copy()
    brush_stroke(label, [(2, 15), (38, 15)], 3.5, 9, PaintPolicy("over_class", target=4))
    changed = label != before
    assert changed.any()
    assert (before[changed] == 4).all()
    assert (label[changed] == 9).all()
    assert np.array_equal(changed, ref_stroke(label.shape, [(2, 15), (38, 15)], 3.5) & (before == 4))


def test_over_unlabelled_paints_only_255():
    label = striped()
    before = label.copy()
    brush_stroke(label, [(2, 15), (38, 15)], 3.5, 1, PaintPolicy("over_unlabelled"))
    changed = label != before
    assert changed.any() and (before[changed] == 255).all()


def test_locked_classes_survive_every_mode():
    for policy in (PaintPolicy(locked={4, 6}), PaintPolicy("over_class", target=4, locked={4})):
        label = striped()
        before = label.copy()
        brush_stroke(label, [(0, 0), (39, 29), (0, 29)], 6, 2, policy)
        assert np.array_equal(label[before == 4], before[before == 4])
        assert np.array_equal(label[before == 6], before[before == 6])


def test_eraser_paints_unlabelled_by_default_and_chosen_background():
    label = striped()
    rec = erase_stroke(label, [(5, 5), (25, 5)], 2.5)
    assert rec is not None and rec.description == "Eraser"
    assert (label[5, 5:26] == 255).all()
    erase_stroke(label, [(5, 20)], 2.5, value=5)
    assert label[20, 5] == 5


def test_painting_same_value_returns_none():
    label = np.full((10, 10), 3, np.uint8)
    assert brush_stroke(label, [(5, 5)], 3, 3) is None


def test_rectangle_and_l_shaped_polygons_exact():
    label = np.zeros((30, 40), np.uint8)
    rec = fill_polygon(label, [(5, 4), (20, 4), (20, 12), (5, 12)], 7)
    expected = np.zeros_like(label, dtype=bool)
    expected[4:13, 5:21] = True
    assert np.array_equal(label == 7, expected)
    assert rec.bbox == (5, 4, 21, 13)
    label[:] = 0
    fill_polygon(label, [(2, 2), (30, 2), (30, 8), (10, 8), (10, 25), (2, 25)], 3)
    expected[:] = False
    expected[2:9, 2:31] = True
    expected[2:26, 2:11] = True
    assert np.array_equal(label == 3, expected)


def test_triangle_interior_and_exterior():
    label = np.zeros((40, 40), np.uint8)
    tri = [(3, 3), (36, 5), (12, 35)]
    fill_polygon(label, tri, 1)
    yy, xx = np.mgrid[:40, :40].astype(float)

    def signed(p, q):  # distance of pixel centres to the line p->q, positive inside (clockwise in image coords)
        (px, py), (qx, qy) = p, q
        n = np.hypot(qx - px, qy - py)
        return ((qx - px) * (yy - py) - (qy - py) * (xx - px)) / n

    d = np.minimum.reduce([signed(tri[0], tri[1]), signed(tri[1], tri[2]), signed(tri[2], tri[0])])
    assert (d > 1.0).sum() > 300 and (d < -1.0).sum() > 300
    assert (label[d > 1.0] == 1).all()
    assert (label[d < -1.0] == 0).all()


def test_polygon_respects_policy_and_needs_three_points():
    label = striped()
    before = label.copy()
    fill_polygon(label, [(0, 0), (39, 0), (39, 29), (0, 29)], 8, PaintPolicy(locked={0}))
    assert np.array_equal(label == 0, before == 0)
    assert (label[before != 0] == 8).all()
    with pytest.raises(ValueError, match="at least 3 points"):
        fill_polygon(label, [(0, 0), (5, 5)], 1)


@pytest.mark.parametrize("call,match", [
    (lambda l: brush_stroke(l, [(1, 1)], -1, 2), "radius"),
    (lambda l: brush_stroke(l, [], 2, 2), "non-empty"),
    (lambda l: brush_stroke(l, [(1, 1)], 2, 300), "class ID"),
    (lambda l: brush_stroke(l.astype(np.int32), [(1, 1)], 2, 2), "uint8"),
    (lambda l: brush_stroke(l, [(float("nan"), 1)], 2, 2), "finite"),
])
def test_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call(np.zeros((10, 10), np.uint8))


def test_policy_validation():
    with pytest.raises(ValueError, match="target"):
        PaintPolicy("over_class")
    with pytest.raises(ValueError, match="unknown paint mode"):
        PaintPolicy("sometimes")
    p = PaintPolicy(locked=[3, 4])
    assert p.locked == frozenset({3, 4}) and hash(p) == hash(PaintPolicy(locked=frozenset({3, 4})))
    region = np.array([[3, 4, 5, 255]], np.uint8)
    assert p.allowed(region).tolist() == [[False, False, True, True]]
    assert PaintPolicy("over_unlabelled").allowed(region).tolist() == [[False, False, False, True]]
