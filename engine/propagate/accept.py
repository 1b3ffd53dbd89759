"""Accepting a propagated proposal: the pre-segmentation accept rules and engine call (`engine.edits.accept_proposal`).

Unlabelled pixels only unless `replace_labels`, confident pixels only (confidence >= `min_confidence`), the chosen
classes only (`classes`, None for all), locked classes never, one undo step.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from engine.edits import PaintPolicy, accept_proposal
from engine.edits.record import UndoRecord

#: "Accept confident" takes the pixels at or above this. Chosen by the labelling-effort benchmark on the tuning draw
#: (seed 31, docs/benchmarks/effort.md): every threshold above 0 cost the robot annotator more actions than
#: accepting every pixel the chain reached (at a 30-frame gap 0.01 leaves 16-20 % of the pixels out and needs 36-42
#: actions against 9-11), because doubtful pixels are mostly right and each hole left is one more correction. So by
#: default "Accept confident" takes everything; a stricter threshold is a choice in the dock.
DEFAULT_ACCEPT_CONFIDENCE = 0.0


def confident_where(proposal: np.ndarray, confidence: np.ndarray, min_confidence: float,
                    classes: Iterable[int] | None = None) -> np.ndarray:
    """HxW bool: the pixels of the proposal that may be accepted (confident, of a chosen class)."""
    where = confidence >= float(min_confidence)
    if classes is not None:
        where &= np.isin(proposal, np.fromiter(classes, dtype=np.int64))
    return where


def accept_propagated(label: np.ndarray, proposal: np.ndarray, confidence: np.ndarray,
                      min_confidence: float = DEFAULT_ACCEPT_CONFIDENCE,
                      classes: Iterable[int] | None = None, policy: PaintPolicy | None = None,
                      replace_labels: bool = False) -> UndoRecord | None:
    """Write the confident pixels of a propagated proposal into `label` in place; one UndoRecord (None if nothing)."""
    if confidence.shape != label.shape:
        raise ValueError(f"the confidence map {confidence.shape[::-1]} does not match the frame {label.shape[::-1]}")
    where = confident_where(proposal, confidence, min_confidence, classes)
    return accept_proposal(label, proposal, where, policy, "accept propagation", replace_labels)
