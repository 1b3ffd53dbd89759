"""Imagic-style editing (Kawar et al., CVPR 2023) written on diffusers building blocks.

1. **Embedding optimisation**: start from the target text's embedding `e_text` and optimise it (Adam,
   `opt_steps` steps at `opt_lr`, UNet frozen) so that the model denoises the frame's latents with it:
   the result `e_opt` "describes" this very frame.
2. **Fine-tuning**: with `e_opt` fixed, fine-tune the UNet briefly (`tune_steps` at `tune_lr`) on the same
   denoising loss so it reconstructs the frame even better: either all weights ("full") or a LoRA adapter on
   the attention projections ("lora", needs `peft`; small to store, far less GPU memory).
3. **Sampling**: for each α, the embedding `interpolate(e_opt, e_text, α, lerp|slerp)` drives a DDIM run
   from noise with the fine-tuned UNet and classifier-free guidance.

Steps 1 and 2 are the expensive part; `ImagicState` holds their outcome so it can be cached and a new α or
seed costs one sampling run. The shared UNet is never left modified: tuned weights are swapped in only
inside `tuned_unet(...)`.
"""
from __future__ import annotations

import contextlib
import importlib.util
from dataclasses import dataclass, field
from typing import Iterator

import torch
import torch.nn.functional as F

from engine.jobs import JobContext
from engine.textedit.blend import LatentBlend
from engine.textedit.diffusion import denoise, make_ddim, make_generator, randn_like
from engine.textedit.embeddings import interpolate
from engine.textedit.sd_loader import LoadedSD

TUNE_MODES = ("auto", "lora", "full")
ADAPTER = "cadis_imagic"
LORA_TARGETS = ["to_k", "to_q", "to_v", "to_out.0"]


def peft_available() -> bool:
    return importlib.util.find_spec("peft") is not None


def resolve_tune_mode(mode: str) -> str:
    """"auto" -> "lora" when peft is installed, else "full"; "lora" without peft is a clear error."""
    if mode not in TUNE_MODES:
        raise ValueError(f"unknown fine-tuning mode {mode!r}: use {', '.join(TUNE_MODES)}")
    if mode == "auto":
        return "lora" if peft_available() else "full"
    if mode == "lora" and not peft_available():
        raise ValueError("LoRA fine-tuning needs the peft package (pip install peft); or use --tune full")
    return mode


@dataclass
class ImagicState:
    """What steps 1 and 2 produced for one frame canvas (tensors on the CPU, float32)."""

    embedding: torch.Tensor                      # e_opt, (1, 77, D)
    unet_weights: dict[str, torch.Tensor]        # tuned parameters (LoRA adapter or full UNet); may be empty
    tune_mode: str                               # "lora" or "full"
    lora_rank: int = 4
    opt_steps_run: int = 0                       # optimiser steps actually run (0 when loaded from cache)
    tune_steps_run: int = 0
    losses: dict = field(default_factory=dict)   # last loss of each stage, for provenance


def _norm(name: str) -> str:
    """Parameter names without peft's wrapper segment, stable whether or not a layer was ever wrapped."""
    return name.replace(".base_layer", "")


def _denoising_loss(sd: LoadedSD, sched, latents0: torch.Tensor, emb: torch.Tensor,
                    gen: torch.Generator) -> torch.Tensor:
    """The training loss of diffusion models at one random timestep, for the model's prediction type."""
    t = torch.randint(0, sched.config.num_train_timesteps, (1,), generator=gen).to(sd.device)
    noise = randn_like(latents0, gen)
    noisy = sched.add_noise(latents0, noise, t)
    pred = sd.unet(noisy, t, encoder_hidden_states=emb.to(sd.dtype)).sample
    kind = sd.prediction_type
    if kind == "epsilon":
        target = noise
    elif kind == "v_prediction":
        target = sched.get_velocity(latents0, noise, t)
    elif kind == "sample":
        target = latents0
    else:
        raise ValueError(f"unsupported prediction type {kind!r} in the scheduler config")
    return F.mse_loss(pred.float(), target.float())


def optimise_embedding(sd: LoadedSD, latents0: torch.Tensor, e_text: torch.Tensor, steps: int, lr: float,
                       seed: int, ctx: JobContext) -> tuple[torch.Tensor, float]:
    """Step 1: the embedding that reconstructs the frame; returns (e_opt on CPU float32, last loss)."""
    sched = make_ddim(sd, 10)
    gen = make_generator(seed)
    emb = e_text.detach().float().clone().requires_grad_(True)
    loss_v = _adam_loop(sd, sched, latents0, emb, gen, [emb], lr, steps, "optimising embedding", ctx)
    return emb.detach().cpu(), loss_v


def _adam_loop(sd: LoadedSD, sched, latents0: torch.Tensor, emb: torch.Tensor, gen, params: list, lr: float,
               steps: int, stage: str, ctx: JobContext) -> float:
    """`steps` Adam steps on `params` minimising the denoising loss; cancel is checked before each step.
    Progress messages are "<stage> i/n" (the desktop splits on that form)."""
    opt = torch.optim.Adam(params, lr=lr)
    loss_v = float("nan")
    with torch.enable_grad():
        for i in range(steps):
            ctx.check()
            loss = _denoising_loss(sd, sched, latents0, emb, gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_v = float(loss.detach())
            ctx.report((i + 1) / steps, f"{stage} {i + 1}/{steps}")
    return loss_v


def fine_tune(sd: LoadedSD, latents0: torch.Tensor, e_opt: torch.Tensor, steps: int, lr: float, mode: str,
              rank: int, seed: int, ctx: JobContext) -> tuple[dict[str, torch.Tensor], float]:
    """Step 2: tune the UNet on the frame with `e_opt` fixed; returns (tuned weights on CPU, last loss).

    The shared UNet is restored before returning (also on cancel or error).
    """
    if steps <= 0:
        return {}, float("nan")
    if mode == "full" and sd.dtype != torch.float32:
        raise ValueError("full fine-tuning needs fp32 weights: load the model in fp32 or use LoRA")
    sched = make_ddim(sd, 10)
    gen = make_generator(seed + 1)
    emb = e_opt.to(sd.device)
    unet = sd.unet
    backup = None
    try:
        if mode == "lora":
            _add_adapter(sd, rank)
            params = {n: p for n, p in unet.named_parameters() if f".{ADAPTER}." in n}
        else:
            backup = {n: p.detach().clone() for n, p in unet.named_parameters()}
            params = dict(unet.named_parameters())
        for p in params.values():
            p.requires_grad_(True)
        loss_v = _adam_loop(sd, sched, latents0, emb, gen, list(params.values()), lr, steps, "fine-tuning", ctx)
        tuned = {_norm(n): p.detach().float().cpu().clone() for n, p in params.items()}
        return tuned, loss_v
    finally:
        if mode == "lora":
            _remove_adapter(sd)
        elif backup is not None:
            with torch.no_grad():
                for n, p in unet.named_parameters():
                    p.copy_(backup[n])
        unet.requires_grad_(False)


def _add_adapter(sd: LoadedSD, rank: int) -> None:
    from peft import LoraConfig

    _remove_adapter(sd)
    cfg = LoraConfig(r=rank, lora_alpha=rank, init_lora_weights=True, target_modules=LORA_TARGETS)
    sd.unet.add_adapter(cfg, adapter_name=ADAPTER)


def _remove_adapter(sd: LoadedSD) -> None:
    peft_cfg = getattr(sd.unet, "peft_config", None) or {}
    if ADAPTER in peft_cfg:
        sd.unet.delete_adapters(ADAPTER)


@contextlib.contextmanager
def tuned_unet(sd: LoadedSD, state: ImagicState) -> Iterator[None]:
    """Swap the tuned weights into the shared UNet for the duration of the block, then restore it."""
    if not state.unet_weights:
        yield
        return
    unet = sd.unet
    if state.tune_mode == "lora":
        _add_adapter(sd, state.lora_rank)
        try:
            _load_named(unet, state.unet_weights, only_adapter=True)
            yield
        finally:
            _remove_adapter(sd)
        return
    backup = {n: p.detach().clone() for n, p in unet.named_parameters()}
    try:
        _load_named(unet, state.unet_weights, only_adapter=False)
        yield
    finally:
        with torch.no_grad():
            for n, p in unet.named_parameters():
                p.copy_(backup[n])


def _load_named(unet, weights: dict[str, torch.Tensor], only_adapter: bool) -> None:
    params = {_norm(n): p for n, p in unet.named_parameters() if not only_adapter or f".{ADAPTER}." in n}
    missing = sorted(set(params) - set(weights))
    extra = sorted(set(weights) - set(params))
    if missing or extra:
        raise ValueError(f"cached fine-tuned weights do not fit this UNet ({len(missing)} missing, "
                         f"{len(extra)} unexpected, e.g. {(missing or extra)[0]}); delete the cache folder")
    with torch.no_grad():
        for n, p in params.items():
            p.copy_(weights[n].to(p.device, p.dtype))


def prepare(sd: LoadedSD, latents0: torch.Tensor, e_text: torch.Tensor, *, opt_steps: int, opt_lr: float,
            tune_steps: int, tune_lr: float, tune_mode: str, lora_rank: int, seed: int,
            ctx: JobContext) -> ImagicState:
    """Steps 1 and 2 for one canvas, with stage progress "optimising embedding" then "fine-tuning"."""
    work = max(1, opt_steps + tune_steps)
    e_opt, l1 = optimise_embedding(sd, latents0, e_text, opt_steps, opt_lr, seed, ctx.sub(0.0, opt_steps / work))
    weights, l2 = fine_tune(sd, latents0, e_opt, tune_steps, tune_lr, tune_mode, lora_rank, seed,
                            ctx.sub(opt_steps / work, 1.0))
    return ImagicState(e_opt, weights, tune_mode, lora_rank, opt_steps_run=opt_steps, tune_steps_run=tune_steps,
                       losses={"embedding": l1, "fine_tuning": l2})


def sample(sd: LoadedSD, state: ImagicState, e_text: torch.Tensor, uncond: torch.Tensor, alpha: float,
           interp: str, steps: int, guidance: float, seed: int, latent_shape: tuple, ctx: JobContext,
           latents0: torch.Tensor | None = None, cell_mask=None) -> torch.Tensor:
    """Step 3 for one α: DDIM from the seed's noise with the interpolated embedding and the tuned UNet.
    With `cell_mask` (and the frame's `latents0`) only those latent cells are sampled; the rest start from
    and are blended back to the frame's noised latents at every step (engine.textedit.blend)."""
    emb = interpolate(state.embedding.to(sd.device), e_text.float(), alpha, interp)
    sched = make_ddim(sd, steps)
    gen = make_generator(seed)
    latents = torch.randn(latent_shape, generator=gen, dtype=torch.float32).to(sd.device, sd.dtype)
    latents = latents * sched.init_noise_sigma
    blend = None
    if cell_mask is not None:
        blend = LatentBlend(sched, latents0, cell_mask, seed)
        latents = blend(latents, sched.timesteps[0])
    with tuned_unet(sd, state):
        return denoise(sd, sched, latents, sched.timesteps, emb, uncond, guidance, ctx, stage="sampling",
                       blend=blend)
