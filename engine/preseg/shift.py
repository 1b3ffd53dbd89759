"""Distribution shift: how unlike the training frames a frame's features are.

While a head is trained, a sample of every training frame's pixels is kept (features standardised with
the training pixels' per-channel mean and std) and summarised by `PROTOTYPES` k-means centroids. A frame's
shift score is the mean, over a fixed grid of its pixels, of the distance from each pixel's standardised
features to the nearest centroid (root-mean-square per channel, so in units of the training pixels'
standard deviation). A recoloured or noisy frame, or a frame of another kind of video, has features no
training pixel had and scores higher.

The decoder features respond to colour only weakly, so the score adds `COLOUR_WEIGHT` times the same
kind of distance for the pixels' colours alone: from each grid pixel's CIE Lab colour (L, a, b divided
by 100) to the nearest of `COLOUR_PROTOTYPES` k-means centroids of the training pixels' colours. A
recoloured frame or another camera's colour cast shows up here.

Blur changes the decoder features less than it changes the image, so the score adds how far the frame's
sharpness (mean absolute Laplacian of the grey frame at the working size) lies outside the range of the
training frames' sharpness, in natural-log units times `SHARPNESS_WEIGHT`.

A frame is out of distribution when its score exceeds `threshold` (`SHIFT_THRESHOLD`, chosen on the
phantom tuning draw: docs/adr/0011-preseg-protocol-and-shift.md). The distance is absolute, not relative
to the training frames' own distances: a head trained on frames of one video has tight in-sample
distances, and a relative score then flagged every frame of the next video.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

PROTOTYPES = 64
SAMPLE_PER_FRAME = 1500
GRID_PIXELS = 4096
SHIFT_THRESHOLD = 2.6
SHARPNESS_WEIGHT = 1.0
COLOUR_PROTOTYPES = 32
COLOUR_WEIGHT = 10.0


def colour_sample(image: np.ndarray, size: tuple[int, int], n: int = GRID_PIXELS) -> torch.Tensor:
    """HxWx3 RGB -> (n', 3) float32 CIE Lab / 100 on the same regular grid as `frame_sample` at `size`."""
    import cv2

    h, w = size
    small = image if image.shape[:2] == (h, w) else cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3) / 100.0
    step = max(1, lab.shape[0] // n)
    return torch.from_numpy(np.ascontiguousarray(lab[::step]))


def image_sharpness(image: np.ndarray, size: tuple[int, int]) -> float:
    """Mean absolute Laplacian of the grey frame resized to `size` = (h, w), on the 0..255 scale."""
    import cv2

    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    if grey.shape != tuple(size):
        grey = cv2.resize(grey, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return float(np.abs(cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F)).mean())


def frame_sample(features: torch.Tensor, n: int = GRID_PIXELS) -> torch.Tensor:
    """(C, H, W) -> (n', C) float32: pixels on a fixed regular grid (the same for every frame of a size)."""
    c = features.shape[0]
    flat = features.reshape(c, -1)
    step = max(1, flat.shape[1] // n)
    return flat[:, ::step].T.float()


def _nearest_distance(x: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    d2 = (x * x).sum(1, keepdim=True) - 2 * x @ centroids.T + (centroids * centroids).sum(1)[None]
    return d2.clamp_min(0).min(1).values.div(x.shape[1]).sqrt()


def kmeans(x: torch.Tensor, k: int, iters: int = 15, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    k = min(k, x.shape[0])
    c = x[torch.randperm(x.shape[0], generator=gen)[:k]].clone()
    for _ in range(iters):
        d2 = (x * x).sum(1, keepdim=True) - 2 * x @ c.T + (c * c).sum(1)[None]
        a = d2.argmin(1)
        sums = torch.zeros_like(c).index_add_(0, a, x)
        counts = torch.bincount(a, minlength=k).float()
        moved = counts > 0
        c[moved] = sums[moved] / counts[moved, None]
    return c


@dataclass
class ShiftModel:
    mean: torch.Tensor        # (C,) training pixels' mean
    std: torch.Tensor         # (C,) and std
    centroids: torch.Tensor   # (P, C) in standardised units
    reference: float          # median training-frame mean distance (for information)
    threshold: float
    training_scores: list[float]
    sharpness_range: tuple[float, float] | None = None  # log sharpness of the training frames (min, max)
    colour_centroids: torch.Tensor | None = None        # (Q, 3) Lab / 100

    def parts(self, features: torch.Tensor, image: np.ndarray | None = None) -> dict[str, float]:
        """The score's terms: feature distance, colour distance (weighted), sharpness (weighted)."""
        x = (frame_sample(features) - self.mean) / self.std
        out = {"features": float(_nearest_distance(x, self.centroids).mean()), "colour": 0.0, "sharpness": 0.0}
        if image is None:
            return out
        size = tuple(features.shape[-2:])
        if self.colour_centroids is not None:
            d = _nearest_distance(colour_sample(image, size), self.colour_centroids) * math.sqrt(3)
            out["colour"] = COLOUR_WEIGHT * float(d.mean())
        if self.sharpness_range is not None:
            lo, hi = self.sharpness_range
            ls = float(np.log(max(image_sharpness(image, size), 1e-3)))
            out["sharpness"] = SHARPNESS_WEIGHT * max(0.0, lo - ls, ls - hi)
        return out

    def score(self, features: torch.Tensor, image: np.ndarray | None = None) -> float:
        return float(sum(self.parts(features, image).values()))

    def tensors(self) -> dict[str, torch.Tensor]:
        t = {"shift.mean": self.mean, "shift.std": self.std, "shift.centroids": self.centroids}
        if self.colour_centroids is not None:
            t["shift.colour_centroids"] = self.colour_centroids
        return t

    def to_dict(self) -> dict:
        return {"reference": self.reference, "threshold": self.threshold, "training_scores": self.training_scores,
                "prototypes": int(self.centroids.shape[0]),
                "sharpness_range": None if self.sharpness_range is None else list(self.sharpness_range)}

    @classmethod
    def from_parts(cls, d: dict, tensors: dict[str, torch.Tensor], channels: int) -> "ShiftModel":
        mean, std, cents = (tensors[k].float() for k in ("shift.mean", "shift.std", "shift.centroids"))
        if mean.shape != (channels,) or std.shape != (channels,) or cents.ndim != 2 or cents.shape[1] != channels:
            raise ValueError(f"shift statistics do not have {channels} channels")
        sr = d.get("sharpness_range")
        colours = tensors.get("shift.colour_centroids")
        if colours is not None and (colours.ndim != 2 or colours.shape[1] != 3):
            raise ValueError("colour prototypes must be (Q, 3)")
        return cls(mean, std, cents, float(d["reference"]), float(d["threshold"]),
                   [float(s) for s in d.get("training_scores", [])],
                   None if sr is None else (float(sr[0]), float(sr[1])),
                   None if colours is None else colours.float())


def fit_shift(samples: Sequence[torch.Tensor], sharpness: Sequence[float] | None = None,
              threshold: float = SHIFT_THRESHOLD, seed: int = 0,
              colours: Sequence[torch.Tensor] | None = None) -> ShiftModel:
    """Fit from per-training-frame pixel samples, each (n, C) (`frame_sample` of the frame's features),
    the frames' `image_sharpness` and their `colour_sample`s."""
    if not samples:
        raise ValueError("no training frames to take shift statistics from")
    gen = torch.Generator().manual_seed(seed)
    picked = []
    for s in samples:
        s = s.float()
        idx = torch.randperm(s.shape[0], generator=gen)[:SAMPLE_PER_FRAME]
        picked.append(s[idx])
    allx = torch.cat(picked)
    mean = allx.mean(0)
    std = allx.std(0).clamp_min(1e-3)
    z = (allx - mean) / std
    cents = kmeans(z, PROTOTYPES, seed=seed)
    per_frame = [float(_nearest_distance((s.float() - mean) / std, cents).mean()) for s in samples]
    ref = max(1e-6, float(np.median(per_frame)))
    sr = None
    if sharpness:
        logs = np.log(np.maximum(np.asarray(sharpness, np.float64), 1e-3))
        sr = (float(logs.min()), float(logs.max()))
    col = None
    if colours:
        col = kmeans(torch.cat([c.float() for c in colours]), COLOUR_PROTOTYPES, seed=seed)
    model = ShiftModel(mean, std, cents, ref, float(threshold), [round(p, 4) for p in per_frame], sr, col)
    return model
