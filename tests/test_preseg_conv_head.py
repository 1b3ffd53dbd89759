"""The convolutional head option: trains on feature maps, saves and loads, predicts with uncertainty."""
from __future__ import annotations

import pytest
import torch

from engine.preseg import ConvSettings, FrameSource, Presegmenter, PresegSettings, load_head, open_extractor, save_head, train_head
from tests.test_preseg_head import SETTINGS, make_model_dir, scene

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_conv_head_round_trip_and_learns_the_scene(tmp_path):
    model_dir = make_model_dir(tmp_path / "m")
    settings = PresegSettings(features=SETTINGS.features, head="conv",
                              conv=ConvSettings(members=2, hidden=8, steps=60, crop=32))
    ex = open_extractor(model_dir, settings.features)
    head = train_head(ex, [FrameSource(f"f{i}", lambda i=i: scene(i)) for i in range(3)], 1, settings)
    assert head.kind == "conv" and head.ensemble.num_members == 2 and head.shift is not None
    save_head(head, tmp_path / "h")
    back = load_head(tmp_path / "h")
    assert back.kind == "conv"
    image, label = scene(7)
    feats = ex.extract(image)
    p1, u1 = head.predict(feats)
    p2, u2 = back.predict(feats)
    assert torch.allclose(p1, p2) and torch.allclose(u1, u2)
    res = Presegmenter(ex, back, cache_size=0, area_gate=0).presegment(image)
    assert res.label.shape == label.shape and res.uncertainty.shape == label.shape
    from engine.taxonomy import get_class_set

    truth = get_class_set(1).remap(label)
    assert (res.label == truth).mean() > 0.5  # far better than chance over 8 classes


def test_unknown_head_kind_is_refused(tmp_path):
    ex = open_extractor(make_model_dir(tmp_path / "m"), SETTINGS.features)
    with pytest.raises(ValueError, match="unknown head kind"):
        train_head(ex, [FrameSource("f", lambda: scene(0))], 1, PresegSettings(head="forest"))
