"""Latent blending at every denoising step (Blended Latent Diffusion, Avrahami et al. 2023; RePaint, Lugmayr
et al. 2022): the region outside the edit is replaced after each step by the frame's own latents noised to
the level the sampler has reached, so the model denoises the edited part in the context of the real
surroundings and the seam is harmonised while the image forms, not pasted on afterwards. After the last step
the known part is the frame's clean latents; `EditRegion.composite` then copies the input's exact bytes
outside the region.

The known part is noised with one fixed draw per run (seeded), which keeps a DDIM trajectory (eta = 0)
consistent from step to step.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from engine.textedit.diffusion import make_generator, randn_like

BLEND_SEED_OFFSET = 104729  # the known region's noise is drawn apart from the sampling noise


def latent_mask(canvas_mask: np.ndarray, latent_hw: tuple[int, int]) -> np.ndarray:
    """HxW canvas mask (True = editable) -> latent-grid mask: a cell is editable if ANY of its pixels is
    (the edited part is never smaller than the region)."""
    h, w = latent_hw
    H, W = canvas_mask.shape
    fy, fx = H // h, W // w
    if fy * h != H or fx * w != W:
        raise ValueError(f"canvas {W}x{H} is not a whole number of {w}x{h} latent cells")
    return canvas_mask.reshape(h, fy, w, fx).any(axis=(1, 3))


class LatentBlend:
    """Callable `(latents, t) -> latents` run after each step: editable cells kept, the rest replaced by
    the frame's latents noised to timestep `t` (t None = clean, after the last step)."""

    def __init__(self, scheduler, latents0: torch.Tensor, cell_mask: np.ndarray, seed: int,
                 noise: Optional[torch.Tensor] = None):
        self.scheduler = scheduler
        self.latents0 = latents0
        m = torch.from_numpy(np.ascontiguousarray(cell_mask, dtype=np.float32))[None, None]
        self.mask = m.to(latents0.device, latents0.dtype)
        self.noise = noise if noise is not None else randn_like(latents0, make_generator(seed + BLEND_SEED_OFFSET))
        self.calls = 0

    def known(self, t) -> torch.Tensor:
        if t is None:
            return self.latents0
        ts = torch.as_tensor(t, device=self.latents0.device).reshape(1)
        return self.scheduler.add_noise(self.latents0, self.noise, ts)

    def __call__(self, latents: torch.Tensor, t) -> torch.Tensor:
        self.calls += 1
        return self.mask * latents + (1.0 - self.mask) * self.known(t)
