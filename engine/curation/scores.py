"""Scores of synthetic pairs: label consistency and the ensemble's frame uncertainty.

- Label consistency: the mIoU of a pre-segmenter's proposal for the pair's image against the pair's mask.
  A pair whose image does not show what its mask says (the synthesis ignored the mask, or the mask was
  shifted) scores low. The proposal is any callable image -> label of original CaDIS IDs (the CLI wires the
  trained pre-segmentation head; tests use the ground truth or a colour-based segmenter).
- Frame uncertainty: the ensemble's per-frame Jensen-Shannon score (`engine.preseg.frame_score`); the
  reference method drops the most uncertain generated samples (10%) -- `most_uncertain` picks them.
"""
from __future__ import annotations

import math
from typing import Callable, Hashable, Mapping

import cv2
import numpy as np

from engine.metrics.seg import confusion, iou_from_confusion
from engine.taxonomy import ClassSet, get_class_set

ProposalFn = Callable[[np.ndarray], np.ndarray]
ScoreFn = Callable[[np.ndarray, np.ndarray], dict]


def label_consistency(proposal: np.ndarray, label: np.ndarray, class_set: ClassSet | str | int = "full") -> float:
    """mIoU of `proposal` against `label` (both original CaDIS IDs), over the classes of `class_set` present
    in either; IGNORE pixels of the label are skipped. The proposal is resized (nearest) to the label's size.
    Returns nan when neither holds any class of the set."""
    cs = class_set if isinstance(class_set, ClassSet) else get_class_set(class_set)
    if proposal.shape != label.shape:
        proposal = cv2.resize(proposal.astype(np.uint8), (label.shape[1], label.shape[0]),
                              interpolation=cv2.INTER_NEAREST)
    gt = cs.remap(label.astype(np.uint8, copy=False))
    pred = cs.remap(proposal.astype(np.uint8, copy=False))
    k = cs.num_classes
    pred = np.where(pred == 255, k, pred)  # a prediction outside the class set counts as wrong, not skipped
    per_class, _ = iou_from_confusion(confusion(pred, gt, k + 1))
    per_class = per_class[:k]
    present = ~np.isnan(per_class)
    return float(per_class[present].mean()) if present.any() else float("nan")


def consistency_score(image: np.ndarray, label: np.ndarray, propose: ProposalFn,
                      class_set: ClassSet | str | int = "full") -> float:
    """Label consistency of a pair: `propose(image)` compared with `label`."""
    return label_consistency(np.asarray(propose(image)), label, class_set)


def presegmenter_scorer(presegmenter) -> ScoreFn:
    """A scorer (image, label) -> {"consistency", "uncertainty"} from an `engine.preseg.Presegmenter`:
    consistency is measured in the head's class set, uncertainty is its frame score."""
    from engine.labels import to_original_ids

    cs = presegmenter.head.class_set

    def score(image: np.ndarray, label: np.ndarray) -> dict:
        res = presegmenter.presegment(image)
        proposal = to_original_ids(res.label, cs)
        return {"consistency": label_consistency(proposal, label, cs), "uncertainty": float(res.score)}

    return score


def proposal_scorer(propose: ProposalFn, class_set: ClassSet | str | int = "full") -> ScoreFn:
    """A scorer with consistency only, from any proposal function."""

    def score(image: np.ndarray, label: np.ndarray) -> dict:
        return {"consistency": consistency_score(image, label, propose, class_set)}

    return score


def most_uncertain(uncertainty: Mapping[Hashable, float], fraction: float) -> list:
    """The keys of the `fraction` most uncertain items (rounded to the nearest whole item; ties broken by
    key order), i.e. what "drop the X% most uncertain" drops. Items without a finite score are kept."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"the fraction to drop must lie in [0, 1), got {fraction}")
    scored = [(float(v), k) for k, v in uncertainty.items() if v is not None and math.isfinite(float(v))]
    n = int(math.floor(fraction * len(scored) + 0.5))
    if n == 0:
        return []
    order = sorted(range(len(scored)), key=lambda i: (-scored[i][0], str(scored[i][1])))
    return [scored[i][1] for i in order[:n]]
