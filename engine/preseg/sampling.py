"""Class-balanced pixel sampling into a fixed-size, half-precision feature bank.

The reference implementation keeps every pixel's features of every training frame in float32 (~210 GB
for 50 frames at 256x256). Here frames are streamed one at a time: features of one frame are computed,
a class-balanced sample of its pixels is copied into a preallocated float16 bank, and the frame's
feature map is dropped. The bank's size is fixed up front from a byte budget, so memory is bounded no
matter how many frames are used.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from engine.jobs import JobContext
from engine.labels import resize_label
from engine.taxonomy import IGNORE, ClassSet

from .features import FeatureExtractor
from .presence import class_area_fractions, update_min_fractions
from .shift import frame_sample, image_sharpness, training_colours

LoadFn = Callable[[], "tuple[np.ndarray, np.ndarray]"]


@dataclass(frozen=True)
class FrameSource:
    """A frame that is loaded only when needed: `load()` -> (HxWx3 RGB image, HxW label in ORIGINAL IDs)."""

    key: str
    load: LoadFn


def class_balanced_indices(label: np.ndarray, n: int, rng: np.random.Generator,
                           ignore: int = IGNORE) -> np.ndarray:
    """Up to `n` flat pixel indices of `label`, spread as evenly as possible over the classes present.

    Each class gets an equal share; a class with fewer pixels than its share gives them all and the
    rest is shared among the others. Ignored pixels are never chosen. Sorted ascending.
    """
    flat = label.reshape(-1)
    classes, counts = np.unique(flat[flat != ignore], return_counts=True)
    if len(classes) == 0 or n <= 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(counts, kind="stable")
    take = np.zeros(len(classes), dtype=np.int64)
    remaining = int(n)
    for rank, ci in enumerate(order):
        share = remaining // (len(order) - rank)
        take[ci] = min(int(counts[ci]), share)
        remaining -= take[ci]
    picks = []
    for c, k in zip(classes, take):
        if k:
            idx = np.flatnonzero(flat == c)
            picks.append(idx if k >= len(idx) else rng.choice(idx, size=int(k), replace=False))
    return np.sort(np.concatenate(picks)).astype(np.int64)


class PixelBank:
    """Preallocated training pixels: `features` (capacity, C) float16, `labels` int64, `frames` int32."""

    def __init__(self, capacity: int, channels: int):
        if capacity <= 0:
            raise ValueError("the pixel bank needs room for at least one pixel; raise the memory budget")
        self.features = torch.empty((capacity, channels), dtype=torch.float16)
        self.labels = torch.empty(capacity, dtype=torch.int64)
        self.frames = torch.empty(capacity, dtype=torch.int32)
        self.count = 0
        #: per class, the smallest share of a frame it covered in the labels (NaN: never present)
        self.min_area_fractions: np.ndarray | None = None
        #: per training frame, a grid sample of its pixels' features (`engine.preseg.shift`)
        self.descriptors: list[torch.Tensor] = []
        self.sharpness: list[float] = []
        self.colours: list[torch.Tensor] = []

    @property
    def capacity(self) -> int:
        return int(self.features.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes held by the stored features, labels and frame ids."""
        return sum(t.numel() * t.element_size() for t in (self.features, self.labels, self.frames))

    def add(self, feats: torch.Tensor, label: np.ndarray, indices: np.ndarray, frame_id: int) -> int:
        """Copy the pixels `indices` of a (C, H, W) feature map and its (H, W) label; returns how many."""
        k = min(len(indices), self.capacity - self.count)
        if k <= 0:
            return 0
        idx = torch.from_numpy(np.ascontiguousarray(indices[:k]))
        flat = feats.reshape(feats.shape[0], -1)
        s = slice(self.count, self.count + k)
        self.features[s] = flat.index_select(1, idx).T.to(torch.float16)
        self.labels[s] = torch.from_numpy(label.reshape(-1)[indices[:k]].astype(np.int64))
        self.frames[s] = int(frame_id)
        self.count += k
        return k

    def view(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(features, labels, frame ids) of the filled part."""
        return self.features[:self.count], self.labels[:self.count], self.frames[:self.count]


def bank_capacity(n_frames: int, pixels_per_frame: int, channels: int, max_bytes: int) -> int:
    """How many pixels to preallocate: the wanted number, capped so the bank stays within `max_bytes`."""
    per_pixel = channels * 2 + 8 + 4  # float16 features + int64 label + int32 frame id
    return max(0, min(n_frames * pixels_per_frame, int(max_bytes) // per_pixel))


def collect_pixels(frames: Sequence[FrameSource], extractor: FeatureExtractor, class_set: ClassSet,
                   pixels_per_frame: int = 4000, max_bytes: int = 1 << 30, seed: int = 0,
                   ctx: JobContext | None = None) -> PixelBank:
    """Stream `frames` through the extractor and keep a class-balanced sample of each frame's pixels.

    Labels are remapped to `class_set` and resized (nearest) to the extractor's working resolution.
    The bank also records each class's smallest area share per frame (`engine.preseg.presence`).
    When `max_bytes` cannot hold `pixels_per_frame` for every frame, every frame gets an equal smaller
    share, so all frames are represented.
    """
    if not frames:
        raise ValueError("no labelled frames to train on")
    ctx = ctx or JobContext()
    channels = extractor.channels()
    h, w = extractor.work_size
    cap = bank_capacity(len(frames), min(pixels_per_frame, h * w), channels, max_bytes)
    bank = PixelBank(cap, channels)
    per_frame = max(1, cap // len(frames))
    rng = np.random.default_rng(seed)
    for i, fr in enumerate(frames):
        ctx.check()
        ctx.report(i / len(frames), f"features of {fr.key}")
        image, label = fr.load()
        target = resize_label(class_set.remap(label), extractor.work_size)
        feats = extractor.extract(image).tensor
        bank.add(feats, target, class_balanced_indices(target, per_frame, rng), i)
        bank.descriptors.append(frame_sample(feats[:extractor.shift_channels]))
        bank.sharpness.append(image_sharpness(image, extractor.work_size))
        bank.colours.append(training_colours(image, extractor.work_size, i))
        bank.min_area_fractions = update_min_fractions(bank.min_area_fractions,
                                                       class_area_fractions(target, class_set.num_classes))
        del feats
    ctx.report(1.0, f"{bank.count} training pixels from {len(frames)} frames")
    if bank.count == 0:
        raise ValueError("the training frames hold no labelled pixels for this class set")
    return bank
