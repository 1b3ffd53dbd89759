"""Distribution distances between real and synthetic frames: Fréchet distance and KID on image features.

- `frechet_distance(mu1, s1, mu2, s2)`: ||mu1 - mu2||^2 + tr(s1 + s2 - 2 (s1 s2)^(1/2)); the matrix square
  root's trace is computed from the eigenvalues of s1^(1/2) s2 s1^(1/2) (symmetric, numpy only).
- `kid(f1, f2)`: the unbiased squared MMD with the polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged
  over random subsets (Bińkowski et al. 2018); about 0 for two samples of the same distribution.
On Inception v3 pool features these are the standard FID / KID. Those weights cannot be downloaded here, so
without them the distance is computed on mean-pooled decoder features of the project's own diffusion model
(`DiffusionFeatures`) and is reported as the "diffusion-feature distance" -- never as FID: its values are
not comparable with published FID numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

FeatureFn = Callable[[Sequence[np.ndarray]], np.ndarray]  # list of HxWx3 uint8 RGB -> (N, D) features
DIFFUSION_NAME = "diffusion-feature distance"


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of (N, D) features, float64."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"need at least 2 feature vectors as an (N, D) array, got shape {f.shape}")
    return f.mean(0), np.cov(f, rowvar=False)


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """Fréchet distance between the Gaussians N(mu1, s1) and N(mu2, s2)."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(s1, np.float64)), np.atleast_2d(np.asarray(s2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shapes do not match: mu {mu1.shape} / {mu2.shape}, sigma {s1.shape} / {s2.shape}")
    r = _sqrt_psd(s1)
    cross = np.linalg.eigvalsh(r @ s2 @ r)
    tr_sqrt = float(np.sqrt(np.clip(cross, 0, None)).sum())
    diff = mu1 - mu2
    return float(max(0.0, diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt))


def frechet_distance_of_features(x: np.ndarray, y: np.ndarray) -> float:
    """Fréchet distance between the Gaussians fitted to feature sets x (m, D) and y (n, D).

    Equal to `frechet_distance(*feature_stats(x), *feature_stats(y))`, but with s1 = A A^T, s2 = B B^T
    (A, B the centred samples scaled by 1/sqrt(m-1), 1/sqrt(n-1)) tr (s1 s2)^(1/2) is the sum of the singular
    values of A^T B, an m x n matrix: fast and exact when there are fewer samples than dimensions
    (2,048-d Inception features of a few hundred frames)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or len(x) < 2 or len(y) < 2:
        raise ValueError(f"need two (N, D) feature sets with N >= 2 and the same D, got {x.shape} and {y.shape}")
    if min(len(x), len(y)) >= x.shape[1]:
        return frechet_distance(*feature_stats(x), *feature_stats(y))
    a = (x - x.mean(0)) / np.sqrt(len(x) - 1)
    b = (y - y.mean(0)) / np.sqrt(len(y) - 1)
    tr_sqrt = float(np.linalg.svd(a @ b.T, compute_uv=False).sum())
    diff = x.mean(0) - y.mean(0)
    return float(max(0.0, diff @ diff + (a * a).sum() + (b * b).sum() - 2.0 * tr_sqrt))


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased squared MMD of samples x (m, D) and y (n, D) with the cubic polynomial kernel."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError("KID needs at least 2 samples on each side")
    d = x.shape[1]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sxx + syy - 2 * kxy.mean())


def kid(x: np.ndarray, y: np.ndarray, subsets: int = 10, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance (mean, std over subsets) of feature sets x and y."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    size = min(subset_size, len(x), len(y))
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(max(1, subsets)):
        xi = x if size == len(x) else x[rng.choice(len(x), size, replace=False)]
        yi = y if size == len(y) else y[rng.choice(len(y), size, replace=False)]
        vals.append(mmd2_unbiased(xi, yi))
        if size == len(x) == len(y):
            break  # every subset would be the whole set
    return float(np.mean(vals)), float(np.std(vals))


@dataclass
class DistanceResult:
    """A named distance between two image sets."""

    name: str               # "FID" (Inception weights) or "diffusion-feature distance"
    frechet: float
    kid: float
    kid_std: float
    n_real: int
    n_synthetic: int
    features: str           # what the features are

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def distribution_distance(real: Sequence[np.ndarray], synthetic: Sequence[np.ndarray], features: FeatureFn,
                          name: str = DIFFUSION_NAME, feature_info: str = "", batch: int = 16,
                          kid_subset: int = 1000) -> DistanceResult:
    """Fréchet distance and KID between two image lists on the features of `features`."""
    if name == "FID" and "inception" not in feature_info.lower():
        raise ValueError("only distances on Inception v3 features may be called FID")

    def embed(images: Sequence[np.ndarray]) -> np.ndarray:
        return np.concatenate([np.asarray(features(list(images[i:i + batch])), np.float64)
                               for i in range(0, len(images), batch)])

    fr, fs = embed(real), embed(synthetic)
    k, ks = kid(fr, fs, subset_size=kid_subset)
    return DistanceResult(name, frechet_distance_of_features(fr, fs), k, ks, len(fr), len(fs), feature_info)


class DiffusionFeatures:
    """Mean-pooled decoder features of a diffusion UNet (the project's `SpadeUNet2DModel`).

    Each frame is resized to the model size, noised to `timestep` with one fixed seeded noise, and run
    through the unconditional model (null mask); the outputs of every decoder block are averaged over
    space and concatenated -> one vector per frame."""

    def __init__(self, model, scheduler_config: dict | None = None, timestep: int = 100, seed: int = 0):
        import torch
        from diffusers import DDPMScheduler

        self.model = model.eval()
        cfg = {k: v for k, v in (scheduler_config or {}).items() if not k.startswith("_")}
        self.scheduler = DDPMScheduler.from_config(cfg) if cfg else DDPMScheduler(num_train_timesteps=1000)
        ss = model.config.sample_size
        self.size = (int(ss), int(ss)) if isinstance(ss, int) else (int(ss[0]), int(ss[1]))
        self.timestep = int(timestep)
        gen = torch.Generator("cpu").manual_seed(int(seed))
        self._noise = torch.randn((1, int(model.config.in_channels), *self.size), generator=gen)

    @classmethod
    def from_model_dir(cls, model_dir, device: str = "cpu", **kw) -> "DiffusionFeatures":
        """`device`: auto, cpu or cuda (engine.device.pick_device)."""
        from engine.models import load_synthesis_model

        model, sched, _card = load_synthesis_model(model_dir, device=device)
        return cls(model, sched, **kw)

    def __call__(self, images: Sequence[np.ndarray]) -> np.ndarray:
        import cv2
        import torch

        h, w = self.size
        batch = []
        for im in images:
            if im.ndim != 3 or im.shape[2] != 3 or im.dtype != np.uint8:
                raise ValueError(f"expected HxWx3 uint8 RGB images, got {im.dtype} {im.shape}")
            im = cv2.resize(im, (w, h), interpolation=cv2.INTER_AREA) if im.shape[:2] != (h, w) else im
            batch.append(torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1).float() / 127.5 - 1)
        p = next(self.model.parameters())
        x0 = torch.stack(batch)
        t = torch.full((len(batch),), self.timestep, dtype=torch.long)
        xt = self.scheduler.add_noise(x0, self._noise.expand_as(x0), t).to(p.device, p.dtype)
        pooled: list = [None] * len(self.model.up_blocks)

        def hook(i):
            def fn(_m, _inp, out):
                out = out[0] if isinstance(out, (tuple, list)) else out
                pooled[i] = out.float().mean(dim=(2, 3))
            return fn

        handles = [b.register_forward_hook(hook(i)) for i, b in enumerate(self.model.up_blocks)]
        try:
            with torch.no_grad():
                self.model(xt, t.to(p.device))
        finally:
            for hd in handles:
                hd.remove()
        return torch.cat(pooled, dim=1).cpu().numpy()
