"""Accepting (part of) a pre-segmentation proposal into a label, as one undoable edit op."""
from __future__ import annotations

import numpy as np

from engine.edits.commit import commit_sparse
from engine.edits.policy import PaintPolicy
from engine.edits.record import UndoRecord


def accept_proposal(label: np.ndarray, proposal: np.ndarray, where: np.ndarray,
                    policy: PaintPolicy | None = None, description: str = "accept proposal") -> UndoRecord | None:
    """Write `proposal` (HxW original IDs) into `label` where `where` is True and `policy` allows.

    One UndoRecord over the box of changed pixels (None when nothing changes): accepting is one undo step.
    """
    if proposal.shape != label.shape or where.shape != label.shape:
        raise ValueError(f"the proposal {proposal.shape[::-1]} does not match the frame {label.shape[::-1]}; "
                         "pre-segment this frame again")
    ys, xs = np.nonzero(where & (proposal != label))
    if ys.size == 0:
        return None
    return commit_sparse(label, ys, xs, proposal[ys, xs], policy or PaintPolicy(), description)
