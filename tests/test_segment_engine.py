"""engine.segment with tiny random SAM, SAM 2 and SAM 3 tracker folders: masks at the frame's size, the
paint rules and undo, repair as one step, the embedding cache and its bound, the geometry of prompts."""
from __future__ import annotations

import numpy as np
import pytest

from engine.edits import PaintPolicy, UndoStack
from engine.segment import (
    EmbeddingCache, Prompt, Segmenter, class_region, commit_candidate, parse_box, parse_point, replace_region,
    segment_frame,
)
from engine.segment.prep import Prep
from engine.taxonomy import IGNORE
from tests.segment_helpers import make_tiny_folder

FAMILIES = ("sam", "sam2", "sam3_tracker")


@pytest.fixture(scope="module", params=FAMILIES)
def segmenter(request, tmp_path_factory):
    folder = make_tiny_folder(tmp_path_factory.mktemp(request.param), request.param)
    return Segmenter.open(folder, "cpu")


def _frame(h=540, w=960, seed=0):
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 40, np.uint8)
    img[100:300, 200:500] = (200, 180, 160)
    return (img + rng.integers(0, 10, img.shape, dtype=np.uint8)).astype(np.uint8)


def test_every_prompt_gives_masks_at_the_frames_size(segmenter):
    image = _frame()
    region = np.zeros((540, 960), bool)
    region[120:280, 220:480] = True
    for prompt in (Prompt(points=((300, 200, True), (700, 400, False))), Prompt(box=(200, 100, 500, 300)),
                   Prompt(region=region), Prompt(points=((300, 200, True),), region=region)):
        cands = segmenter.candidates(image, prompt, "f1")
        assert cands.masks.shape == (3, 540, 960) and cands.masks.dtype == bool
        assert list(cands.scores) == sorted(cands.scores, reverse=True)
    assert len(segmenter.cache) == 1  # one embedding for all four prompts


def test_commit_follows_the_paint_rules_and_is_one_undo_step(segmenter):
    image = _frame(54, 96)
    label = np.full((54, 96), IGNORE, np.uint8)
    label[:, :30] = 4           # painted class
    label[:, 30:40] = 7         # a locked class
    before = label.copy()
    stack = UndoStack()
    result = segment_frame(segmenter, image, label, Prompt(box=(0, 0, 96, 54)), 9,
                           PaintPolicy("over_unlabelled", locked=frozenset({7})), frame="small")
    mask = result.candidates.masks[0]
    stack.push(result.record)
    changed = label != before
    assert changed.any() or not (mask & (before == IGNORE)).any()
    assert (label[changed] == 9).all()
    assert not changed[before != IGNORE].any()   # painted and locked pixels untouched
    assert (changed == (mask & (before == IGNORE))).all()
    stack.undo(label)
    assert (label == before).all()


def test_over_one_class_and_everywhere_except_locked():
    label = np.full((20, 20), IGNORE, np.uint8)
    label[:10] = 3
    label[10:, :5] = 8
    mask = np.ones((20, 20), bool)
    rec = commit_candidate(label, mask, 5, PaintPolicy("over_class", target=3))
    assert rec is not None and (label[:10] == 5).all() and (label[10:, 5:] == IGNORE).all()
    commit_candidate(label, mask, 6, PaintPolicy(locked=frozenset({8})))
    assert (label[10:, :5] == 8).all() and (label[:10] == 6).all()


def test_repair_replaces_the_class_region_as_one_step():
    label = np.full((30, 30), IGNORE, np.uint8)
    label[5:15, 5:15] = 2      # the region being repaired
    label[20:25, 20:25] = 2    # another region of the same class, not touched
    label[5:15, 15:20] = 11    # a neighbour
    before = label.copy()
    cls, region = class_region(label, 7, 7)
    assert cls == 2 and region.sum() == 100
    new = np.zeros((30, 30), bool)
    new[8:18, 8:18] = True     # shifted down-right, also over the neighbour's column 15..17
    rec = replace_region(label, region, new, cls, PaintPolicy("over_unlabelled"))
    assert (label[8:18, 8:15] == 2).all() and (label[5:8, 5:15] == IGNORE).all()
    assert (label[5:15, 15:20] == 11).all()            # unlabelled-only: the neighbour keeps its pixels
    assert (label[20:25, 20:25] == 2).all()
    stack = UndoStack()
    stack.push(rec)
    stack.undo(label)
    assert (label == before).all()
    with pytest.raises(ValueError, match="locked"):
        replace_region(label, region, new, 2, PaintPolicy(locked=frozenset({2})))
    assert class_region(label, 0, 0) is None


def test_embedding_is_made_once_per_frame_and_the_cache_keeps_its_bound(segmenter):
    calls = []
    real = segmenter.model.embed
    segmenter.model.embed = lambda image: calls.append(1) or real(image)
    try:
        seg = Segmenter(segmenter.model, EmbeddingCache(max_items=2))
        frames = [_frame(54, 96, seed) for seed in range(4)]
        for i, f in enumerate(frames):
            seg.candidates(f, Prompt(points=((10, 10, True),)), f"f{i}")
            seg.candidates(f, Prompt(points=((20, 20, True),)), f"f{i}")
        assert len(calls) == 4 and len(seg.cache) == 2
        assert seg.cached(frames[0], "f0") is None and seg.cached(frames[3], "f3") is not None
        edited = frames[3].copy()
        edited[0, 0] = 255 - edited[0, 0]
        assert seg.cached(edited, "f3") is None     # another image under the same name is not reused
        one = seg.cached(frames[3], "f3").nbytes()
        small = Segmenter(segmenter.model, EmbeddingCache(max_items=10, max_bytes=one + 1))
        for i, f in enumerate(frames[:3]):
            small.embedding(f, f"f{i}")
        assert len(small.cache) == 1 and small.cache.nbytes() <= one + 1
    finally:
        segmenter.model.embed = real


@pytest.mark.parametrize("keep_aspect", [True, False])
def test_region_prompt_and_masks_share_the_frames_geometry(keep_aspect):
    proc = ({"size": {"longest_edge": 64}, "pad_size": {"height": 64, "width": 64}} if keep_aspect
            else {"size": {"height": 64, "width": 64}})
    prep = Prep.from_processor(proc, 64)
    region = np.zeros((54, 96), bool)
    region[10:40, 30:80] = True
    logits = prep.mask_prompt(region, 64)[0]
    back = prep.masks_to_frame(logits, 54, 96)[0] > 0
    iou = (back & region).sum() / (back | region).sum()
    assert iou > 0.9
    sx, sy = prep.scale_xy(54, 96)
    assert (sx == sy) == keep_aspect


def test_prompts_outside_the_frame_and_bad_text_are_refused():
    with pytest.raises(ValueError, match="outside"):
        Prompt(points=((100, 5, True),)).check(54, 96)
    with pytest.raises(ValueError, match="box"):
        Prompt(box=(10, 10, 5, 20)).check(54, 96)
    with pytest.raises(ValueError, match="at least one"):
        Prompt().check(54, 96)
    assert parse_point("12,34") == (12, 34, True) and parse_point("12,34,-") == (12, 34, False)
    assert parse_box("1,2,30,40") == (1, 2, 30, 40)
    for bad in ("12", "a,b", "1,2,x", "1,2,3,4,5"):
        with pytest.raises(ValueError):
            parse_point(bad)


def test_an_embedding_cancelled_while_made_is_kept(segmenter):
    from engine.jobs import JobCancelled, JobContext

    cancelled = []
    real = segmenter.model.embed
    segmenter.model.embed = lambda image: cancelled.append(True) or real(image)
    try:
        seg = Segmenter(segmenter.model, EmbeddingCache(max_items=2))
        frame = _frame(54, 96, 7)
        with pytest.raises(JobCancelled):
            seg.embedding(frame, "f7", JobContext(cancelled=lambda: bool(cancelled)))
        assert seg.cached(frame, "f7") is not None     # asked for again (the next frame), it is there
    finally:
        segmenter.model.embed = real
