"""The train_preseg job: stream labelled frames through the diffusion model, sample pixels, fit the ensemble."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from engine.jobs import JobContext
from engine.taxonomy import ClassSet, get_class_set

from .ensemble import EnsembleSettings, train_ensemble
from .features import FeatureConfig, FeatureExtractor, open_extractor
from .head_dir import PresegHead, save_head
from .presence import DEFAULT_AREA_GATE
from .sampling import FrameSource, collect_pixels


@dataclass(frozen=True)
class PresegSettings:
    """Everything that shapes a head: features, pixel sampling and the ensemble.

    `pixels_per_frame` class-balanced training pixels are kept per frame; `max_feature_bytes` caps the
    memory of the kept pixels (frames then get an equal smaller share). `area_gate` is stored with the
    head: the default for removing classes proposed over too small an area (`engine.preseg.presence`).
    """

    features: FeatureConfig = field(default_factory=FeatureConfig)
    ensemble: EnsembleSettings = field(default_factory=EnsembleSettings)
    pixels_per_frame: int = 6000
    max_feature_bytes: int = 1 << 30
    seed: int = 0
    area_gate: float = DEFAULT_AREA_GATE


def train_head(extractor: FeatureExtractor, frames: Sequence[FrameSource], class_set: ClassSet | str | int,
               settings: PresegSettings | None = None, ctx: JobContext | None = None) -> PresegHead:
    """Train a head in memory on `frames` (labels in original IDs) with an open extractor."""
    settings = settings or PresegSettings()
    ctx = ctx or JobContext()
    cs = class_set if isinstance(class_set, ClassSet) else get_class_set(class_set)
    t0 = time.perf_counter()
    bank = collect_pixels(frames, extractor, cs, settings.pixels_per_frame, settings.max_feature_bytes,
                          settings.seed, ctx.sub(0.0, 0.4))
    x, y, _ = bank.view()
    t1 = time.perf_counter()
    ens, history = train_ensemble(x, y, cs.num_classes, settings.ensemble, ctx.sub(0.4, 1.0))
    meta = {
        "frames": [f.key for f in frames],
        "training_pixels": int(bank.count),
        "feature_bytes": int(bank.nbytes),
        "feature_channels": int(x.shape[1]),
        "ensemble_settings": settings.ensemble.to_dict(),
        "member_epochs": [h["epochs"] for h in history],
        "seconds_features": round(t1 - t0, 2),
        "seconds_training": round(time.perf_counter() - t1, 2),
    }
    areas = bank.min_area_fractions
    min_areas = None if areas is None else [None if a != a else round(float(a), 6) for a in areas]  # NaN -> None
    return PresegHead(ens, cs, extractor.config, extractor.fingerprint, meta, min_areas, settings.area_gate)


def train_preseg(model_dir: str | Path, frames: Sequence[FrameSource], class_set: ClassSet | str | int,
                 out_dir: str | Path, settings: PresegSettings | None = None, device: str = "cpu",
                 ctx: JobContext | None = None) -> PresegHead:
    """The whole job: open the diffusion model, train a head on `frames`, save it to `out_dir`."""
    settings = settings or PresegSettings()
    ctx = ctx or JobContext()
    ctx.report(0.0, "loading the diffusion model")
    extractor = open_extractor(model_dir, settings.features, device)
    head = train_head(extractor, frames, class_set, settings, ctx.sub(0.02, 0.99))
    head.meta["model_dir"] = str(Path(model_dir).resolve())
    save_head(head, out_dir)
    ctx.report(1.0, f"head saved to {out_dir}")
    return head
