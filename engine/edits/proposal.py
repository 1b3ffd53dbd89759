"""Accepting (part of) a pre-segmentation proposal into a label, as one undoable edit op.

Accepting never overwrites what the annotator painted unless they ask for it: by default only pixels
that are still unlabelled (255) take the proposal; with `replace_labels` every chosen pixel does. The
chosen pixels are the caller's `where` (all, confident, ticked classes); pixels where the proposal
equals the label are left out, since writing them changes nothing.
"""
from __future__ import annotations

import numpy as np

from engine.edits.commit import commit_sparse
from engine.edits.policy import PaintPolicy
from engine.edits.record import UndoRecord
from engine.taxonomy import IGNORE


def accept_region(label: np.ndarray, proposal: np.ndarray, where: np.ndarray,
                  replace_labels: bool = False) -> np.ndarray:
    """HxW bool: the pixels accepting would change."""
    if proposal.shape != label.shape or where.shape != label.shape:
        raise ValueError(f"the proposal {proposal.shape[::-1]} does not match the frame {label.shape[::-1]}; "
                         "pre-segment this frame again")
    region = where & (proposal != label) & (proposal != IGNORE)
    if not replace_labels:
        region &= label == IGNORE
    return region


def accept_into(label: np.ndarray, proposal: np.ndarray, where: np.ndarray,
                replace_labels: bool = False) -> np.ndarray:
    """A new label: `label` with the proposal written into `accept_region` (the input is not modified)."""
    out = label.copy()
    region = accept_region(label, proposal, where, replace_labels)
    out[region] = proposal[region]
    return out


def accept_proposal(label: np.ndarray, proposal: np.ndarray, where: np.ndarray,
                    policy: PaintPolicy | None = None, description: str = "accept proposal",
                    replace_labels: bool = False) -> UndoRecord | None:
    """Write `proposal` (HxW original IDs) into `label` in `accept_region` where `policy` allows: unlabelled
    pixels only unless `replace_labels`.

    One UndoRecord over the box of changed pixels (None when nothing changes): accepting is one undo step.
    """
    ys, xs = np.nonzero(accept_region(label, proposal, where, replace_labels))
    if ys.size == 0:
        return None
    return commit_sparse(label, ys, xs, proposal[ys, xs], policy or PaintPolicy(), description)
