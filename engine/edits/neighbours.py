"""Majority vote of the classes around connected components (used by the repair ops).

Given component ids (int32, 0 = not a component) over a crop, every component pixel looks at its 4 or
8 neighbours; neighbours outside the component that the caller marks as voters add one vote for their
class. The work is proportional to the number of component pixels, not to the crop.
"""
from __future__ import annotations

import numpy as np

OFFSETS = {
    4: ((-1, 0), (1, 0), (0, -1), (0, 1)),
    8: ((-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)),
}


def neighbour_votes(values: np.ndarray, ids: np.ndarray, n: int, voters: np.ndarray, connectivity: int = 8,
                    pixels: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """(n + 1, 256) int64 vote counts: row i counts the classes of voter pixels adjacent to component i.

    `pixels` are the (ys, xs) of the component pixels when the caller has them (``np.nonzero(ids)``).
    """
    h, w = ids.shape
    ys, xs = np.nonzero(ids) if pixels is None else pixels
    own = ids[ys, xs].astype(np.int64)
    keys = []
    for dy, dx in OFFSETS[connectivity]:
        ny, nx = ys + dy, xs + dx
        ok = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        ny, nx, o = ny[ok], nx[ok], own[ok]
        ok = (ids[ny, nx] != o) & voters[ny, nx]
        keys.append(o[ok] * 256 + values[ny[ok], nx[ok]])
    votes = np.bincount(np.concatenate(keys), minlength=(n + 1) * 256)
    return votes.reshape(n + 1, 256)


def majority(votes: np.ndarray) -> np.ndarray:
    """Per row, the most voted class (lowest ID on ties), or -1 where the row has no vote."""
    best = votes.argmax(axis=1)
    return np.where(votes.max(axis=1) > 0, best, -1)
