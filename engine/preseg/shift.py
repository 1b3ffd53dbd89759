"""Distribution shift: how unlike the training frames a frame is, in four separate respects.

While a head is trained, a sample of every training frame's pixels is kept (features standardised with
the training pixels' per-channel mean and std) and summarised by `PROTOTYPES` k-means centroids. The
score has four parts:

- **features**: the mean, over a fixed grid of the frame's pixels, of the distance from each pixel's
  standardised features to the nearest centroid (root-mean-square per channel, so in units of the
  training pixels' standard deviation). A noisy frame or another kind of video has features no training
  pixel had.
- **colour**: the decoder features respond to colour only weakly, so the median over the grid pixels of
  `COLOUR_WEIGHT` times the same kind of distance for their CIE Lab colours alone (L, a, b divided by
  100), to `COLOUR_PROTOTYPES` k-means centroids. The centroids are fitted on the training frames AND on `CAMERA_COPIES` copies of each
  as another camera would have taken it (`camera_copy`: white balance, exposure and saturation within
  `CAMERA_VARIATION`), so the next video's colour cast is not news, a channel swap or a hue shift is.
- **balance**: a frame's overall colour balance, its mean chroma (Lab a, b / 100, times `COLOUR_WEIGHT`),
  against the nearest of the training frames' and their camera copies' means: a frame with its colour
  channels swapped can keep most pixels' colours (a white cornea stays white) but not its balance.
- **sharpness**: how far (natural-log units) the frame's sharpness (mean absolute Laplacian of the grey
  frame at the working size) lies outside the range of the training frames' sharpness.

A frame is out of distribution when ANY part exceeds its limit (`SHIFT_LIMITS`); the score is the
largest part as a fraction of its limit, so 1.0 is the threshold. A sum of the parts (the rule before)
flagged a third of the next realistic video's frames, which are a little off in colour and in features
at once, while each unlike frame is far off in one part. Limits chosen on the phantom tuning draw:
docs/adr/0011-preseg-protocol-and-shift.md. The distances are absolute, not relative to the training
frames' own distances: a head trained on frames of one video has tight in-sample distances, and a
relative score then flagged every frame of the next video.

Heads saved before the limits existed keep the sum rule and their own threshold.
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
SHARPNESS_WEIGHT = 1.0
COLOUR_PROTOTYPES = 32
COLOUR_WEIGHT = 10.0
#: per-part limits (features, colour, sharpness); a frame beyond any one is out of distribution
SHIFT_LIMITS = {"features": 1.6, "colour": 1.3, "sharpness": 0.5, "balance": 1.0}
#: how another camera may differ: per-channel white-balance gain 1 +- wb, exposure x exp(+-exposure),
#: saturation x (1 +- saturation)
CAMERA_VARIATION = {"wb": 0.20, "exposure": math.log(1.4), "saturation": 0.30}
CAMERA_COPIES = 6


def colour_sample(image: np.ndarray, size: tuple[int, int], n: int = GRID_PIXELS) -> torch.Tensor:
    """HxWx3 RGB -> (n', 3) float32 CIE Lab / 100 on the same regular grid as `frame_sample` at `size`."""
    import cv2

    h, w = size
    small = image if image.shape[:2] == (h, w) else cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3) / 100.0
    step = max(1, lab.shape[0] // n)
    return torch.from_numpy(np.ascontiguousarray(lab[::step]))


def camera_copy(image: np.ndarray, rng: np.random.Generator, variation: dict[str, float] = CAMERA_VARIATION
                ) -> np.ndarray:
    """The frame as another camera or exposure might have taken it: HxWx3 uint8 -> the same."""
    x = image.astype(np.float32) / 255.0
    x = x * rng.uniform(1 - variation["wb"], 1 + variation["wb"], 3).astype(np.float32)[None, None]
    x = x * float(math.exp(rng.uniform(-variation["exposure"], variation["exposure"])))
    grey = x.mean(axis=2, keepdims=True)
    x = grey + (x - grey) * float(rng.uniform(1 - variation["saturation"], 1 + variation["saturation"]))
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def training_colours(image: np.ndarray, size: tuple[int, int], seed: int = 0,
                     copies: int = CAMERA_COPIES) -> torch.Tensor:
    """(1 + copies, n, 3): a training frame's colour sample (`colour_sample`) and those of `copies` camera
    copies of it: what a head's colour prototypes and colour balances are fitted on."""
    import cv2

    h, w = size
    small = image if image.shape[:2] == (h, w) else cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(seed)
    return torch.stack([colour_sample(small, size)] + [colour_sample(camera_copy(small, rng), size)
                                                       for _ in range(copies)])


def _balance(lab: torch.Tensor) -> torch.Tensor:
    """(..., n, 3) Lab / 100 -> (..., 2): the mean chroma (a, b), a frame's overall colour balance."""
    return lab[..., 1:].mean(-2)


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
    limits: dict[str, float] | None = None              # per-part limits; None: the sum rule and `threshold`
    balances: torch.Tensor | None = None                # (F, 2) mean chroma of training frames and copies

    def parts(self, features: torch.Tensor, image: np.ndarray | None = None) -> dict[str, float]:
        """The score's terms: feature distance, colour distance (weighted), sharpness (weighted) and, for
        heads with limits, colour balance (weighted)."""
        x = (frame_sample(features[:self.mean.shape[0]]) - self.mean) / self.std
        out = {"features": float(_nearest_distance(x, self.centroids).mean()), "colour": 0.0, "sharpness": 0.0}
        if self.limits is not None:
            out["balance"] = 0.0
        if image is None:
            return out
        size = tuple(features.shape[-2:])
        lab = colour_sample(image, size) if self.balances is not None or self.colour_centroids is not None else None
        if self.balances is not None and self.limits is not None:
            out["balance"] = COLOUR_WEIGHT * float(torch.cdist(_balance(lab)[None], self.balances).min())
        if self.colour_centroids is not None:
            d = self.colour_distances(image, size, lab)
            # the median: a frame half of whose pixels have colours no training frame had is shifted, even
            # where the rest (a white cornea, say) matches; heads of the sum rule used the mean
            out["colour"] = float(d.mean() if self.limits is None else d.median())
        if self.sharpness_range is not None:
            lo, hi = self.sharpness_range
            ls = float(np.log(max(image_sharpness(image, size), 1e-3)))
            out["sharpness"] = SHARPNESS_WEIGHT * max(0.0, lo - ls, ls - hi)
        return out

    def colour_distances(self, image: np.ndarray, size: tuple[int, int], lab: torch.Tensor | None = None
                         ) -> torch.Tensor:
        """Per grid pixel, `COLOUR_WEIGHT` x the distance of its Lab colour (`lab`: the frame's
        `colour_sample`, made here when not given) to the nearest colour prototype."""
        lab = colour_sample(image, size) if lab is None else lab
        return _nearest_distance(lab, self.colour_centroids) * (math.sqrt(3) * COLOUR_WEIGHT)

    def assess(self, features: torch.Tensor, image: np.ndarray | None = None) -> tuple[float, str]:
        """(score, the part that decides it): the largest part as a fraction of its limit (out of
        distribution above `threshold` = 1); for heads without limits, the sum of the parts."""
        parts = self.parts(features, image)
        if self.limits is None:
            return float(sum(parts.values())), max(parts, key=parts.get)
        ratios = {k: v / self.limits[k] for k, v in parts.items()}
        part = max(ratios, key=ratios.get)
        return float(ratios[part]), part

    def score(self, features: torch.Tensor, image: np.ndarray | None = None) -> float:
        return self.assess(features, image)[0]

    def tensors(self) -> dict[str, torch.Tensor]:
        t = {"shift.mean": self.mean, "shift.std": self.std, "shift.centroids": self.centroids}
        if self.colour_centroids is not None:
            t["shift.colour_centroids"] = self.colour_centroids
        if self.balances is not None:
            t["shift.balances"] = self.balances
        return t

    def to_dict(self) -> dict:
        return {"reference": self.reference, "threshold": self.threshold, "training_scores": self.training_scores,
                "prototypes": int(self.centroids.shape[0]), "limits": self.limits,
                "sharpness_range": None if self.sharpness_range is None else list(self.sharpness_range)}

    @classmethod
    def from_parts(cls, d: dict, tensors: dict[str, torch.Tensor], channels: int) -> "ShiftModel":
        mean, std, cents = (tensors[k].float() for k in ("shift.mean", "shift.std", "shift.centroids"))
        c = int(mean.shape[0]) if mean.ndim == 1 else -1
        if not 0 < c <= channels or std.shape != (c,) or cents.ndim != 2 or cents.shape[1] != c:
            raise ValueError(f"shift statistics must have the same 1..{channels} channels in mean, std and prototypes")
        sr = d.get("sharpness_range")
        colours = tensors.get("shift.colour_centroids")
        if colours is not None and (colours.ndim != 2 or colours.shape[1] != 3):
            raise ValueError("colour prototypes must be (Q, 3)")
        balances = tensors.get("shift.balances")
        if balances is not None and (balances.ndim != 2 or balances.shape[1] != 2 or balances.shape[0] < 1):
            raise ValueError("colour balances must be (F, 2)")
        limits = d.get("limits")
        if limits is not None and (not isinstance(limits, dict) or set(limits) != set(SHIFT_LIMITS)
                                   or not all(isinstance(v, (int, float)) and v > 0 for v in limits.values())):
            raise ValueError(f"shift limits must give a positive number for each of {', '.join(SHIFT_LIMITS)}")
        return cls(mean, std, cents, float(d["reference"]), float(d["threshold"]),
                   [float(s) for s in d.get("training_scores", [])],
                   None if sr is None else (float(sr[0]), float(sr[1])),
                   None if colours is None else colours.float(),
                   None if limits is None else {k: float(v) for k, v in limits.items()},
                   None if balances is None else balances.float())


def fit_shift(samples: Sequence[torch.Tensor], sharpness: Sequence[float] | None = None,
              limits: dict[str, float] | None = None, seed: int = 0,
              colours: Sequence[torch.Tensor] | None = None) -> ShiftModel:
    """Fit from per-training-frame pixel samples, each (n, C) (`frame_sample` of the frame's features),
    the frames' `image_sharpness` and their `training_colours`; `limits` default to `SHIFT_LIMITS`."""
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
    col = bal = None
    if colours:
        variants = [c.float().reshape(-1, *c.shape[-2:]) for c in colours]  # each (V, n, 3)
        col = kmeans(torch.cat([v.reshape(-1, 3) for v in variants]), COLOUR_PROTOTYPES, seed=seed)
        bal = torch.cat([_balance(v) for v in variants])
    limits = dict(limits or SHIFT_LIMITS)
    # the training frames' scores on the feature part, in the score's units (their other parts are ~0)
    return ShiftModel(mean, std, cents, ref, 1.0, [round(p / limits["features"], 4) for p in per_frame], sr, col,
                      limits, bal)

