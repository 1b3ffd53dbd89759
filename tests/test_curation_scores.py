"""Label consistency, the uncertainty filter and near-duplicate detection."""
import math

import numpy as np
import pytest

from engine.curation import (
    consistency_score, dhash, find_near_duplicates, hamming, is_near_duplicate, label_consistency, most_uncertain,
    proposal_scorer, thumb_distance,
)
from engine.phantom import VideoRenderer, render_frame
from engine.taxonomy import PALETTE


def colour_segmenter(image: np.ndarray) -> np.ndarray:
    """A simple proposal for colour previews: nearest palette colour per pixel (exact on colorised labels)."""
    pal = np.array(PALETTE, np.int32)
    d = ((image.astype(np.int32)[:, :, None, :] - pal[None, None]) ** 2).sum(-1)
    return d.argmin(-1).astype(np.uint8)


@pytest.fixture(scope="module")
def frame():
    return render_frame(2, 160, 90)


def test_consistency_of_a_shifted_mask_is_lower_than_of_the_correct_one(frame):
    image, label = frame
    truth = lambda _img: label  # noqa: E731  the ground truth as the proposal
    good = consistency_score(image, label, truth)
    shifted = np.roll(label, (6, 9), axis=(0, 1))
    bad = consistency_score(image, shifted, truth)
    assert good == pytest.approx(1.0)
    assert bad < good - 0.1


def test_consistency_with_a_colour_segmenter_on_rendered_previews(frame):
    from engine.taxonomy import colorize

    _image, label = frame
    preview = colorize(label)
    score = proposal_scorer(colour_segmenter)
    assert score(preview, label)["consistency"] == pytest.approx(1.0)
    worse = score(preview, np.roll(label, 5, axis=1))["consistency"]
    assert worse < 0.9


def test_consistency_handles_class_sets_sizes_and_ignore(frame):
    _image, label = frame
    small = label[::2, ::2]
    # a proposal at another size is resized to the label
    assert label_consistency(small, label) > 0.8
    # in experiment 1 all instruments merge: swapping instrument classes costs nothing there
    swapped = np.where(label >= 7, 7, label).astype(np.uint8)
    assert label_consistency(swapped, label, 1) == pytest.approx(1.0)
    assert label_consistency(swapped, label, "full") < 1.0
    # ignored ground truth pixels are skipped; empty labels give nan
    assert label_consistency(np.zeros_like(label), np.full_like(label, 255)) != label_consistency(label, label)
    assert math.isnan(label_consistency(np.zeros_like(label), np.full_like(label, 255)))


def test_most_uncertain_drops_the_top_fraction():
    scores = {f"p{i}": float(i) for i in range(20)}
    assert set(most_uncertain(scores, 0.1)) == {"p19", "p18"}
    assert most_uncertain(scores, 0.0) == []
    assert most_uncertain({"a": 1.0, "b": float("nan"), "c": 0.5}, 0.5) == ["a"]  # nan is never dropped
    with pytest.raises(ValueError):
        most_uncertain(scores, 1.0)


def test_near_duplicates_are_flagged():
    r = VideoRenderer(0, 1, 160, 90)
    a = r.render(0)[0]
    b = r.render(8)[0]
    rng = np.random.default_rng(0)
    copy = np.clip(a + rng.normal(0, 6, a.shape), 0, 255).astype(np.uint8)
    other = VideoRenderer(0, 2, 160, 90).render(0)[0]
    assert thumb_distance(a, copy) < 0.05 < thumb_distance(a, other)
    assert hamming(dhash(a), dhash(copy)) <= 4 < hamming(dhash(a), dhash(other))
    rep = find_near_duplicates({"a": a, "b": b, "copy": copy, "other": other})
    assert rep.flagged == ["copy"]
    assert rep.pairs[0][:2] == ("copy", "a")
    # against references: an item too close to its own source frame
    rep = find_near_duplicates({"s1": copy, "s2": other}, references={"src": a}, source_of={"s1": "src", "s2": "src"})
    assert rep.flags == {"s1": True, "s2": False}
    assert is_near_duplicate(copy, [other, a])[0] and not is_near_duplicate(other, [a])[0]
    assert is_near_duplicate(a, []) == (False, float("inf"))


def test_presegmenter_scorer_uses_the_heads_class_set(frame):
    from types import SimpleNamespace

    from engine.curation import presegmenter_scorer
    from engine.taxonomy import get_class_set

    image, label = frame
    cs = get_class_set(1)
    proposal = cs.remap(label)  # the head answers in experiment-1 IDs (7 = Instrument)
    fake = SimpleNamespace(head=SimpleNamespace(class_set=cs),
                           presegment=lambda img: SimpleNamespace(label=proposal, score=0.25))
    scores = presegmenter_scorer(fake)(image, label)
    assert scores == {"consistency": pytest.approx(1.0), "uncertainty": 0.25}
    shifted = presegmenter_scorer(fake)(image, np.roll(label, 7, axis=1))
    assert shifted["consistency"] < 0.9
