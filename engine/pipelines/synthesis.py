"""SynthesisPipeline: CaDIS mask -> matching frames with the SPADE diffusion UNet.

Speed comes from four things, each switchable so the benchmark can measure the reference recipe:
few-step solvers (DPM-Solver++ / UniPC from diffusers), classifier-free guidance batched into ONE forward of
batch 2B, the mask's SPADE modulation maps computed ONCE per run (they do not depend on the timestep), and
bf16 weights on CPUs with native bf16 (AVX-512 BF16 / AMX). Deterministic for a given seed: variant k of
a run with seed S starts from the noise of seed S + k, so every image can be regenerated on its own.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch

from engine.jobs import JobContext
from engine.models.segmap import mask_to_segmap, resize_label
from engine.models.spade import SpadeModulation
from engine.taxonomy import label_id_problem

SAMPLERS = ("ddim", "dpm", "unipc")


@dataclass(frozen=True)
class SynthesisSettings:
    """How to sample; `preset()` gives the named ones."""

    sampler: str = "dpm"
    steps: int = 20
    guidance: float = 2.0
    precision: str = "fp32"          # "fp32" or "bf16" (bf16 falls back to fp32 where the CPU lacks it)
    cache_modulation: bool = True    # compute the mask's SPADE maps once per run
    batched_guidance: bool = True    # uncond + cond in one forward of batch 2B
    channels_last: bool = False     # NHWC on CPU: helps wide models, slows the small starter model


PRESETS: dict[str, SynthesisSettings] = {
    # interactive: a few UniPC steps, bf16 where the CPU has it
    "preview": SynthesisSettings(sampler="unipc", steps=4, guidance=2.0, precision="bf16"),
    # quality: more DPM-Solver++ steps in fp32
    "final": SynthesisSettings(sampler="dpm", steps=30, guidance=2.0, precision="fp32"),
    # the seeds' reference recipe (what the benchmark compares against)
    "reference": SynthesisSettings(sampler="ddim", steps=40, guidance=2.0, precision="fp32",
                                   cache_modulation=False, batched_guidance=False, channels_last=False),
}


def preset(name: str, **overrides) -> SynthesisSettings:
    try:
        base = PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}: use {', '.join(PRESETS)}") from None
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


@dataclass
class SynthesisResult:
    """Images (HxWx3 uint8 RGB) at the model resolution, the resized mask they match (original CaDIS IDs),
    the seed of each image and the settings used (for provenance)."""

    images: list[np.ndarray]
    mask: np.ndarray
    seeds: list[int]
    settings: dict = field(default_factory=dict)


def cpu_has_bf16() -> bool:
    """True where the CPU computes bf16 natively (AVX-512 BF16 or AMX); emulated bf16 would be slower."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as fh:
            flags = fh.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def make_scheduler(sampler: str, scheduler_config: dict):
    """A fresh diffusers scheduler of kind `sampler` ("ddim", "dpm", "unipc") on the model's noise schedule."""
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, UniPCMultistepScheduler

    base = {k: v for k, v in scheduler_config.items() if not k.startswith("_")}
    common = {k: base[k] for k in ("num_train_timesteps", "beta_start", "beta_end", "beta_schedule",
                                   "prediction_type", "timestep_spacing", "steps_offset") if k in base}
    if sampler == "ddim":
        return DDIMScheduler(**common, clip_sample=bool(base.get("clip_sample", True)), set_alpha_to_one=True)
    # pixel-space model: clip the x0 predictions to the image range [-1, 1] (dynamic thresholding with a max
    # of 1), or the first steps, where alpha_bar is ~0, amplify the noise-prediction error without bound
    clip = {"thresholding": bool(base.get("clip_sample", True)), "sample_max_value": 1.0}
    if sampler == "dpm":
        return DPMSolverMultistepScheduler(**common, **clip, algorithm_type="dpmsolver++", solver_order=2,
                                           lower_order_final=True)
    if sampler == "unipc":
        return UniPCMultistepScheduler(**common, **clip, solver_order=2, lower_order_final=True)
    raise ValueError(f"unknown sampler {sampler!r}: use {', '.join(SAMPLERS)}")


def to_uint8(x: torch.Tensor) -> list[np.ndarray]:
    """(B, 3, H, W) in [-1, 1] -> list of HxWx3 uint8 RGB."""
    arr = ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return [np.ascontiguousarray(a) for a in arr]


class SynthesisPipeline:
    """Mask -> frames. Build with `from_pretrained(model_dir)` or from a model + scheduler config."""

    def __init__(self, model, scheduler_config: Optional[dict] = None, card: Optional[dict] = None,
                 model_dir: Optional[Union[str, os.PathLike]] = None):
        from engine.models.model_dir import DEFAULT_SCHEDULER_CONFIG

        self.model = model.eval()
        self.scheduler_config = dict(scheduler_config or DEFAULT_SCHEDULER_CONFIG)
        self.card = dict(card or {})
        self.model_dir = Path(model_dir) if model_dir else None
        self._bf16_model = None
        self._fingerprint: Optional[str] = None

    @classmethod
    def from_pretrained(cls, model_dir: Union[str, os.PathLike], device: str = "auto", class_set=None,
                        resolution=None) -> "SynthesisPipeline":
        from engine.models.model_dir import load_synthesis_model

        model, sched, card = load_synthesis_model(model_dir, device=device, class_set=class_set, resolution=resolution)
        return cls(model, sched, card, model_dir=model_dir)

    # ------------------------------------------------------------------ properties
    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) the model works at."""
        h, w = self.model.config.sample_size
        return int(h), int(w)

    @property
    def class_set(self) -> str:
        return str(self.model.config.class_set)

    @property
    def fingerprint(self) -> str:
        """Model identity for provenance: weights hash when loaded from a folder."""
        if self._fingerprint is None:
            if self.model_dir is not None:
                from engine.models.model_dir import model_fingerprint

                self._fingerprint = self.card.get("weights_sha256", "")[:16] or model_fingerprint(self.model_dir)
            else:
                self._fingerprint = "in-memory"
        return self._fingerprint

    # ------------------------------------------------------------------ model variants
    def _runner(self, settings: SynthesisSettings) -> tuple[torch.nn.Module, torch.dtype]:
        use_bf16 = settings.precision == "bf16" and (self.device.type == "cuda" or cpu_has_bf16())
        if settings.precision not in ("fp32", "bf16"):
            raise ValueError(f"unknown precision {settings.precision!r}: use fp32 or bf16")
        if not use_bf16:
            model = self.model
            dtype = torch.float32
        else:
            if self._bf16_model is None:
                import copy

                self._bf16_model = copy.deepcopy(self.model).eval()
                torch.nn.Module.to(self._bf16_model, torch.bfloat16)  # plain cast (ModelMixin.to warns needlessly)
            model, dtype = self._bf16_model, torch.bfloat16
        if self.device.type == "cpu":
            fmt = torch.channels_last if settings.channels_last else torch.contiguous_format
            model = model.to(memory_format=fmt)
        return model, dtype

    # ------------------------------------------------------------------ guidance
    @staticmethod
    def guided_noise(model, x: torch.Tensor, t, guidance: float, cond, uncond, batched: bool = True) -> torch.Tensor:
        """eps_u + s * (eps_c - eps_u). `cond`/`uncond` are SpadeModulation (cached) or one-hot segmaps
        (uncond None = null mask). Batched: one forward of batch 2B; otherwise two forwards."""

        def kw(c):
            return {"modulation": c} if isinstance(c, SpadeModulation) else {"segmap": c}

        if guidance == 1.0:
            return model(x, t, **kw(cond))
        if guidance == 0.0:
            return model(x, t, **kw(uncond))
        if batched:
            both = torch.cat([x, x])
            if isinstance(cond, SpadeModulation):
                c = SpadeModulation.cat([uncond, cond])
            else:
                u = torch.zeros_like(cond) if uncond is None else uncond
                c = torch.cat([u, cond])
            eps_u, eps_c = model(both, t, **kw(c)).chunk(2)
        else:
            eps_u = model(x, t, **kw(uncond))
            eps_c = model(x, t, **kw(cond))
        return eps_u + guidance * (eps_c - eps_u)

    # ------------------------------------------------------------------ sampling
    def initial_noise(self, seeds: list[int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        h, w = self.size
        noise = [torch.randn((1, self.model.config.in_channels, h, w), generator=torch.Generator("cpu").manual_seed(int(s)))
                 for s in seeds]
        return torch.cat(noise).to(self.device, dtype=dtype)

    @torch.no_grad()
    def __call__(self, mask: np.ndarray, *, settings: Optional[SynthesisSettings] = None, preset_name: Optional[str] = None,
                 steps: Optional[int] = None, sampler: Optional[str] = None, guidance: Optional[float] = None,
                 seed: int = 0, num_images: int = 1, ctx: Optional[JobContext] = None) -> SynthesisResult:
        """Synthesize `num_images` frames for `mask` (HxW uint8, original CaDIS IDs, any size).

        Settings come from `settings`, else the preset `preset_name` (default "final"), with `steps`,
        `sampler`, `guidance` overriding. Reports progress per step and honours cancel through `ctx`.
        """
        ctx = ctx or JobContext()
        s = settings or preset(preset_name or "final")
        s = replace(s, **{k: v for k, v in (("steps", steps), ("sampler", sampler), ("guidance", guidance)) if v is not None})
        if s.steps < 1:
            raise ValueError("steps must be at least 1")
        if num_images < 1:
            raise ValueError("num_images must be at least 1")
        mask = np.asarray(mask)
        if mask.ndim != 2:
            raise ValueError(f"the mask is an HxW label of CaDIS IDs, got shape {mask.shape}")
        if mask.dtype != np.uint8 and mask.size and (mask.min() < 0 or mask.max() > 255):
            raise ValueError("the mask holds values outside 0..255; a mask holds original CaDIS IDs 0..35")
        if (problem := label_id_problem(mask.astype(np.uint8, copy=False))) is not None:
            raise ValueError(f"the mask holds {problem}; a mask holds original CaDIS IDs 0..35 (255 = unlabelled)")
        small = resize_label(mask.astype(np.uint8), self.size)
        model, dtype = self._runner(s)
        segmap = mask_to_segmap(small, self.class_set).to(self.device, dtype=dtype)
        seeds = [int(seed) + k for k in range(num_images)]
        scheduler = make_scheduler(s.sampler, self.scheduler_config)
        with warnings.catch_warnings():  # diffusers' numpy-2 `__array__` DeprecationWarning, not ours
            warnings.simplefilter("ignore", DeprecationWarning)
            scheduler.set_timesteps(s.steps, device=self.device)

        ctx.report(0.0, "preparing the mask")
        if s.cache_modulation:
            cond = model.precompute_modulation(segmap).repeat(num_images)
            uncond = model.precompute_modulation(None, self.size).repeat(num_images)
        else:
            cond, uncond = segmap.repeat(num_images, 1, 1, 1), None
            if not s.batched_guidance:
                uncond = torch.zeros_like(cond)
        x = self.initial_noise(seeds).float() * float(scheduler.init_noise_sigma)
        if s.channels_last and self.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        total = len(scheduler.timesteps)
        for i, t in enumerate(scheduler.timesteps):
            ctx.check()
            inp = scheduler.scale_model_input(x, t).to(dtype)
            eps = self.guided_noise(model, inp, t, s.guidance, cond, uncond, s.batched_guidance).float()
            x = scheduler.step(eps, t, x).prev_sample
            ctx.report((i + 1) / total, f"step {i + 1}/{total}")
        info = asdict(s)
        info.update(model=self.fingerprint, class_set=self.class_set, resolution=f"{self.size[1]}x{self.size[0]}")
        return SynthesisResult(images=to_uint8(x), mask=small, seeds=seeds, settings=info)
