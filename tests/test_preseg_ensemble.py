"""Soft voting, Jensen-Shannon uncertainty and frame scores on hand-made probabilities; the ensemble."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.preseg import EnsembleSettings, PixelEnsemble, frame_score, jensen_shannon, soft_vote, train_ensemble
from engine.preseg.uncertainty import entropy, uncertainty_to_grey

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_soft_vote_is_mean_of_members():
    probs = torch.tensor([[[0.9, 0.1], [0.2, 0.8]],
                          [[0.5, 0.5], [0.4, 0.6]]])  # (M=2, N=2, K=2)
    assert torch.allclose(soft_vote(probs), torch.tensor([[0.7, 0.3], [0.3, 0.7]]))


def test_soft_vote_differs_from_majority_vote():
    # two members lean weakly to class 0, one is sure of class 1: majority says 0, soft voting says 1
    probs = torch.tensor([[[0.55, 0.45]], [[0.55, 0.45]], [[0.0, 1.0]]])
    assert int(soft_vote(probs).argmax(-1)) == 1


def test_jsd_zero_when_members_agree():
    p = torch.tensor([[0.2, 0.3, 0.5]]).expand(4, 1, 3)
    assert float(jensen_shannon(p)) == pytest.approx(0.0, abs=1e-6)


def test_jsd_of_two_opposite_certain_members_is_ln2():
    p = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])
    assert float(jensen_shannon(p)) == pytest.approx(math.log(2), rel=1e-5)


def test_jsd_hand_computed():
    p = torch.tensor([[[0.5, 0.5]], [[1.0, 0.0]]])
    # mean (0.75, 0.25): H = -(.75 ln .75 + .25 ln .25); member entropies ln2 and 0
    h_mean = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert float(jensen_shannon(p)) == pytest.approx(h_mean - math.log(2) / 2, rel=1e-5)
    assert float(entropy(torch.tensor([0.5, 0.5]))) == pytest.approx(math.log(2))


def test_frame_score_is_mean_of_top_tenth():
    u = np.zeros(100, np.float32)
    u[:10] = np.arange(1, 11)  # top 10% = 1..10
    u[10:20] = 0.5
    assert frame_score(u) == pytest.approx(5.5)
    assert frame_score(np.array([3.0, 1.0])) == pytest.approx(3.0)  # at least one pixel
    assert frame_score(u, top_fraction=0.2) == pytest.approx((55 + 5) / 20)


def test_uncertainty_to_grey_scale():
    g = uncertainty_to_grey(np.array([[0.0, math.log(2), 10.0]]), members=2, classes=8)
    assert g.dtype == np.uint8 and g.tolist() == [[0, 255, 255]]


def test_pixel_mlp_layout_matches_reference():
    ens = PixelEnsemble(12, 4, members=3, hidden=(256, 128))
    kinds = [type(m).__name__ for m in ens.members[0]]
    assert kinds == ["Linear", "ReLU", "BatchNorm1d", "Linear", "ReLU", "BatchNorm1d", "Linear"]
    assert ens.num_members == 3
    assert PixelEnsemble(12, 4).num_members == 10


def test_ensemble_learns_separable_pixels_and_members_differ():
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(3, 16, generator=g) * 3
    y = torch.randint(0, 3, (900,), generator=g)
    x = (centers[y] + torch.randn(900, 16, generator=g)).half()
    ens, hist = train_ensemble(x, y, 3, EnsembleSettings(members=3, hidden=(32, 16), batch_size=64, max_epochs=15))
    probs, unc = ens.predict(x)
    acc = float((probs.argmax(1) == y).float().mean())
    assert acc > 0.95
    assert probs.shape == (900, 3) and unc.shape == (900,)
    assert torch.allclose(probs.sum(1), torch.ones(900), atol=1e-5)
    w0, w1 = ens.members[0][0].weight, ens.members[1][0].weight
    assert not torch.equal(w0, w1)
    assert all(1 <= h["epochs"] <= 15 for h in hist)


def test_early_stopping_stops_on_noise():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(400, 8, generator=g)
    y = torch.randint(0, 2, (400,), generator=g)  # labels unrelated to features: val loss cannot improve long
    _, hist = train_ensemble(x, y, 2, EnsembleSettings(members=1, hidden=(64, 64), batch_size=32,
                                                        max_epochs=200, patience=2, lr=1e-2))
    assert hist[0]["epochs"] < 200


def test_train_ensemble_refuses_bad_labels():
    with pytest.raises(ValueError, match="class IDs"):
        train_ensemble(torch.zeros(10, 3), torch.full((10,), 5), 3, EnsembleSettings(members=1))
