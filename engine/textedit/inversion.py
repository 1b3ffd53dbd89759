"""DDIM inversion, then guided regeneration with the target prompt (deterministic, layout-preserving).

The frame's latents are run *up* the noise schedule with diffusers' `DDIMInverseScheduler`, conditioned on a
source prompt (empty by default) without guidance; the resulting noise is then denoised with the ordinary
DDIM scheduler, conditioned on the target prompt with classifier-free guidance. No random noise is drawn, so
the same settings always give the same edit, and because the starting noise encodes the frame, the layout is
kept far better than when sampling from fresh noise. `strength` < 1 inverts only that fraction of the
schedule (a milder, SDEdit-like edit without random noise).
"""
from __future__ import annotations

import torch

from engine.jobs import JobContext
from engine.textedit.blend import LatentBlend
from engine.textedit.diffusion import denoise, guided_noise, make_ddim
from engine.textedit.sd_loader import LoadedSD
from engine.textedit.sdedit import strength_timesteps


@torch.no_grad()
def invert(sd: LoadedSD, latents0: torch.Tensor, source: torch.Tensor, *, steps: int, strength: float,
           ctx: JobContext) -> tuple[torch.Tensor, list]:
    """Noise latents reached by inverting `strength` of the schedule, and the DDIM timesteps that undo it."""
    ddim = make_ddim(sd, steps)
    back = strength_timesteps(ddim, steps, strength)
    n = len(back)
    inverse = make_ddim(sd, steps, inverse=True)
    latents = latents0
    forward = list(inverse.timesteps[:n])
    for i, t in enumerate(forward):
        ctx.check()
        eps = guided_noise(sd, latents, t, source, None, 1.0)
        latents = inverse.step(eps, t, latents).prev_sample
        ctx.report((i + 1) / max(1, n), f"inverting {i + 1}/{n}")
    return latents, list(back)


def invert_and_regenerate(sd: LoadedSD, latents0: torch.Tensor, source: torch.Tensor, cond: torch.Tensor,
                          uncond: torch.Tensor, *, steps: int, strength: float, guidance: float,
                          ctx: JobContext, cell_mask=None, seed: int = 0) -> torch.Tensor:
    """Edited latents for one canvas: invert with `source`, regenerate with `cond` and guidance; with
    `cell_mask` only those latent cells are edited (the rest blended back at every step, noise from `seed`)."""
    noise, back = invert(sd, latents0, source, steps=steps, strength=strength, ctx=ctx.sub(0.0, 0.5))
    if not back:
        return latents0
    sched = make_ddim(sd, steps)
    blend = None if cell_mask is None else LatentBlend(sched, latents0, cell_mask, seed)
    return denoise(sd, sched, noise, back, cond, uncond, guidance, ctx.sub(0.5, 1.0), stage="sampling", blend=blend)
