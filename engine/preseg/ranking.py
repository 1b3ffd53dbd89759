"""Annotator aids: which frame to label next, and which existing labels look wrong.

- "label next": unlabelled frames ranked by the head's per-frame uncertainty (highest first): labelling
  the frames the model is least sure of teaches it the most.
- "suspicious labels": labelled frames ranked by how much their label disagrees with a proposal from a
  head that never saw them (k-fold: each fold's frames are predicted by a head trained on the others).
  Disagreement is the share of labelled pixels where the proposal differs, weighted by the proposal's
  confidence, so a confident contradiction counts more than an unsure one. Each fold's head is ONE member
  (`FOLD_MEMBERS`), not the whole ensemble: the ranking needs the held-out proposal, not the members'
  uncertainty, and training the folds was nearly all of the time (measured on the phantom at 2, 6 and 20
  frames: the same frames ranked first, about 4x less CPU; docs/benchmarks/preseg_speed.md).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterable, Sequence

import numpy as np

from engine.jobs import JobContext
from engine.labels import resize_label
from engine.taxonomy import IGNORE, ClassSet, get_class_set

from .features import FeatureExtractor
from .predict import Presegmenter
from .sampling import FrameSource
from .train import PresegSettings, train_head
from .uncertainty import frame_score

#: ensemble members of each fold's head in `rank_suspicious`
FOLD_MEMBERS = 1
#: frames with labels a person made that a fold's head needs
MIN_FOLD_FRAMES = 1


class CannotRankError(ValueError):
    """No fold head could be trained, so no label was checked (a ranking would be all zeros)."""


@dataclass(frozen=True)
class RankedFrame:
    """A frame key and its score (higher = look at it sooner)."""

    key: str
    score: float


def rank_label_next(presegmenter: Presegmenter, frames: Iterable[tuple[str, Callable[[], np.ndarray]]],
                    ctx: JobContext | None = None, total: int | None = None) -> list[RankedFrame]:
    """Rank unlabelled frames `(key, load_image)` by per-frame uncertainty, most uncertain first."""
    ctx = ctx or JobContext()
    out = []
    for i, (key, load) in enumerate(frames):
        ctx.check()
        feats = presegmenter.extractor.extract(load())
        _, unc = presegmenter.head.predict(feats)
        out.append(RankedFrame(key, frame_score(unc)))
        if total:
            ctx.report((i + 1) / total, key)
    return sorted(out, key=lambda r: (-r.score, r.key))


def label_disagreement(label: np.ndarray, proposal: np.ndarray, confidence: np.ndarray | None = None,
                       ignore: int = IGNORE) -> float:
    """Share of non-ignored pixels where `proposal` differs from `label` (confidence-weighted if given)."""
    keep = label != ignore
    if not keep.any():
        return 0.0
    wrong = (proposal != label) & keep
    if confidence is None:
        return float(wrong.sum() / keep.sum())
    return float((confidence * wrong).sum() / keep.sum())


def rank_suspicious(extractor: FeatureExtractor, frames: Sequence[FrameSource], class_set: ClassSet | str | int,
                    settings: PresegSettings | None = None, folds: int = 5,
                    ctx: JobContext | None = None, model_made: dict[str, float] | None = None,
                    members: int = FOLD_MEMBERS) -> list[RankedFrame]:
    """Rank labelled frames by disagreement with a head trained without them (k-fold), highest first.

    `settings` shape each fold's head, except that it has `members` ensemble members.
    `model_made[key]`: the share m of a frame's labelled pixels a model made and nobody reviewed; the
    frames' labels must already leave those pixels out (`engine.preseg.data.project_frames`). Nobody
    vouched for them, so they count as fully suspicious: score = (1 - m) x disagreement + m. A frame
    filled by the model is never ranked low because the model agrees with itself."""
    model_made = model_made or {}
    cs = class_set if isinstance(class_set, ClassSet) else get_class_set(class_set)
    ctx = ctx or JobContext()
    settings = settings or PresegSettings()
    settings = replace(settings, ensemble=replace(settings.ensemble, members=members),
                       conv=replace(settings.conv, members=members))
    n = len(frames)
    if n < 2:
        raise CannotRankError("finding suspicious labels needs at least two labelled frames")
    folds = max(2, min(folds, n))
    fold_of = np.arange(n) % folds
    out, judged = [], 0
    for f in range(folds):
        sub = ctx.sub(f / folds, (f + 1) / folds)
        # a frame the model filled entirely has nothing a person made to learn from
        train = [fr for i, fr in enumerate(frames) if fold_of[i] != f and model_made.get(fr.key, 0.0) < 1.0]
        held = [fr for i, fr in enumerate(frames) if fold_of[i] == f]
        head = None
        if len(train) >= MIN_FOLD_FRAMES:
            try:
                head = train_head(extractor, train, cs, settings, sub.sub(0.0, 0.8))
            except ValueError:  # the fold's frames hold no labelled pixels a person made
                head = None
        if head is None:  # nothing to judge them with: only what is known, their model-made share (a frame
            # with none is left out rather than listed with a score of 0 that nothing measured)
            out += [RankedFrame(fr.key, float(model_made[fr.key])) for fr in held if model_made.get(fr.key, 0.0) > 0]
            continue
        judged += len(held)
        for fr in held:
            sub.check()
            image, label = fr.load()
            probs, _ = head.predict(extractor.extract(image))
            target = resize_label(cs.remap(label), extractor.work_size)
            conf, pred = probs.max(dim=0)
            score = label_disagreement(target, pred.numpy().astype(np.uint8), conf.numpy())
            m = float(model_made.get(fr.key, 0.0))
            out.append(RankedFrame(fr.key, (1 - m) * score + m))
        sub.report(1.0, f"fold {f + 1}/{folds}")
    if not judged:
        made = sum(model_made.get(fr.key, 0.0) >= 1.0 for fr in frames)
        raise CannotRankError(
            f"no label could be checked: each frame is judged by a head trained on other frames with labels a person "
            f"made, and none could be trained from these {n} done frames"
            + (f" ({made} filled by the model and not yet reviewed)" if made else "")
            + "; mark more frames you labelled by hand done, then check again")
    return sorted(out, key=lambda r: (-r.score, r.key))
