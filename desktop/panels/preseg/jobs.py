"""The pre-segment panel's background jobs: plain functions of `ctx` built from values read in the GUI
thread (no widget is touched off the GUI thread). The loaded `engine.preseg.Presegmenter` lives in a
`ModelCache` keyed by the model weights, the head files and the device; its own LRU keeps the features
of recent frames, so the current and next frames are not recomputed."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Hashable, Optional

import numpy as np

from engine.services.pipelines import weights_stamp
from engine.model_cache import ModelCache

Job = Callable[[object], object]


def head_stamp(head_dir: Optional[Path]) -> float:
    """Modification time of a head's weights (0 when there is none): retraining invalidates the cache."""
    try:
        return (Path(head_dir) / "preseg_head.safetensors").stat().st_mtime
    except (OSError, TypeError):
        return 0.0


def project_frames(project, keys: list[str]) -> list:
    """Lazy `FrameSource`s of project frames (image + the person's label: model-made pixels left out)."""
    from engine.preseg.data import project_frames as frames

    return frames(project, keys)


def presegmenter_loader(model_dir: str, head_dir: Path, device: str) -> tuple[Hashable, Callable]:
    """(cache key, load(ctx)) for the Presegmenter of these folders."""
    key = (weights_stamp(model_dir), str(head_dir), head_stamp(head_dir), device)

    def load(ctx):
        from engine.preseg import Presegmenter

        ctx.report(0.0, "loading the model and head")
        return Presegmenter.open(model_dir, head_dir, device=device, cache_size=4)
    return key, load


def train_job(model_dir: str, frames: list, class_set: str, head_dir: Path, settings, device: str,
              owner: Optional[str] = None, replace: bool = False) -> Job:
    def job(ctx):
        from engine.preseg import train_preseg

        return train_preseg(model_dir, frames, class_set, head_dir, settings, device, ctx, owner, replace)
    return job


def presegment_job(cache: ModelCache, loader: tuple[Hashable, Callable], image: np.ndarray, key: str,
                   next_key: Optional[str], project) -> Job:
    """Propose a label for `image`, then compute the next frame's features into the cache.
    Returns (PresegResult, proposal in original CaDIS IDs)."""
    cache_key, load = loader

    def job(ctx):
        from engine.labels import to_original_ids

        def use(ps):
            res = ps.presegment(image, key)
            ctx.report(0.8, "proposal ready")
            if next_key is not None and next_key not in ps.cache:
                ctx.check()
                ps.prefetch(project.load_image(next_key), next_key)  # the next frame opens instantly
            return res
        res = cache.use(cache_key, lambda: load(ctx), use)
        return res, to_original_ids(res.label, res.class_set)
    return job


def rank_next_job(cache: ModelCache, loader: tuple[Hashable, Callable], project, keys: list[str]) -> Job:
    """Rank frames `keys` by the model's uncertainty, most uncertain first."""
    cache_key, load = loader

    def job(ctx):
        from engine.preseg import rank_label_next

        frames = [(k, (lambda k=k: project.load_image(k))) for k in keys]
        return cache.use(cache_key, lambda: load(ctx), lambda ps: rank_label_next(ps, frames, ctx, total=len(frames)))
    return job


def suspicious_job(cache: ModelCache, loader: tuple[Hashable, Callable], frames: list, settings,
                   model_made: Optional[dict] = None) -> Job:
    """Rank labelled frames by disagreement with heads trained without them (k-fold); unreviewed model-made
    pixels count as suspicious (`engine.preseg.rank_suspicious`)."""
    cache_key, load = loader

    def job(ctx):
        from engine.preseg import rank_suspicious

        return cache.use(cache_key, lambda: load(ctx), lambda ps: rank_suspicious(
            ps.extractor, frames, ps.head.class_set, settings, folds=min(5, len(frames)), ctx=ctx,
            model_made=model_made))
    return job
