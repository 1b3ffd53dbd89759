"""Accepting a propagated proposal: the pre-segmentation accept rules and engine call (`engine.edits.accept_proposal`).

Unlabelled pixels only unless `replace_labels`, confident pixels only (confidence >= `min_confidence`), the chosen
classes only (`classes`, None for all), locked classes never, one undo step.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from engine.edits import PaintPolicy, accept_proposal
from engine.edits.record import UndoRecord


def confident_where(proposal: np.ndarray, confidence: np.ndarray, min_confidence: float,
                    classes: Iterable[int] | None = None) -> np.ndarray:
    """HxW bool: the pixels of the proposal that may be accepted (confident, of a chosen class)."""
    where = confidence >= float(min_confidence)
    if classes is not None:
        where &= np.isin(proposal, np.fromiter(classes, dtype=np.int64))
    return where


def accept_propagated(label: np.ndarray, proposal: np.ndarray, confidence: np.ndarray, min_confidence: float = 0.5,
                      classes: Iterable[int] | None = None, policy: PaintPolicy | None = None,
                      replace_labels: bool = False) -> UndoRecord | None:
    """Write the confident pixels of a propagated proposal into `label` in place; one UndoRecord (None if nothing)."""
    if confidence.shape != label.shape:
        raise ValueError(f"the confidence map {confidence.shape[::-1]} does not match the frame {label.shape[::-1]}")
    where = confident_where(proposal, confidence, min_confidence, classes)
    return accept_proposal(label, proposal, where, policy, "accept propagation", replace_labels)
