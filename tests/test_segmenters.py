"""The benchmark segmenters: small UNet and small SegFormer on native-scale crops, class-weighted loss."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.baselines.segmenters import (
    Recipe, Segmenter, SegformerNet, build_net, class_weights, predict_segmenter, train_segmenter,
)
from engine.jobs import JobCancelled, JobContext
from engine.taxonomy import get_class_set
from tests.test_preseg_baseline import blobs as frame  # skin, iris, pupil and a thin phaco handpiece bar (13)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("arch", ["unet", "segformer"])
def test_both_architectures_take_any_size_and_return_logits_at_it(arch):
    net = build_net(arch, 5, 8)
    assert net(torch.zeros(1, 3, 37, 70)).shape == (1, 5, 37, 70)


def test_segformer_is_transformers_segformer_from_a_config():
    from transformers import SegformerForSemanticSegmentation

    net = SegformerNet(17, 8)
    assert isinstance(net.model, SegformerForSemanticSegmentation)
    assert net.model.config.num_labels == 17


def test_unet_learns_the_thin_instrument_in_experiment_2():
    pairs = [frame(s) for s in range(6)]
    model = train_segmenter(pairs, Recipe(arch="unet", class_set="2", steps=250, crop=(32, 32), width=8, lr=5e-3))
    assert isinstance(model, Segmenter)
    image, label = frame(50)
    pred = predict_segmenter(model, image)
    assert pred.shape == label.shape and pred.dtype == np.uint8
    want = get_class_set("2").remap(label)
    inst = want == 11                                     # Ph. Handpiece in experiment 2
    assert (pred[inst] == 11).mean() > 0.5
    assert (pred == want).mean() > 0.8


def test_training_is_seeded_and_cancellable():
    pairs = [frame(s) for s in range(3)]
    r = Recipe(arch="segformer", steps=3, crop=(32, 32), width=8)
    a, b = train_segmenter(pairs, r, seed=2), train_segmenter(pairs, r, seed=2)
    for pa, pb in zip(a.net.parameters(), b.net.parameters()):
        assert torch.equal(pa, pb)
    with pytest.raises(JobCancelled):
        train_segmenter(pairs, r, ctx=JobContext(cancelled=lambda: True))
    with pytest.raises(ValueError):
        train_segmenter([], r)
    with pytest.raises(ValueError, match="unknown segmenter"):
        train_segmenter(pairs, Recipe(arch="resnet"))


def test_class_weights_favour_rare_classes_and_skip_unseen_ones():
    y = np.zeros((10, 10), np.uint8)
    y[0, :2] = 2
    y[1, :] = 255
    w = class_weights([y], 4, 0.5)
    assert w[2] > w[0] > 0 and w[1] == 0 and w[3] == 0
    assert np.isclose(w[[0, 2]].mean(), 1.0)
    assert np.allclose(class_weights([y], 4, 0.0)[[0, 2]], 1.0)
