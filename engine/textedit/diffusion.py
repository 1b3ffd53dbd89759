"""Shared diffusion steps for the edit methods: image <-> latents, guided UNet calls, the DDIM loop.

Everything is written on diffusers' maintained building blocks (DDIMScheduler, UNet2DConditionModel,
AutoencoderKL). Noise comes from a CPU `torch.Generator` seeded per image, so a seed gives the same edit on
every device. CUDA out-of-memory errors are turned into `TextEditMemoryError` with advice.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Optional

import numpy as np
import torch

from engine.jobs import JobContext
from engine.textedit.sd_loader import LoadedSD


class TextEditMemoryError(RuntimeError):
    """The GPU ran out of memory; the message suggests what to change."""


OOM_ADVICE = ("the GPU ran out of memory while editing. Try LoRA fine-tuning instead of full fine-tuning "
              "(--tune lora, needs the peft package), a lower --resolution (e.g. 384x256), fewer tiles "
              "(framing 'pad'), or run on the CPU (--device cpu; slower but not limited by GPU memory). "
              "Closing other programs that use the GPU also helps.")


RAM_ADVICE = ("the computer ran out of memory (RAM) while editing. Try LoRA fine-tuning instead of full "
              "fine-tuning (--tune lora), a lower --resolution, or 'pad' framing; close other programs.")


@contextlib.contextmanager
def oom_guard() -> Iterator[None]:
    """Re-raise GPU or RAM exhaustion as TextEditMemoryError with advice (other errors pass through)."""
    try:
        yield
    except torch.cuda.OutOfMemoryError as exc:
        _free_cuda()
        raise TextEditMemoryError(OOM_ADVICE) from exc
    except RuntimeError as exc:
        text = str(exc).lower()
        if isinstance(exc, TextEditMemoryError):
            raise
        if "out of memory" in text:
            _free_cuda()
            raise TextEditMemoryError(OOM_ADVICE) from exc
        if "not enough memory" in text or "can't allocate memory" in text:
            raise TextEditMemoryError(RAM_ADVICE) from exc
        raise


def _free_cuda() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def image_to_tensor(image: np.ndarray, sd: LoadedSD) -> torch.Tensor:
    """HxWx3 uint8 RGB -> (1, 3, H, W) in [-1, 1] on the model's device and dtype."""
    t = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 127.5 - 1.0
    return t.to(sd.device, dtype=sd.dtype)


def tensor_to_image(t: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) in [-1, 1] -> HxWx3 uint8 RGB."""
    arr = ((t[0].float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return arr.permute(1, 2, 0).cpu().numpy()


@torch.no_grad()
def encode(sd: LoadedSD, image: np.ndarray) -> torch.Tensor:
    """Latents of an image (the posterior mean, so encoding is deterministic), scaled as SD expects."""
    dist = sd.vae.encode(image_to_tensor(image, sd)).latent_dist
    return dist.mean * sd.latent_scale


@torch.no_grad()
def decode(sd: LoadedSD, latents: torch.Tensor) -> np.ndarray:
    return tensor_to_image(sd.vae.decode(latents / sd.latent_scale).sample)


def make_generator(seed: int) -> torch.Generator:
    return torch.Generator("cpu").manual_seed(int(seed))


def randn_like(latents: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Gaussian noise drawn on the CPU (device-independent for a seed), moved to the latents' device."""
    return torch.randn(latents.shape, generator=generator, dtype=torch.float32).to(latents.device, latents.dtype)


def make_ddim(sd: LoadedSD, steps: int, inverse: bool = False):
    """A DDIM (or, with `inverse`, DDIM-inversion) scheduler from the model's scheduler config, with `steps`
    inference steps set."""
    from diffusers import DDIMInverseScheduler, DDIMScheduler

    cfg = dict(sd.scheduler_config)
    cfg.setdefault("steps_offset", 1)
    cfg["clip_sample"] = False
    sched = (DDIMInverseScheduler if inverse else DDIMScheduler).from_config(cfg)
    sched.set_timesteps(int(steps), device=sd.device)
    return sched


def guided_noise(sd: LoadedSD, latents: torch.Tensor, t, cond: torch.Tensor, uncond: Optional[torch.Tensor],
                 guidance: float) -> torch.Tensor:
    """The UNet's prediction with classifier-free guidance (one batched forward for cond + uncond)."""
    if uncond is None or guidance == 1.0:
        return sd.unet(latents, t, encoder_hidden_states=cond.to(sd.dtype)).sample
    both = sd.unet(torch.cat([latents, latents]), t,
                   encoder_hidden_states=torch.cat([uncond, cond]).to(sd.dtype)).sample
    eps_u, eps_c = both.chunk(2)
    return eps_u + guidance * (eps_c - eps_u)


@torch.no_grad()
def denoise(sd: LoadedSD, scheduler, latents: torch.Tensor, timesteps, cond: torch.Tensor,
            uncond: Optional[torch.Tensor], guidance: float, ctx: JobContext, stage: str = "sampling",
            generator: Optional[torch.Generator] = None, blend: Optional[Callable] = None) -> torch.Tensor:
    """Run the scheduler's reverse steps over `timesteps`; ctx.check() between steps.

    `blend(latents, t_next)` (engine.textedit.blend.LatentBlend), when given, runs after every step with the
    timestep the latents have reached (None after the last): a region-restricted edit.
    Progress messages read "<stage> i/n" (e.g. "sampling 3/50"): the app shows the part before the count.
    """
    timesteps = list(timesteps)
    for i, t in enumerate(timesteps):
        ctx.check()
        eps = guided_noise(sd, scheduler.scale_model_input(latents, t), t, cond, uncond, guidance)
        latents = scheduler.step(eps, t, latents, eta=0.0, generator=generator).prev_sample
        if blend is not None:
            latents = blend(latents, timesteps[i + 1] if i + 1 < len(timesteps) else None)
        ctx.report((i + 1) / len(timesteps), f"{stage} {i + 1}/{len(timesteps)}")
    return latents
