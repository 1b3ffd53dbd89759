"""Fusing a propagated label map with a pre-segmentation head's proposal of the same frame.

    label, conf = fuse_with_proposal(propagated, prop_conf, proposal, proposal_conf)

Per pixel the source with the higher confidence wins (ties: propagation). Propagation is sharp where its flow is
consistent and lost where the view changed (instruments that entered, regions that came into view, long gaps);
the head sees every frame afresh but blurs boundaries and confuses classes it saw little of, so each covers the
other's weakness. `proposal_confidence` turns a head's result into a 0..1 confidence (its winning class's soft-vote
probability times one minus the ensemble's disagreement). Measured in docs/benchmarks/effort.md.
"""
from __future__ import annotations

import math

import numpy as np

from engine.taxonomy import IGNORE


def proposal_confidence(probs: np.ndarray, uncertainty: np.ndarray) -> np.ndarray:
    """HxW float32 0..1 from a head's (K, H, W) probabilities and HxW Jensen-Shannon uncertainty (at most ln 2)."""
    top = probs.max(axis=0)
    doubt = np.clip(uncertainty / math.log(2.0), 0.0, 1.0)
    return np.clip(top * (1.0 - doubt), 0.0, 1.0).astype(np.float32)


def fuse_with_proposal(label: np.ndarray, confidence: np.ndarray, proposal: np.ndarray,
                       proposal_conf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(label, confidence): per pixel the more confident of the propagated label and the head's proposal (original
    class IDs both); an unlabelled pixel of either side never wins."""
    if not (label.shape == confidence.shape == proposal.shape == proposal_conf.shape):
        raise ValueError("the propagated label, the proposal and their confidences must have the same size")
    pc = np.where(proposal == IGNORE, -1.0, proposal_conf)
    lc = np.where(label == IGNORE, -1.0, confidence)
    take_prop = lc >= pc
    fused = np.where(take_prop, label, proposal).astype(np.uint8)
    conf = np.clip(np.where(take_prop, lc, pc), 0.0, 1.0).astype(np.float32)
    return fused, conf
