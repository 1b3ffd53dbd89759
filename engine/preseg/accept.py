"""Which pixels accepting a proposal may write.

Accepting never overwrites what the annotator painted unless they ask for it: by default only pixels
that are still unlabelled (255) take the proposal; with `replace_labels` every chosen pixel does. The
chosen pixels are the caller's `where` (all, confident, ticked classes); pixels where the proposal
equals the label are left out, since writing them changes nothing.
"""
from __future__ import annotations

import numpy as np

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
