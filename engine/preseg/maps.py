"""Whole feature maps of the labelled frames, for the convolutional head.

Frames are streamed through the extractor one at a time; each frame's (C, H, W) float16 feature map and
its label (class-set IDs at the working resolution) are kept. When all maps together would exceed the
byte budget, each frame keeps a random crop of the same, smaller size instead, so every frame is still
represented and memory stays bounded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from engine.jobs import JobContext
from engine.taxonomy import ClassSet

from engine.labels import resize_label

from .features import FeatureExtractor
from .presence import class_area_fractions, update_min_fractions
from .sampling import FrameSource
from .shift import frame_sample, image_sharpness, training_colours


@dataclass
class MapBank:
    maps: list[torch.Tensor] = field(default_factory=list)
    labels: list[torch.Tensor] = field(default_factory=list)
    descriptors: list[torch.Tensor] = field(default_factory=list)
    sharpness: list[float] = field(default_factory=list)
    colours: list[torch.Tensor] = field(default_factory=list)
    min_area_fractions: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        return sum(m.numel() * 2 + y.numel() * 8 for m, y in zip(self.maps, self.labels))

    @property
    def pixels(self) -> int:
        return sum(int(y.numel()) for y in self.labels)


def collect_maps(frames: Sequence[FrameSource], extractor: FeatureExtractor, class_set: ClassSet,
                 max_bytes: int = 1 << 30, seed: int = 0, ctx: JobContext | None = None) -> MapBank:
    if not frames:
        raise ValueError("no labelled frames to train on")
    ctx = ctx or JobContext()
    channels = extractor.channels()
    h, w = extractor.work_size
    per_frame = max_bytes / len(frames) / (channels * 2 + 8)
    shrink = min(1.0, math.sqrt(per_frame / (h * w)))
    ch, cw = max(16, int(h * shrink)), max(16, int(w * shrink))
    ch, cw = min(ch, h), min(cw, w)
    rng = np.random.default_rng(seed)
    bank = MapBank()
    for i, fr in enumerate(frames):
        ctx.check()
        ctx.report(i / len(frames), f"features of {fr.key}")
        image, label = fr.load()
        target = resize_label(class_set.remap(label), extractor.work_size)
        feats = extractor.extract(image).tensor
        bank.descriptors.append(frame_sample(feats[:extractor.shift_channels]))
        bank.sharpness.append(image_sharpness(image, extractor.work_size))
        bank.colours.append(training_colours(image, extractor.work_size, i))
        bank.min_area_fractions = update_min_fractions(bank.min_area_fractions,
                                                       class_area_fractions(target, class_set.num_classes))
        y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        bank.maps.append(feats[:, y0:y0 + ch, x0:x0 + cw].clone())
        bank.labels.append(torch.from_numpy(target[y0:y0 + ch, x0:x0 + cw].astype(np.int64)))
        del feats
    ctx.report(1.0, f"feature maps of {len(frames)} frames")
    return bank
