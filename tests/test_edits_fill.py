"""Flood fill: connectivity, policy, locked classes, undo record box."""
from __future__ import annotations

import numpy as np
import pytest

from engine.edits import PaintPolicy, flood_fill


def diagonal_blocks():
    """Two 4x4 blocks of class 4 touching only at a corner, on class 0."""
    label = np.zeros((12, 12), np.uint8)
    label[2:6, 2:6] = 4
    label[6:10, 6:10] = 4
    return label


def test_four_connected_stops_at_corner():
    label = diagonal_blocks()
    rec = flood_fill(label, (3, 3), 7, connectivity=4)
    assert (label[2:6, 2:6] == 7).all()
    assert (label[6:10, 6:10] == 4).all()
    assert rec.bbox == (2, 2, 6, 6)
    assert (rec.before == 4).all() and (rec.after == 7).all()


def test_eight_connected_crosses_corner():
    label = diagonal_blocks()
    rec = flood_fill(label, (3, 3), 7, connectivity=8)
    assert (label[2:6, 2:6] == 7).all() and (label[6:10, 6:10] == 7).all()
    assert rec.bbox == (2, 2, 10, 10)
    assert (label == 0).sum() == 144 - 32


def test_fill_matches_reference_component():
    rng = np.random.default_rng(3)
    label = (rng.random((40, 50)) < 0.45).astype(np.uint8) * 6
    before = label.copy()
    seed = tuple(int(v) for v in np.argwhere(label == 6)[0][::-1])
    flood_fill(label, seed, 2, connectivity=4)
    # reference: breadth-first search in plain Python
    want = np.zeros(label.shape, bool)
    todo = [seed[::-1]]
    while todo:
        y, x = todo.pop()
        if 0 <= y < 40 and 0 <= x < 50 and not want[y, x] and before[y, x] == 6:
            want[y, x] = True
            todo += [(y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)]
    assert np.array_equal(label == 2, want)
    assert np.array_equal(label[~want], before[~want])


def test_locked_or_forbidden_seed_class_changes_nothing():
    label = diagonal_blocks()
    before = label.copy()
    assert flood_fill(label, (3, 3), 7, policy=PaintPolicy(locked={4})) is None
    assert flood_fill(label, (3, 3), 7, policy=PaintPolicy("over_class", target=0)) is None
    assert flood_fill(label, (3, 3), 7, policy=PaintPolicy("over_unlabelled")) is None
    assert np.array_equal(label, before)
    rec = flood_fill(label, (0, 0), 7, policy=PaintPolicy("over_class", target=0))
    assert rec is not None and (label[before == 0] == 7).all() and (label[before == 4] == 4).all()


def test_seed_outside_or_same_value():
    label = diagonal_blocks()
    before = label.copy()
    assert flood_fill(label, (-1, 3), 7) is None
    assert flood_fill(label, (3, 12), 7) is None
    assert flood_fill(label, (3, 3), 4) is None
    assert np.array_equal(label, before)
    with pytest.raises(ValueError, match="connectivity"):
        flood_fill(label, (3, 3), 1, connectivity=6)


def test_fill_with_unlabelled_value():
    label = diagonal_blocks()
    flood_fill(label, (7, 7), 255)
    assert (label[6:10, 6:10] == 255).all() and (label[2:6, 2:6] == 4).all()
