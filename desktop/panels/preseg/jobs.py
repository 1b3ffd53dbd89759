"""The pre-segment panel's background jobs: each is ONE call of `engine.services.preseg` (the same calls as
`cadis train-preseg` and `cadis preseg`), built from values read in the GUI thread (no widget is touched off
the GUI thread). The loaded Presegmenter lives in the panel's `Presegmenters`, keyed by the model weights, the
head files and the device; its own LRU keeps the features of recent frames, so the current and next frames
are not recomputed."""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from engine.services import preseg as service

Job = Callable[[object], object]


def train_job(request: service.TrainRequest, frames: list) -> Job:
    return lambda ctx: service.train(ctx, request, frames)


def presegment_job(heads: service.Presegmenters, request: service.PresegRequest, image: np.ndarray, key: str,
                   next_key: Optional[str], project) -> Job:
    """Propose a label for `image`, then compute the next frame's features into the cache.
    Returns (PresegResult, proposal in original CaDIS IDs)."""
    prefetch = None if next_key is None else (next_key, lambda: project.load_image(next_key))

    def job(ctx):
        proposal = service.propose(ctx, heads, request, image, key, prefetch)
        return proposal.result, proposal.original
    return job


def rank_next_job(heads: service.Presegmenters, request: service.PresegRequest, project, keys: list[str]) -> Job:
    """Rank frames `keys` by the model's uncertainty, most uncertain first."""
    frames = [(k, (lambda k=k: project.load_image(k))) for k in keys]
    return lambda ctx: service.rank_label_next(ctx, heads, request, frames)


def suspicious_job(heads: service.Presegmenters, request: service.PresegRequest, frames: list, settings,
                   model_made: Optional[dict] = None) -> Job:
    """Rank labelled frames by disagreement with heads trained without them (k-fold); a `Suspicious` whose
    `problem` says why when no fold head can be trained."""
    return lambda ctx: service.find_suspicious(ctx, heads, request, frames, settings, model_made)
