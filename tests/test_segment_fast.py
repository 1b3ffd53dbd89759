"""The prompt path's shortcuts (engine.segment.fast) give the model's own masks: the same as a plain forward of
the same weights, for clicks, boxes and mask prompts, with the first layer's projections reused only while the
image tokens are the same, and the thread count restored after a prompt."""
import numpy as np
import pytest
import torch

from engine.segment import Prompt
from engine.segment.fast import prompt_threads
from engine.segment.folder import SegmentFolder, model_class
from engine.segment.model import Embedding, SegmentModel
from tests.segment_helpers import SIZE, tiny_config

H, W = 54, 96


def _pair(family):
    config = tiny_config(family)
    torch.manual_seed(0)
    fast = model_class(family)(config).eval()
    plain = model_class(family)(config).eval()
    plain.load_state_dict(fast.state_dict())
    size = SIZE[family]
    proc = ({"size": {"longest_edge": size}, "pad_size": {"height": size, "width": size}} if family == "sam"
            else {"size": {"height": size, "width": size}})
    folder = SegmentFolder(__import__("pathlib").Path(family), family, config.to_dict(), proc)
    return SegmentModel(folder, fast, "cpu"), plain


def _plain_predict(seg, plain, emb, prompt):
    """What SegmentModel.predict computed before the shortcuts: the model's forward as transformers has it."""
    return SegmentModel(seg.folder, plain, "cpu", fast=False).predict(emb, prompt)


@pytest.mark.parametrize("family", ["sam", "sam2", "sam3_tracker"])
def test_fast_prompts_give_the_models_own_masks(family):
    seg, plain = _pair(family)
    assert len(seg.fast.memos) == 3
    image = np.random.default_rng(1).integers(0, 255, (H, W, 3), dtype=np.uint8)
    emb = seg.embed(image)
    region = np.zeros((H, W), bool)
    region[10:30, 20:60] = True
    prompts = [Prompt(points=((40, 20, True),)), Prompt(points=((40, 20, True), (70, 40, False))),
               Prompt(box=(10, 5, 60, 40)), Prompt(points=((30, 20, True),), region=region),
               Prompt(points=((50, 30, True),))]
    reused = []
    for prompt in prompts:
        a, b = seg.predict(emb, prompt), _plain_predict(seg, plain, emb, prompt)
        assert (a.masks == b.masks).all() and np.allclose(a.scores, b.scores, atol=1e-6)
        reused.append(seg.fast.reused)
    # the 2nd and 3rd clicks reuse the 3 projections; a mask prompt changes the image tokens (no reuse), and the
    # click after it is the first on the plain tokens again
    assert reused == [0, 3, 6, 6, 6]
    t = emb.tensors  # another frame's embedding: nothing reused
    other = Embedding([x + 0.5 for x in t] if isinstance(t, list) else t + 0.5, H, W)
    seg.predict(other, prompts[0])
    assert seg.fast.reused == 6


def test_prompt_threads_are_restored():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with prompt_threads("cpu", 1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("family", ["sam", "sam2", "sam3_tracker"])
def test_pause_runs_between_the_image_encoders_blocks_and_can_stop_it(family):
    from engine.segment import EmbeddingCache, Segmenter

    seg, _ = _pair(family)
    segmenter = Segmenter(seg, EmbeddingCache(max_items=2))
    image = np.random.default_rng(2).integers(0, 255, (H, W, 3), dtype=np.uint8)
    calls = []
    segmenter.embedding(image, "f1", pause=lambda: calls.append(1))
    assert len(calls) >= 2 and segmenter.cached(image, "f1") is not None

    def stop():
        raise RuntimeError("frame switched")

    with pytest.raises(RuntimeError):
        segmenter.embedding(image[::-1].copy(), "f2", pause=stop)
    assert segmenter.cached(image[::-1].copy(), "f2") is None and len(segmenter.cache) == 1
    seg.embed(image)                                # the hooks are gone afterwards
