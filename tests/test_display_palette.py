"""The display palettes: the distinct one tells all 36 classes apart (the CaDIS one keeps the paper's colours)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.taxonomy import DISTINCT_PALETTE, NUM_CLASSES, PALETTE, display_colours, get_class_set


def _lab_distances(palette) -> np.ndarray:
    rgb = np.array(palette, np.float32).reshape(-1, 1, 3) / 255
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab).reshape(-1, 3)
    d = np.linalg.norm(lab[:, None] - lab[None], axis=2)
    return d + np.eye(len(palette)) * 1e9


def test_distinct_palette_separates_every_pair_better_than_cadis():
    assert len(DISTINCT_PALETTE) == NUM_CLASSES and len(set(DISTINCT_PALETTE)) == NUM_CLASSES
    distinct, cadis = _lab_distances(DISTINCT_PALETTE).min(), _lab_distances(PALETTE).min()
    assert distinct >= 25 and distinct >= 2 * cadis


def test_hand_skin_handpiece_and_knife_are_told_apart():
    ids = (2, 5, 15, 12)  # Hand, Skin, I/A Handpiece, Primary Knife: near-identical pinks in the CaDIS colours
    d = _lab_distances(DISTINCT_PALETTE)
    assert min(d[a, b] for a in ids for b in ids if a != b) >= 40


def test_display_colours_follow_class_sets():
    full = display_colours(get_class_set("full"), "distinct")
    assert [tuple(full[i]) for i in range(NUM_CLASSES)] == list(DISTINCT_PALETTE)
    assert np.array_equal(display_colours(get_class_set(1), "cadis"), get_class_set(1).palette)
    exp2 = get_class_set(2)
    colours = display_colours(exp2, "distinct")
    for new_id, group in enumerate(exp2.groups):  # a merged class takes its first member's colour
        assert tuple(colours[new_id]) == DISTINCT_PALETTE[group[0]]
    with pytest.raises(ValueError):
        display_colours(exp2, "rainbow")
