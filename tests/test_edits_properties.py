"""Hypothesis properties of the edit ops: locality, policy, exact undo/redo over random op sequences."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.edits import (PaintPolicy, StrokeBuilder, UndoRecord, UndoStack, brush_stroke, erase_stroke,
                          fill_holes, fill_polygon, flood_fill, remove_islands, replace_class, smooth_class)
from test_edits_paint import ref_stroke

VALUES = (0, 4, 6, 7, 255)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def labels(draw, max_side=24):
    h = draw(st.integers(6, max_side))
    w = draw(st.integers(6, max_side))
    label = np.full((h, w), draw(st.sampled_from(VALUES)), np.uint8)
    for _ in range(draw(st.integers(0, 6))):
        y0, x0 = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
        y1, x1 = draw(st.integers(y0 + 1, h)), draw(st.integers(x0 + 1, w))
        label[y0:y1, x0:x1] = draw(st.sampled_from(VALUES))
    return label


policies = st.builds(
    lambda mode, target, locked: PaintPolicy(mode, target if mode == "over_class" else None, frozenset(locked)),
    st.sampled_from(["everywhere", "everywhere", "over_class", "over_unlabelled"]),
    st.sampled_from(VALUES),
    st.sets(st.sampled_from(VALUES), max_size=2),
)
coords = st.integers(-4, 28)
points = st.lists(st.tuples(coords, coords), min_size=1, max_size=5)
radii = st.integers(0, 10).map(lambda m: m / 2)   # halves: exact ties are decided the same way everywhere
values = st.sampled_from(VALUES + (1, 9))

ops = st.one_of(
    st.builds(lambda p, r, v, pol: ("brush", lambda l: brush_stroke(l, p, r, v, pol), pol), points, radii, values, policies),
    st.builds(lambda p, r, pol: ("erase", lambda l: erase_stroke(l, p, r, policy=pol), pol), points, radii, policies),
    st.builds(lambda s, v, c, pol: ("fill", lambda l: flood_fill(l, s, v, c, pol), pol),
              st.tuples(coords, coords), values, st.sampled_from([4, 8]), policies),
    st.builds(lambda p, v, pol: ("polygon", lambda l: fill_polygon(l, p, v, pol), pol),
              st.lists(st.tuples(coords, coords), min_size=3, max_size=6), values, policies),
    st.builds(lambda n, c, k, pol: ("islands", lambda l: remove_islands(l, n, c, k, pol), pol),
              st.integers(0, 12), st.one_of(st.none(), st.sampled_from(VALUES)), st.sampled_from([4, 8]), policies),
    st.builds(lambda c, pol: ("holes", lambda l: fill_holes(l, c, pol), pol), st.sampled_from(VALUES), policies),
    st.builds(lambda c, r, pol: ("smooth", lambda l: smooth_class(l, c, r, pol), pol),
              st.sampled_from(VALUES), st.integers(1, 3), policies),
    st.builds(lambda a, b, pol: ("replace", lambda l: replace_class(l, a, b, pol), pol),
              st.sampled_from(VALUES), values, policies),
)


def check_op_result(prev: np.ndarray, label: np.ndarray, rec: UndoRecord | None, policy: PaintPolicy) -> None:
    if rec is None:
        assert np.array_equal(prev, label)
        return
    x0, y0, x1, y1 = rec.bbox
    outside = np.ones(label.shape, bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(prev[outside], label[outside]), "a pixel outside the record's box changed"
    assert np.array_equal(rec.before, prev[y0:y1, x0:x1])
    assert np.array_equal(rec.after, label[y0:y1, x0:x1])
    changed = rec.before != rec.after
    assert changed[0].any() and changed[-1].any() and changed[:, 0].any() and changed[:, -1].any(), "box not tight"
    assert policy.allowed(rec.before[changed]).all(), "the policy forbade a changed pixel"
    for c in policy.locked:
        assert np.array_equal(label[prev == c], prev[prev == c])
    back = UndoRecord.from_bytes(rec.to_bytes())
    assert back.bbox == rec.bbox and np.array_equal(back.before, rec.before) and np.array_equal(back.after, rec.after)


@SETTINGS
@given(labels(), st.lists(ops, min_size=1, max_size=8))
def test_random_op_sequences_undo_and_redo_exactly(label, op_list):
    original = label.tobytes()
    stack = UndoStack()
    for _name, op, policy in op_list:
        prev = label.copy()
        rec = op(label)
        check_op_result(prev, label, rec, policy)
        stack.push(rec)
    final = label.tobytes()
    while stack.can_undo:
        stack.undo(label)
    assert label.tobytes() == original
    while stack.can_redo:
        stack.redo(label)
    assert label.tobytes() == final


@SETTINGS
@given(labels(), points, radii, values, policies)
def test_stroke_builder_is_one_brush_stroke(label, pts, radius, value, policy):
    whole = label.copy()
    want = brush_stroke(whole, pts, radius, value, policy)
    b = StrokeBuilder(label, radius, value, policy)
    for x, y in pts:
        b.add_point(x, y)
    rec = b.finish()
    assert np.array_equal(label, whole)
    if want is None:
        assert rec is None
    else:
        assert rec.bbox == want.bbox
        assert np.array_equal(rec.before, want.before) and np.array_equal(rec.after, want.after)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 18), st.integers(-3, 14)), min_size=1, max_size=4), radii)
def test_brush_equals_exact_distance_reference(pts, radius):
    label = np.zeros((12, 16), np.uint8)
    brush_stroke(label, pts, radius, 1)
    assert np.array_equal(label == 1, ref_stroke(label.shape, pts, radius))


@SETTINGS
@given(labels(), st.lists(ops, min_size=2, max_size=4))
def test_merge_of_many_records_is_one_step(label, op_list):
    original = label.copy()
    merged = None
    for _name, op, _policy in op_list:
        rec = op(label)
        if rec is not None:
            merged = rec if merged is None else merged.merge(rec)
    final = label.copy()
    if merged is None:
        assert np.array_equal(original, final)
        return
    merged.undo(label)
    assert np.array_equal(label, original)
    merged.redo(label)
    assert np.array_equal(label, final)
