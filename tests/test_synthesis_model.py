"""SpadeUNet2DModel: mask conditioning, cached modulation, shapes, hooks, and mask_to_segmap."""
import numpy as np
import pytest
import torch

from engine.models import SpadeUNet2DModel, mask_to_segmap
from tests.synthesis_helpers import TINY_SIZE, tiny_model, two_masks


def test_mask_changes_the_prediction():
    model = tiny_model()
    a, b = two_masks()
    x = torch.randn(1, 3, *TINY_SIZE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ea = model(x, 500, segmap=mask_to_segmap(a, "1", TINY_SIZE))
        eb = model(x, 500, segmap=mask_to_segmap(b, "1", TINY_SIZE))
        en = model(x, 500)
    assert (ea - eb).abs().max() > 1e-3
    assert (ea - en).abs().max() > 1e-3


def test_cached_modulation_equals_uncached():
    model = tiny_model()
    a, _ = two_masks()
    seg = mask_to_segmap(a, "1", TINY_SIZE)
    x = torch.randn(2, 3, *TINY_SIZE, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        mod = model.precompute_modulation(seg)
        for t in (10, 900):
            torch.testing.assert_close(model(x, t, modulation=mod), model(x, t, segmap=seg.expand(2, -1, -1, -1)),
                                       rtol=0, atol=1e-5)
        null = model.precompute_modulation(None)
        torch.testing.assert_close(model(x, 10, modulation=null), model(x, 10), rtol=0, atol=1e-5)


def test_modulation_is_computed_once_not_per_step():
    model = tiny_model()
    seg = mask_to_segmap(two_masks()[0], "1", TINY_SIZE)
    calls = []
    first = next(m for m in model.modules() if m.__class__.__name__ == "SpadeNorm")
    first.shared.register_forward_hook(lambda *a: calls.append(1))
    with torch.no_grad():
        mod = model.precompute_modulation(seg)
        n_after_precompute = len(calls)
        for t in (1, 2, 3):
            model(torch.randn(1, 3, *TINY_SIZE), t, modulation=mod)
    assert n_after_precompute == 1 and len(calls) == 1


def test_non_square_16_9_sizes_and_decoder_hooks():
    model = SpadeUNet2DModel(sample_size=(72, 128), num_classes=8, class_set="1", block_out_channels=(8, 8, 16, 16),
                             layers_per_block=1, spade_hidden=8, head_dim=8).eval()
    seen = []
    hooks = [blk.register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape[-2:]))) for blk in model.up_blocks]
    with torch.no_grad():
        out = model(torch.randn(1, 3, 72, 128), 3, segmap=torch.zeros(1, 8, 72, 128))
    for h in hooks:
        h.remove()
    assert out.shape == (1, 3, 72, 128)
    assert seen == [(18, 32), (36, 64), (72, 128), (72, 128)]  # 9x16 bottom, upsampled at the end of each level


def test_size_not_divisible_is_refused_clearly():
    with pytest.raises(ValueError, match="divide by 8"):
        SpadeUNet2DModel(sample_size=(70, 128), block_out_channels=(8, 8, 16, 16))


def test_segmap_wrong_class_count_is_refused():
    model = tiny_model("1")
    with pytest.raises(ValueError, match="one-hot"):
        model(torch.randn(1, 3, *TINY_SIZE), 1, segmap=torch.zeros(1, 36, *TINY_SIZE))


def test_mask_to_segmap_remaps_resizes_and_ignores():
    label = np.zeros((4, 8), np.uint8)
    label[:, 4:] = 20          # an instrument: class 7 "Instrument" in experiment 1
    label[0, 0] = 255          # unlabelled
    seg = mask_to_segmap(label, "1", size=(2, 4))
    assert seg.shape == (1, 8, 2, 4) and seg.dtype == torch.float32
    assert torch.all(seg[0, 7, :, 2:] == 1) and torch.all(seg[0, 0, 1, :2] == 1)
    assert seg[0, :, 0, 0].sum() == 0      # nearest pick of the ignored pixel stays all-zero
    assert torch.all(seg.sum(1)[0, 1] == 1)
    full = mask_to_segmap(label, "full")
    assert full.shape == (1, 36, 4, 8) and full[0, 20, 0, 5] == 1
    exp2 = mask_to_segmap(np.full((2, 2), 25, np.uint8), "2")  # suture needle is ignored in experiment 2
    assert exp2.sum() == 0
