"""Curation decisions on a project's synthetic pairs: near-duplicates among them, and rejecting the most
uncertain (a person's decision stays: only pending pairs are rejected)."""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np

from engine.curation.duplicates import DEFAULT_THRESHOLD, find_near_duplicates
from engine.curation.scores import most_uncertain
from engine.jobs import JobContext


def reject_most_uncertain(project, uncertainty: dict[int, float], fraction: float) -> list[int]:
    """Reject the `fraction` most uncertain of the given pairs (pair id -> uncertainty) that are still pending;
    returns the ids rejected now."""
    rejected = []
    for pid in most_uncertain(uncertainty, fraction):
        if project.pair(pid).status == "pending":
            project.set_pair_status(pid, "rejected")
            rejected.append(int(pid))
    return rejected


def _shrink(image: np.ndarray) -> np.ndarray:  # the comparison uses 16x16 thumbnails: 128 px wide is plenty
    h, w = image.shape[:2]
    return cv2.resize(image, (128, max(1, round(128 * h / max(w, 1)))), interpolation=cv2.INTER_AREA)


def find_duplicate_pairs(project, pair_ids: Sequence[int], threshold: Optional[float] = None,
                         ctx: Optional[JobContext] = None) -> dict[int, float]:
    """Pairs that are near-duplicates of an earlier pair or of their own source frame (`find_near_duplicates`):
    pair id -> smallest distance found under the threshold. Unreadable pairs or frames are left out."""
    ctx = ctx or JobContext()
    items, refs, source_of = {}, {}, {}
    for n, pid in enumerate(pair_ids):
        ctx.check()
        ctx.report(n / max(1, len(pair_ids)), "comparing pairs")
        try:
            image, _label = project.load_pair(pid)
            parent = project.pair(pid).parent_key
            items[pid] = _shrink(image)
            if parent:
                source_of[pid] = parent
                if parent not in refs:
                    refs[parent] = _shrink(project.load_image(parent))
        except Exception:  # noqa: BLE001 - an unreadable pair or frame is left out of the comparison
            continue
    report = find_near_duplicates(items, DEFAULT_THRESHOLD if threshold is None else threshold, refs, source_of)
    found: dict[int, float] = {}
    for item, _other, dist in report.pairs:
        found[int(item)] = min(dist, found.get(int(item), float("inf")))
    ctx.report(1.0, f"{len(found)} near-duplicate(s)")
    return found
