"""SDEdit (Meng et al., ICLR 2022): noise the frame's latents part of the way, then denoise with the prompt.

`strength` in [0, 1] is how far into the noise schedule the frame is pushed: 0 returns the frame (after a
VAE round trip), 1 ignores it. Low strength (0.3-0.5) keeps the layout and changes colour, lighting and
texture; the label stays valid. Fast: one partial DDIM run, no optimisation.
"""
from __future__ import annotations

import torch

from engine.jobs import JobContext
from engine.textedit.blend import LatentBlend
from engine.textedit.diffusion import denoise, make_ddim, make_generator, randn_like
from engine.textedit.sd_loader import LoadedSD


def strength_timesteps(sched, steps: int, strength: float):
    """The tail of the scheduler's timesteps that a run at `strength` goes through (may be empty)."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be between 0 and 1, got {strength}")
    n = min(int(round(steps * strength)), steps)
    return sched.timesteps[steps - n:] if n > 0 else sched.timesteps[:0]


def sdedit(sd: LoadedSD, latents0: torch.Tensor, cond: torch.Tensor, uncond: torch.Tensor, *, strength: float,
           steps: int, guidance: float, seed: int, ctx: JobContext, cell_mask=None) -> torch.Tensor:
    """Edited latents for one canvas; with `cell_mask` (latent grid, True = editable) only those cells are
    edited, the rest blended back at every step (engine.textedit.blend)."""
    sched = make_ddim(sd, steps)
    timesteps = strength_timesteps(sched, steps, strength)
    if len(timesteps) == 0:
        ctx.report(1.0, "sampling: strength 0, nothing to do")
        return latents0
    gen = make_generator(seed)
    noise = randn_like(latents0, gen)
    noisy = sched.add_noise(latents0, noise, timesteps[:1])
    blend = None if cell_mask is None else LatentBlend(sched, latents0, cell_mask, seed, noise=noise)
    return denoise(sd, sched, noisy, timesteps, cond, uncond, guidance, ctx, stage="sampling", blend=blend)
