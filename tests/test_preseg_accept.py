"""Accepting a proposal writes into unlabelled pixels only, unless the annotator asks to replace labels."""
from __future__ import annotations

import numpy as np
import pytest

from engine.preseg import accept_into, accept_region


def _frame():
    label = np.full((20, 30), 255, np.uint8)
    label[:, :10] = 5          # painted skin
    label[5:8, 12:15] = 7      # a painted instrument stroke
    proposal = np.full((20, 30), 4, np.uint8)  # the proposal says iris everywhere
    return label, proposal


def test_default_accept_keeps_every_painted_pixel():
    label, proposal = _frame()
    out = accept_into(label, proposal, np.ones(label.shape, bool))
    painted = label != 255
    np.testing.assert_array_equal(out[painted], label[painted])   # 5,774 painted pixels stay painted
    assert (out[~painted] == 4).all()                              # the holes are filled
    assert (label[~painted] == 255).all()                          # the input is not modified


def test_replace_labels_overwrites_but_only_where_chosen():
    label, proposal = _frame()
    where = np.zeros(label.shape, bool)
    where[:, :20] = True
    out = accept_into(label, proposal, where, replace_labels=True)
    assert (out[:, :20] == 4).all()
    np.testing.assert_array_equal(out[:, 20:], label[:, 20:])
    region = accept_region(label, proposal, where, replace_labels=True)
    assert region.sum() == (where & (proposal != label)).sum()


def test_mismatched_sizes_are_refused():
    label, proposal = _frame()
    with pytest.raises(ValueError, match="pre-segment this frame again"):
        accept_region(label, proposal[:10], np.ones(label.shape, bool))
