"""The train_preseg job: stream labelled frames through the diffusion model and fit the head.

Two kinds of head (`PresegSettings.head`): "pixel-mlp" (the default, `engine.preseg.ensemble`: the
reference's per-pixel MLPs on a class-balanced pixel sample) and "conv" (`engine.preseg.conv_head`:
small convolutional members over whole feature maps). The choice was measured on the phantom
tuning draw: docs/adr/0011-preseg-protocol-and-shift.md. Both keep the shift statistics of their training
frames (`engine.preseg.shift`) and the classes' smallest areas (`engine.preseg.presence`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from engine.jobs import JobContext
from engine.taxonomy import ClassSet, get_class_set

from .augment import augmented_sources
from .conv_head import ConvSettings, train_conv_ensemble
from .ensemble import EnsembleSettings, train_ensemble
from .features import FeatureConfig, FeatureExtractor, open_extractor
from .head_dir import PresegHead, save_head
from .maps import collect_maps
from .ownership import OWNER_KEY, check_head_target, owner_of
from .presence import DEFAULT_AREA_GATE
from .sampling import FrameSource, collect_pixels
from .shift import fit_shift
from .trust import class_layout

HEAD_KINDS = ("conv", "pixel-mlp")


@dataclass(frozen=True)
class PresegSettings:
    """Everything that shapes a head: features, the kind of head and its training.

    For "pixel-mlp", `pixels_per_frame` class-balanced training pixels are kept per frame; for "conv" whole
    feature maps are kept. `max_feature_bytes` caps the memory of what is kept. `area_gate` is stored with
    the head: the default for removing classes proposed over too small an area. `augment_copies` jittered
    copies of every frame are trained on too (`engine.preseg.augment`; 0 = none).

    The defaults (image filters on, two jittered copies) were chosen on the phantom tuning draw over eight
    cells (docs/adr/0011-preseg-protocol-and-shift.md, "2026-12-02"); heads saved before keep their own.
    """

    features: FeatureConfig = field(default_factory=lambda: FeatureConfig(image_filters=True))
    head: str = "pixel-mlp"
    ensemble: EnsembleSettings = field(default_factory=EnsembleSettings)
    conv: ConvSettings = field(default_factory=ConvSettings)
    pixels_per_frame: int = 4000
    max_feature_bytes: int = 1 << 30
    seed: int = 0
    area_gate: float = DEFAULT_AREA_GATE
    augment_copies: int = 2


def _check_pixels(pixels: int) -> None:
    if not pixels:
        raise ValueError("the training frames hold no labelled pixels a person made (pixels accepted from a "
                         "model count only once reviewed): label or review some pixels first")


def train_head(extractor: FeatureExtractor, frames: Sequence[FrameSource], class_set: ClassSet | str | int,
               settings: PresegSettings | None = None, ctx: JobContext | None = None) -> PresegHead:
    """Train a head in memory on `frames` (labels in original IDs) with an open extractor."""
    settings = settings or PresegSettings()
    if settings.head not in HEAD_KINDS:
        raise ValueError(f"unknown head kind {settings.head!r}; choose {' or '.join(HEAD_KINDS)}")
    ctx = ctx or JobContext()
    cs = class_set if isinstance(class_set, ClassSet) else get_class_set(class_set)
    t0 = time.perf_counter()
    # the conv head jitters the colour channels; with image filters after them (made from the unjittered
    # colour) it does not
    rgb = 3 if extractor.config.include_rgb and not extractor.config.image_filters else 0
    originals = len(frames)
    frames = list(frames) + augmented_sources(frames, settings.augment_copies, settings.seed)
    if settings.head == "conv":
        maps = collect_maps(frames, extractor, cs, settings.max_feature_bytes, settings.seed, ctx.sub(0.0, 0.2))
        _check_pixels(sum(int((y != 255).sum()) for y in maps.labels))
        t1 = time.perf_counter()
        ens, history = train_conv_ensemble(maps.maps, maps.labels, cs.num_classes, settings.conv, rgb,
                                           ctx.sub(0.2, 1.0))
        sharp, colours = maps.sharpness, maps.colours
        descriptors, areas, pixels, nbytes = maps.descriptors, maps.min_area_fractions, maps.pixels, maps.nbytes
        head_settings = settings.conv.to_dict()
    else:
        bank = collect_pixels(frames, extractor, cs, settings.pixels_per_frame, settings.max_feature_bytes,
                              settings.seed, ctx.sub(0.0, 0.4))
        _check_pixels(bank.count)
        x, y, _ = bank.view()
        t1 = time.perf_counter()
        ens, history = train_ensemble(x, y, cs.num_classes, settings.ensemble, ctx.sub(0.4, 1.0))
        sharp, colours = bank.sharpness, bank.colours
        descriptors, areas, pixels, nbytes = bank.descriptors, bank.min_area_fractions, bank.count, bank.nbytes
        head_settings = settings.ensemble.to_dict()
    meta = {
        "frames": [f.key for f in frames[:originals]],
        "augment_copies": int(settings.augment_copies),
        "training_pixels": int(pixels),
        "feature_bytes": int(nbytes),
        "feature_channels": int(ens.in_channels),
        "head_settings": head_settings,
        "member_history": history,
        "seconds_features": round(t1 - t0, 2),
        "seconds_training": round(time.perf_counter() - t1, 2),
    }
    meta["class_layout"] = class_layout((f.load()[1] for f in frames[:originals]), cs)
    min_areas = None if areas is None else [None if a != a else round(float(a), 6) for a in areas]  # NaN -> None
    return PresegHead(ens, cs, extractor.config, extractor.fingerprint, meta, min_areas, settings.area_gate,
                      fit_shift(descriptors[:originals], sharp[:originals], seed=settings.seed,
                                colours=None if colours is None else colours[:originals]))


def train_preseg(model_dir: str | Path, frames: Sequence[FrameSource], class_set: ClassSet | str | int,
                 out_dir: str | Path, settings: PresegSettings | None = None, device: str = "cpu",
                 ctx: JobContext | None = None, owner: str | Path | None = None,
                 replace: bool = False) -> PresegHead:
    """The whole job: open the diffusion model, train a head on `frames`, save it to `out_dir`.

    With `owner` (the project folder or dataset root the frames come from) the head records it, and a head
    of another owner in `out_dir` is refused before any work unless `replace` (`engine.preseg.ownership`)."""
    settings = settings or PresegSettings()
    ctx = ctx or JobContext()
    if owner is not None:
        check_head_target(out_dir, owner, replace)
    ctx.report(0.0, "loading the diffusion model")
    extractor = open_extractor(model_dir, settings.features, device)
    head = train_head(extractor, frames, class_set, settings, ctx.sub(0.02, 0.99))
    head.meta["model_dir"] = str(Path(model_dir).resolve())
    if owner is not None:
        head.meta[OWNER_KEY] = owner_of(owner)
        check_head_target(out_dir, owner, replace)  # nothing else took the folder meanwhile
    save_head(head, out_dir)
    ctx.report(1.0, f"head saved to {out_dir}")
    return head
