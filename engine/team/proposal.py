"""A proposed label for a frame that several annotators labelled differently.

- three or more versions: per-pixel majority vote; a tied pixel takes the reviewed version's class when that
  version is among the tied, else stays unlabelled (255) for the reviewer;
- two versions, one of them reviewed (status done) and the other not: the reviewed one;
- otherwise a weighted fusion: pixels where the versions agree keep their class, the others take the class of
  the annotator with the higher weight (their agreement with the majority on the team's overlap frames),
  or stay unlabelled when the weights are equal.
"""
from __future__ import annotations

import numpy as np

IGNORE = 255


def majority_vote(labels: list[np.ndarray], tie_break: np.ndarray | None = None,
                  weights: list[float] | None = None) -> np.ndarray:
    """Per-pixel (weighted) vote of the labels; ties take `tie_break`'s class when it is among the tied, else 255."""
    stack = np.stack(labels).astype(np.int16)
    w = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=np.float64)
    classes = np.unique(stack)
    votes = np.zeros((len(classes),) + stack.shape[1:], dtype=np.float64)
    for i, c in enumerate(classes):
        votes[i] = np.tensordot(w, (stack == c), axes=1)
    best = votes.max(axis=0)
    winners = votes >= best - 1e-9
    n_win = winners.sum(axis=0)
    out = classes[votes.argmax(axis=0)].astype(np.uint8)
    tied = n_win > 1
    out[tied] = IGNORE
    if tie_break is not None and tied.any():
        tb = tie_break.astype(np.int16)
        index = np.searchsorted(classes, tb)
        index = np.clip(index, 0, len(classes) - 1)
        tb_wins = (classes[index] == tb) & np.take_along_axis(winners, index[None], 0)[0]
        take = tied & tb_wins
        out[take] = tie_break[take]
    return out


def propose(versions: dict[str, np.ndarray], reviewed: set[str] | None = None,
            weights: dict[str, float] | None = None) -> tuple[np.ndarray, str]:
    """(proposed label, method) for the versions of one frame keyed by author; see the module doc."""
    authors = sorted(versions)
    labels = [versions[a] for a in authors]
    reviewed = {a for a in (reviewed or set()) if a in versions}
    tie = versions[sorted(reviewed)[0]] if len(reviewed) == 1 else None
    if len(authors) >= 3:
        return majority_vote(labels, tie_break=tie), "majority"
    if len(authors) == 1:
        return labels[0].copy(), "single"
    if len(reviewed) == 1:
        return tie.copy(), "reviewed"
    wa, wb = (float((weights or {}).get(a, 0.0)) for a in authors)
    a, b = labels
    out = np.where(a == b, a, IGNORE).astype(np.uint8)
    if wa != wb:
        winner = a if wa > wb else b
        out = np.where(a == b, a, winner).astype(np.uint8)
    return out, "weighted"
