"""Fusing a propagated label with a pre-segmentation proposal: the more confident side wins per pixel, an
unlabelled pixel never does, and a head's probabilities and ensemble doubt become a 0..1 confidence."""
import math

import numpy as np
import pytest

from engine.propagate.fusion import fuse_with_proposal, proposal_confidence
from engine.taxonomy import IGNORE


def test_the_more_confident_side_wins_each_pixel():
    prop = np.array([[4, 4, 0, IGNORE]], np.uint8)
    prop_conf = np.array([[0.9, 0.1, 0.5, 0.0]], np.float32)
    pre = np.array([[6, 6, 13, 5]], np.uint8)
    pre_conf = np.array([[0.6, 0.6, 0.5, 0.2]], np.float32)
    label, conf = fuse_with_proposal(prop, prop_conf, pre, pre_conf)
    assert label.tolist() == [[4, 6, 0, 5]]          # tie -> propagation; unlabelled -> the head
    np.testing.assert_allclose(conf, [[0.9, 0.6, 0.5, 0.2]])


def test_an_unlabelled_proposal_pixel_never_wins_and_sizes_must_match():
    prop = np.array([[3]], np.uint8)
    label, _ = fuse_with_proposal(prop, np.zeros((1, 1), np.float32), np.full((1, 1), IGNORE, np.uint8),
                                  np.ones((1, 1), np.float32))
    assert label[0, 0] == 3
    with pytest.raises(ValueError, match="same size"):
        fuse_with_proposal(prop, np.zeros((1, 1), np.float32), np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.float32))


def test_proposal_confidence_is_the_winning_probability_less_the_doubt():
    probs = np.array([[[0.8, 0.5]], [[0.2, 0.5]]], np.float32)
    unc = np.array([[0.0, math.log(2.0)]], np.float32)
    np.testing.assert_allclose(proposal_confidence(probs, unc), [[0.8, 0.0]], atol=1e-6)
