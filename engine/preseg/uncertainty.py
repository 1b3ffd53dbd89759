"""Combining ensemble members and measuring how much they disagree.

Member probabilities are tensors shaped (M, ..., K): M members, K classes last.
- soft voting: the prediction is the mean of the members' probabilities (measured better than
  majority voting in the reference work);
- per-pixel uncertainty: the Jensen-Shannon divergence across members, the entropy of the mean minus
  the mean of the members' entropies (natural log, so it lies in [0, ln min(M, K)]);
- per-frame score: the mean of the top 10% most uncertain pixels (a few confused regions count even
  when most of the frame is easy).
"""
from __future__ import annotations

import math

import numpy as np
import torch

EPS = 1e-12


def soft_vote(member_probs: torch.Tensor) -> torch.Tensor:
    """(M, ..., K) -> (..., K): the mean of the members' probabilities."""
    return member_probs.mean(dim=0)


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Shannon entropy (nats) over the last axis."""
    return -(probs * probs.clamp_min(EPS).log()).sum(dim=-1)


def jensen_shannon(member_probs: torch.Tensor) -> torch.Tensor:
    """(M, ..., K) -> (...): entropy of the mean minus mean entropy; 0 where all members agree."""
    return (entropy(soft_vote(member_probs)) - entropy(member_probs).mean(dim=0)).clamp_min(0.0)


def frame_score(uncertainty: np.ndarray | torch.Tensor, top_fraction: float = 0.1) -> float:
    """Mean of the `top_fraction` highest values of a per-pixel uncertainty map (at least one pixel)."""
    u = torch.as_tensor(uncertainty).reshape(-1).float()
    if u.numel() == 0:
        raise ValueError("empty uncertainty map")
    if not 0.0 < top_fraction <= 1.0:
        raise ValueError(f"top_fraction must be in (0, 1], got {top_fraction}")
    k = max(1, int(math.ceil(top_fraction * u.numel())))
    return float(torch.topk(u, k).values.mean())


def max_uncertainty(members: int, classes: int) -> float:
    """The largest possible Jensen-Shannon divergence for this ensemble: ln(min(M, K))."""
    return math.log(max(2, min(members, classes)))


def uncertainty_to_grey(uncertainty: np.ndarray, members: int, classes: int) -> np.ndarray:
    """Per-pixel JSD -> HxW uint8 grey, 0 = all members agree, 255 = the largest possible divergence."""
    scaled = np.asarray(uncertainty, np.float32) / max_uncertainty(members, classes)
    return np.clip(np.rint(scaled * 255.0), 0, 255).astype(np.uint8)
