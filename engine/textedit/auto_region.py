"""A region proposed by the prompt (DiffEdit, Couairon et al., ICLR 2023), snapped to the frame's classes.

The frame's latents are noised to half the schedule several times; for each draw the UNet predicts the
noise once conditioned on the SOURCE prompt (what the frame shows; empty by default) and once on the TARGET
prompt. Where the two estimates differ the prompt wants a change. The mean absolute difference over draws
and channels is scaled to [0, 1] over the frame and cut at 0.5 (DiffEdit's threshold). The user edits in
label terms, so the proposal is a set of classes: every class of the frame with at least half of its pixels
in that mask. The dock shows the heat map and the proposed classes before anything is edited.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np
import torch

from engine.jobs import JobContext
from engine.taxonomy import IGNORE
from engine.textedit.diffusion import encode, make_ddim, make_generator, oom_guard, randn_like
from engine.textedit.framing import Framing
from engine.textedit.region import class_names
from engine.textedit.sd_loader import LoadedSD
from engine.textedit.sdedit import strength_timesteps

AUTO_STRENGTH = 0.5    # noise level of the estimates (DiffEdit)
AUTO_DRAWS = 10        # noise draws averaged (DiffEdit uses 10)
AUTO_THRESHOLD = 0.5   # cut of the normalised difference (DiffEdit)
CLASS_SHARE = 0.5      # a class is proposed when at least this share of its pixels is in the mask


@dataclass
class AutoRegion:
    """The prompt-derived proposal for one frame."""

    heat: np.ndarray                 # HxW float32 in [0, 1]: normalised noise-estimate difference
    mask: np.ndarray                 # HxW bool: heat >= AUTO_THRESHOLD
    classes: tuple[int, ...]         # proposed classes (share of their pixels in the mask >= CLASS_SHARE)
    shares: dict[int, float]         # every class present: share of its pixels in the mask
    source_prompt: str = ""

    def record(self) -> dict:
        return {"method": "diffedit", "source_prompt": self.source_prompt, "strength": AUTO_STRENGTH,
                "draws": AUTO_DRAWS, "threshold": AUTO_THRESHOLD, "class_share": CLASS_SHARE,
                "proposed": list(self.classes), "proposed_names": class_names(self.classes),
                "mask_share": round(float(self.mask.mean()), 6)}


@torch.no_grad()
def noise_difference(sd: LoadedSD, latents0: torch.Tensor, source: torch.Tensor, target: torch.Tensor, *,
                     seed: int, draws: int = AUTO_DRAWS, strength: float = AUTO_STRENGTH,
                     ctx: Optional[JobContext] = None) -> np.ndarray:
    """Mean |eps(target) - eps(source)| over draws and channels, on the latent grid (h, w) float32."""
    ctx = ctx or JobContext()
    steps = 50
    sched = make_ddim(sd, steps)
    t = strength_timesteps(sched, steps, strength)[0]
    gen = make_generator(seed)
    acc = torch.zeros(latents0.shape[-2:], dtype=torch.float32, device=latents0.device)
    conds = torch.cat([source, target]).to(sd.dtype)
    for k in range(draws):
        ctx.check()
        noisy = sched.add_noise(latents0, randn_like(latents0, gen), t.reshape(1))
        eps_s, eps_t = sd.unet(torch.cat([noisy, noisy]), t, encoder_hidden_states=conds).sample.chunk(2)
        acc += (eps_t.float() - eps_s.float()).abs().mean(dim=1)[0]
        ctx.report((k + 1) / draws, f"proposing the region {k + 1}/{draws}")
    return acc.cpu().numpy()


def propose_region(sd: LoadedSD, image: np.ndarray, label: np.ndarray, prompt: str, plan: Framing, *,
                   source_prompt: str = "", seed: int = 0, draws: int = AUTO_DRAWS,
                   ctx: Optional[JobContext] = None) -> AutoRegion:
    """The DiffEdit region of `prompt` on `image` (framed by `plan`) and the classes of `label` it covers."""
    ctx = ctx or JobContext()
    if label.shape != image.shape[:2]:
        raise ValueError(f"label is {label.shape} but the frame is {image.shape[:2]}")
    canvases = plan.split(image)
    maps = []
    with oom_guard():
        target, source = sd.encode_prompt(prompt), sd.encode_prompt(source_prompt)
        for k, canvas in enumerate(canvases):
            diff = noise_difference(sd, encode(sd, canvas), source, target, seed=seed + 7919 * k, draws=draws,
                                    ctx=ctx.sub(k / len(canvases), (k + 1) / len(canvases)))
            maps.append(cv2.resize(diff, (canvas.shape[1], canvas.shape[0]), interpolation=cv2.INTER_LINEAR))
    top = max(float(m.max()) for m in maps)
    lo = min(float(m.min()) for m in maps)
    span = top - lo if top > lo else 1.0
    as_u8 = [np.repeat(np.clip(np.rint((m - lo) / span * 255), 0, 255).astype(np.uint8)[..., None], 3, axis=2)
             for m in maps]
    heat = plan.merge(as_u8)[..., 0].astype(np.float32) / 255.0
    mask = heat >= AUTO_THRESHOLD
    shares = {}
    for cid in np.unique(label):
        if cid == IGNORE:
            continue
        px = label == cid
        shares[int(cid)] = round(float(mask[px].mean()), 4)
    classes = tuple(sorted(c for c, s in shares.items() if s >= CLASS_SHARE))
    ctx.report(1.0, "region proposed")
    return AutoRegion(heat, mask, classes, shares, source_prompt)
