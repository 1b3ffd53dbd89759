"""Key frames of a propagation and the frame positions to fill from them (shared by every propagation method)."""
from __future__ import annotations

from typing import Iterable, Mapping


def positions_to_fill(n: int, keys: Mapping[int, object], targets: Iterable[int]) -> tuple[list[int], list[int]]:
    """(sorted key positions, sorted target positions that are not keys) for `n` frames; ValueError with a sentence
    a person can act on when there is no key or a position lies outside the frames."""
    targets = list(targets)
    if not keys:
        raise ValueError("propagation needs at least one labelled frame to start from")
    for k in list(keys) + targets:
        if not 0 <= k < n:
            raise ValueError(f"frame position {k} is outside the {n} frames")
    key_pos = sorted(keys)
    return key_pos, sorted(set(targets) - set(key_pos))
