"""The benchmark's simulated annotators do what bench_team says they do."""
from __future__ import annotations

import numpy as np

from benchmarks.bench_team import INSTRUMENTS, IRIS, PUPIL, jitter, leave_out, miou_vs_truth, swap


def _label():
    lab = np.full((60, 80), 6, np.uint8)
    lab[10:50, 20:60] = IRIS
    lab[20:40, 30:50] = PUPIL
    lab[28:31, 5:70] = 13  # a thin instrument
    return lab


def test_jitter_moves_boundaries_only_a_little():
    lab = _label()
    out = jitter(lab, np.random.default_rng(0), amplitude=3.0)
    changed = out != lab
    assert 0 < changed.mean() < 0.2
    assert set(np.unique(out)) <= set(np.unique(lab))


def test_swap_and_leave_out():
    lab = _label()
    swapped = swap(lab, PUPIL, IRIS)
    assert ((swapped == IRIS) == (lab == PUPIL)).all() and ((swapped == PUPIL) == (lab == IRIS)).all()
    gone = leave_out(lab, INSTRUMENTS)
    assert not np.isin(gone, INSTRUMENTS).any()
    assert (gone[lab != 13] == lab[lab != 13]).all()
    assert gone[29, 10] == 6 and gone[29, 40] == PUPIL  # filled with the class around it


def test_miou_counts_an_open_tie_as_wrong():
    truth = _label()
    assert miou_vs_truth([truth], [truth]) == 1.0
    open_tie = truth.copy()
    open_tie[truth == 13] = 255
    assert miou_vs_truth([open_tie], [truth]) < 1.0
