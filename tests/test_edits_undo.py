"""UndoRecord, UndoStack and StrokeBuilder: exact restore, merging, serialisation, limits."""
from __future__ import annotations

import numpy as np
import pytest

from engine.edits import (PaintPolicy, StrokeBuilder, UndoRecord, UndoStack, brush_stroke,
                          flood_fill)


def scene(h=60, w=80, seed=0):
    rng = np.random.default_rng(seed)
    label = np.zeros((h, w), np.uint8)
    for _ in range(12):
        y, x = rng.integers(0, h - 5), rng.integers(0, w - 5)
        label[y:y + rng.integers(3, 25), x:x + rng.integers(3, 25)] = rng.choice([0, 4, 6, 7, 255])
    return label


def test_undo_restores_exact_bytes_and_redo_the_after_state():
    label = scene()
    original = label.tobytes()
    rec = brush_stroke(label, [(5, 5), (70, 50)], 4, 9)
    painted = label.tobytes()
    assert painted != original
    rec.undo(label)
    assert label.tobytes() == original
    rec.redo(label)
    assert label.tobytes() == painted


def test_record_geometry_and_fit_check():
    rec = UndoRecord(3, 5, np.zeros((4, 6), np.uint8), np.ones((4, 6), np.uint8), "x")
    assert rec.bbox == (5, 3, 11, 7) and rec.nbytes == 48
    with pytest.raises(ValueError, match="does not fit"):
        rec.undo(np.zeros((5, 20), np.uint8))
    with pytest.raises(ValueError, match="same shape"):
        UndoRecord(0, 0, np.zeros((2, 2), np.uint8), np.zeros((2, 3), np.uint8))


def test_to_bytes_round_trip_and_compactness():
    label = np.zeros((500, 500), np.uint8)
    rec = brush_stroke(label, [(0, 0), (499, 499)], 2, 4, PaintPolicy())
    rec.description = "Brush: Iris ✓"
    blob = rec.to_bytes()
    back = UndoRecord.from_bytes(blob)
    assert (back.y0, back.x0, back.description) == (rec.y0, rec.x0, rec.description)
    assert np.array_equal(back.before, rec.before) and np.array_equal(back.after, rec.after)
    assert back.mask is None
    assert len(blob) < rec.nbytes / 50   # a thin diagonal stroke in a big box compresses to almost nothing
    with pytest.raises(ValueError, match="not a CaDIS Studio undo record"):
        UndoRecord.from_bytes(b"garbage")
    with pytest.raises(ValueError, match="corrupt"):
        UndoRecord.from_bytes(blob[:-5])


def test_merge_equals_applying_both():
    base = scene()
    label = base.copy()
    a = brush_stroke(label, [(10, 10), (30, 12)], 3, 4)
    b = flood_fill(label, (60, 50), 7)
    final = label.copy()
    assert a is not None and b is not None
    for merged in (a.merge(b), a.merge(b, label=label)):
        work = final.copy()
        merged.undo(work)
        assert np.array_equal(work, base)
        merged.redo(work)
        assert np.array_equal(work, final)
    assert a.merge(b, label=label).mask is None
    # round trip keeps the mask of a gap-carrying merge
    m = a.merge(b)
    back = UndoRecord.from_bytes(m.to_bytes())
    assert (m.mask is None) == (back.mask is None)
    if m.mask is not None:
        assert np.array_equal(back.mask, m.mask)


def test_merge_of_overlapping_records():
    label = np.zeros((20, 20), np.uint8)
    a = brush_stroke(label, [(5, 5)], 3, 1)
    b = brush_stroke(label, [(7, 7)], 3, 2)
    final = label.copy()
    m = a.merge(b)
    m.undo(label)
    assert (label == 0).all()
    m.redo(label)
    assert np.array_equal(label, final)


def test_stroke_builder_equals_one_brush_stroke():
    base = scene(seed=4)
    pts = [(3, 4), (15, 20), (16, 21), (40, 22), (78, 58), (60, 10), (60, 10), (-5, 30)]
    policy = PaintPolicy(locked=frozenset({6}))
    whole = base.copy()
    want = brush_stroke(whole, pts, 3.5, 9, policy)
    live = base.copy()
    b = StrokeBuilder(live, 3.5, 9, policy)
    for x, y in pts:
        rect = b.add_point(x, y)
        if rect is not None:
            x0, y0, x1, y1 = rect
            # the dirty rect contains every pixel this segment changed
            assert 0 <= x0 < x1 <= 80 and 0 <= y0 < y1 <= 60
    rec = b.finish()
    assert np.array_equal(live, whole)
    assert (rec.y0, rec.x0) == (want.y0, want.x0)
    assert np.array_equal(rec.before, want.before) and np.array_equal(rec.after, want.after)
    rec.undo(live)
    assert np.array_equal(live, base)
    with pytest.raises(RuntimeError, match="finished"):
        b.add_point(1, 1)


def test_stroke_builder_dirty_rects_cover_changes():
    label = scene(seed=2)
    b = StrokeBuilder(label, 2.5, 255, erase=True)
    prev = label.copy()
    for p in [(10, 10), (20, 15), (35, 15), (50, 40)]:
        rect = b.add_point(*p)
        diff = np.argwhere(label != prev)
        if rect is None:
            assert diff.size == 0
        else:
            x0, y0, x1, y1 = rect
            assert diff[:, 0].min() >= y0 and diff[:, 0].max() < y1
            assert diff[:, 1].min() >= x0 and diff[:, 1].max() < x1
        prev = label.copy()
    rec = b.finish()
    assert rec.description == "Eraser"
    assert b.finish() is None


def test_stack_250_steps_undo_all_then_redo_all():
    label = scene(seed=7)
    original = label.copy()
    stack = UndoStack()
    rng = np.random.default_rng(1)
    for i in range(250):
        x, y = rng.integers(0, 80), rng.integers(0, 60)
        stack.push(brush_stroke(label, [(x, y), (x + 3, y + 2)], 1.5, int(i % 30)))
    final = label.copy()
    steps = len(stack)
    assert steps >= 200
    while stack.can_undo:
        assert stack.undo(label) is not None
    assert np.array_equal(label, original) and stack.redo_len == steps
    while stack.can_redo:
        stack.redo(label)
    assert np.array_equal(label, final)
    with pytest.raises(ValueError, match="another frame"):
        stack.undo(np.zeros((1, 1), np.uint8))
    assert len(stack) == steps   # a failed undo loses nothing
    stack.undo(label)
    assert stack.can_redo


def test_push_clears_redo_and_none_is_ignored():
    label = np.zeros((20, 20), np.uint8)
    stack = UndoStack()
    stack.push(brush_stroke(label, [(5, 5)], 2, 1))
    stack.push(brush_stroke(label, [(15, 15)], 2, 2))
    stack.undo(label)
    assert stack.can_redo and stack.redo_description == "Brush: Hand"
    stack.push(None)
    assert stack.can_redo
    stack.push(brush_stroke(label, [(10, 10)], 1, 3))
    assert not stack.can_redo and len(stack) == 2
    stack.clear()
    assert not stack.can_undo and stack.nbytes == 0 and stack.undo(label) is None and stack.redo(label) is None


def test_stack_memory_follows_change_not_frame():
    big = np.zeros((4096, 4096), np.uint8)
    stack = UndoStack()
    stack.push(brush_stroke(big, [(2000, 2000)], 5, 4))
    assert stack.nbytes < 400                         # one dab: a 11x11 box, twice
    rec = brush_stroke(big, [(0, 0), (4095, 4095)], 1, 6)
    assert rec.nbytes > 30 * 2**20                    # its box is the whole frame...
    stack.push(rec)
    assert stack.nbytes < rec.nbytes / 100            # ...but the stack keeps it compressed
    stack.undo(big)
    assert (big == 6).sum() == 0 and (big == 4).sum() == 81
    stack.redo(big)
    assert (big == 6).sum() > 4096


def test_stack_limits_drop_oldest_steps():
    label = np.zeros((50, 50), np.uint8)
    stack = UndoStack(max_steps=3)
    recs = [brush_stroke(label, [(5 * i + 3, 25)], 1, i + 1) for i in range(6)]
    for r in recs:
        stack.push(r)
    assert len(stack) == 3
    for _ in range(3):
        stack.undo(label)
    assert not stack.can_undo
    assert sorted(set(np.unique(label)) - {0}) == [1, 2, 3]   # the three oldest could no longer be undone

    label = np.zeros((50, 50), np.uint8)
    stack = UndoStack(max_bytes=200)
    for i in range(20):
        stack.push(brush_stroke(label, [(4 * (i % 10) + 3, 10 + 20 * (i // 10))], 1, 1))  # 3x3 box: 18 bytes
    assert stack.nbytes <= 200 and len(stack) == 200 // 18
    stack = UndoStack(max_bytes=10)
    stack.push(brush_stroke(label, [(25, 40)], 3, 2))
    assert len(stack) == 1   # the newest step is always kept


def test_stroke_builder_skips_a_bad_point_and_goes_on():
    label = np.zeros((20, 40), np.uint8)
    b = StrokeBuilder(label, 1.5, 3)
    b.add_point(2, 10)
    with pytest.raises(ValueError, match="finite"):
        b.add_point(float("inf"), 10)
    b.add_point(30, 10)   # joins to the last good point
    rec = b.finish()
    assert (label[10, 2:31] == 3).all() and rec.bbox == (1, 9, 32, 12)
