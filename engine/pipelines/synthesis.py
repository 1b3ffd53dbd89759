"""SynthesisPipeline: CaDIS mask -> matching frames at the mask's own size (a `diffusers.DiffusionPipeline`).

Two stages (docs/adr/0010-full-resolution-synthesis.md): the SPADE diffusion UNet samples the frame at its
low working size (128x72 for the starter model), then the mask-conditioned upsampler lifts it to the mask's
resolution (960x540 for CaDIS; any size), drawing thin structures from the full-resolution mask. With
`image=` and `parent_mask=` the pipeline repaints only the pixels whose label changed (plus a margin):
the known area is pinned to the real frame at every denoising step (RePaint, Lugmayr et al., 2022, with
`resample` extra noise-and-redo rounds per step) and the composite keeps every other pixel byte-identical.

Speed comes from four things, each switchable so the benchmark can measure the reference recipe:
few-step solvers (DPM-Solver++ / UniPC from diffusers), classifier-free guidance batched into ONE forward of
batch 2B, the mask's SPADE modulation maps computed ONCE per run (they do not depend on the timestep), and
bf16 weights on CPUs with native bf16 (AVX-512 BF16 / AMX). Deterministic for a given seed: variant k of
a run with seed S starts from the noise of seed S + k, so every image can be regenerated on its own.
"""
from __future__ import annotations

import copy
import functools
import os
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch

from engine.jobs import JobContext
from diffusers import DDIMScheduler, DiffusionPipeline

from engine.models.segmap import mask_to_segmap, resize_label
from engine.models.spade import SpadeModulation
from engine.samplers import get_sampler
from engine.taxonomy import label_id_problem
from engine.pipelines.upsample import lift_to_mask_size
from engine.pipelines.repaint import (DEFAULT_MARGIN, changed_region, check_changed_share, composite, low_res_region,
                                      pin_known, renoise)



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
    """Images (HxWx3 uint8 RGB, or PIL / a tensor per `output_type`) at the mask's size, the mask they match
    (the input, unchanged), the seed of each image, the settings used (for provenance) and, for a repaint,
    the changed pixels and the repainted region (bool HxW)."""

    images: list
    mask: np.ndarray
    seeds: list[Optional[int]]
    settings: dict = field(default_factory=dict)
    changed: Optional[np.ndarray] = None
    region: Optional[np.ndarray] = None


@functools.lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """True where the CPU computes bf16 natively (AVX-512 BF16 or AMX); emulated bf16 would be slower.
    Read once per process: it is asked on every sampling call."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as fh:
            flags = fh.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def runs_bf16(precision: str, device: torch.device) -> bool:
    """Whether a "bf16" preset really runs in bf16 here: on CUDA, or on a CPU that computes it natively."""
    return precision == "bf16" and (device.type == "cuda" or cpu_has_bf16())


def bf16_copy(module: torch.nn.Module) -> torch.nn.Module:
    """An eval-mode bf16 copy of `module` (a plain cast: ModelMixin.to warns needlessly)."""
    twin = copy.deepcopy(module).eval()
    torch.nn.Module.to(twin, torch.bfloat16)
    return twin


def make_scheduler(sampler: str, scheduler_config: dict):
    """A fresh diffusers scheduler of the registered sampler `sampler` (`engine.samplers`) on the model's
    noise schedule."""
    entry = get_sampler(sampler)
    base = {k: v for k, v in scheduler_config.items() if not k.startswith("_")}
    common = {k: base[k] for k in ("num_train_timesteps", "beta_start", "beta_end", "beta_schedule",
                                   "prediction_type", "timestep_spacing", "steps_offset") if k in base}
    # pixel-space model: clip the x0 predictions to the image range [-1, 1] (dynamic thresholding with a max
    # of 1), or the first steps, where alpha_bar is ~0, amplify the noise-prediction error without bound
    clip = {"thresholding": bool(base.get("clip_sample", True)), "sample_max_value": 1.0}
    return entry.build(common, clip, base)


class SynthesisPipeline(DiffusionPipeline):
    """Mask -> frames. Components: `unet` (SpadeUNet2DModel), `scheduler` (the training noise schedule; the
    sampler of each run is built from its config), `upsampler` (MaskUpsampler2DModel, optional: without it
    frames are resized bicubic to the mask's size). Load with `from_pretrained(folder)`."""

    model_cpu_offload_seq = "unet->upsampler"
    _optional_components = ["scheduler", "upsampler"]  # scheduler: a default DDIM schedule when not given

    def __init__(self, unet, scheduler=None, upsampler=None):
        super().__init__()
        from engine.models.model_dir import DEFAULT_SCHEDULER_CONFIG

        if scheduler is None or isinstance(scheduler, dict):
            cfg = {k: v for k, v in dict(scheduler or DEFAULT_SCHEDULER_CONFIG).items() if not k.startswith("_")}
            scheduler = DDIMScheduler.from_config(cfg)
        if upsampler is not None and str(upsampler.config.class_set) != str(unet.config.class_set):
            raise ValueError(f"the upsampler is for class set {upsampler.config.class_set!r}, the UNet for "
                             f"{unet.config.class_set!r}")
        self.register_modules(unet=unet.eval(), scheduler=scheduler,
                              upsampler=upsampler.eval() if upsampler is not None else None)
        self.card: dict = {}
        self.model_dir: Optional[Path] = None
        self._bf16_unet = None
        self._fingerprint: Optional[str] = None

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Union[str, os.PathLike], device: str = "auto",
                        class_set=None, resolution=None, **kwargs) -> "SynthesisPipeline":
        """A pipeline folder (model_index.json + unet/ scheduler/ upsampler/), or a single-UNet folder written
        before full-resolution synthesis (it loads without an upsampler; `cadis convert-model` adds one)."""
        from engine.pipelines.folder import load_pipeline

        return load_pipeline(cls, pretrained_model_name_or_path, device=device, class_set=class_set,
                             resolution=resolution, **kwargs)

    def save_pretrained(self, save_directory: Union[str, os.PathLike], card: Optional[dict] = None, **kwargs) -> Path:
        """diffusers' save (safetensors) plus the model card (model_card.json, README.md)."""
        from engine.pipelines.folder import write_pipeline_card

        kwargs.setdefault("safe_serialization", True)
        super().save_pretrained(save_directory, **kwargs)
        return write_pipeline_card(self, Path(save_directory), card)

    # ------------------------------------------------------------------ properties
    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) the diffusion UNet works at (the mask is sampled there, then upsampled)."""
        h, w = self.unet.config.sample_size
        return int(h), int(w)

    @property
    def class_set(self) -> str:
        return str(self.unet.config.class_set)

    @property
    def scheduler_config(self) -> dict:
        return {k: v for k, v in dict(self.scheduler.config).items() if not k.startswith("_")}

    @property
    def fingerprint(self) -> str:
        """Model identity for provenance: the weights hash (UNet, and upsampler when present)."""
        if self._fingerprint is None:
            self._fingerprint = str(self.card.get("weights_sha256", ""))[:16] or "in-memory"
        return self._fingerprint

    # ------------------------------------------------------------------ model variants
    def _runner(self, settings: SynthesisSettings) -> tuple[torch.nn.Module, torch.dtype]:
        if settings.precision not in ("fp32", "bf16"):
            raise ValueError(f"unknown precision {settings.precision!r}: use fp32 or bf16")
        if not runs_bf16(settings.precision, self.device):
            model, dtype = self.unet, torch.float32
        else:
            if self._bf16_unet is None:
                self._bf16_unet = bf16_copy(self.unet)
            model, dtype = self._bf16_unet, torch.bfloat16
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
    def initial_noise(self, seeds: list[int], dtype: torch.dtype = torch.float32, generator=None) -> torch.Tensor:
        """Starting noise at the UNet size: from `generator` (one, or one per image) or from each seed."""
        h, w = self.size
        shape = (1, self.unet.config.in_channels, h, w)
        if generator is not None:
            gens = generator if isinstance(generator, (list, tuple)) else [generator] * len(seeds)
            noise = [torch.randn(shape, generator=g, device=g.device) for g in gens]
        else:
            noise = [torch.randn(shape, generator=torch.Generator("cpu").manual_seed(int(s))) for s in seeds]
        return torch.cat(noise).to(self.device, dtype=dtype)

    @torch.no_grad()
    def __call__(self, mask: np.ndarray, *, num_inference_steps: Optional[int] = None,
                 guidance_scale: Optional[float] = None, num_images_per_prompt: int = 1, generator=None,
                 output_type: str = "np", seed: int = 0, settings: Optional[SynthesisSettings] = None,
                 preset_name: Optional[str] = None, sampler: Optional[str] = None, image: Optional[np.ndarray] = None,
                 parent_mask: Optional[np.ndarray] = None, margin: int = DEFAULT_MARGIN, resample: int = 2,
                 ctx: Optional[JobContext] = None, allow_large_change: bool = False) -> SynthesisResult:
        """Synthesize `num_images_per_prompt` frames for `mask` (HxW uint8, original CaDIS IDs, any size), at
        the mask's size. Settings: `settings`, else the preset `preset_name` (default "final"), with
        `num_inference_steps`, `sampler`, `guidance_scale` overriding. Noise: `generator` (torch.Generator, or
        one per image) or seeds `seed`, `seed+1`, .. (recorded for provenance). `output_type`: "np" (HxWx3
        uint8), "pil" or "pt" ((3, H, W) float in [0, 1]).

        Repaint: with `image` (the real frame, HxWx3 uint8) and `parent_mask` (its own label), only the pixels
        whose label differs between `parent_mask` and `mask`, grown by `margin`, are re-synthesized (DDIM
        with `resample` RePaint rounds per step); every other pixel equals `image`. An edit that changes more
        than half of the frame is refused (the sketch of another frame) unless `allow_large_change`.
        """
        ctx = ctx or JobContext()
        s = settings or preset(preset_name or "final")
        s = replace(s, **{k: v for k, v in (("steps", num_inference_steps), ("sampler", sampler),
                                            ("guidance", guidance_scale)) if v is not None})
        if s.steps < 1:
            raise ValueError("num_inference_steps must be at least 1")
        if num_images_per_prompt < 1:
            raise ValueError("num_images_per_prompt must be at least 1")
        if output_type not in ("np", "pil", "pt"):
            raise ValueError(f"output_type {output_type!r}: use np, pil or pt")
        mask = np.asarray(mask)
        if mask.ndim != 2:
            raise ValueError(f"the mask is an HxW label of CaDIS IDs, got shape {mask.shape}")
        if mask.dtype != np.uint8 and mask.size and (mask.min() < 0 or mask.max() > 255):
            raise ValueError("the mask holds values outside 0..255; a mask holds original CaDIS IDs 0..35")
        mask = mask.astype(np.uint8)
        if (problem := label_id_problem(mask)) is not None:
            raise ValueError(f"the mask holds {problem}; a mask holds original CaDIS IDs 0..35 (255 = unlabelled)")
        repaint = image is not None or parent_mask is not None
        changed = region = None
        if repaint:
            image, changed, region = self._check_repaint(mask, image, parent_mask, margin)
            check_changed_share(changed, allow_large_change)
            s = replace(s, sampler="ddim")  # RePaint re-noises between steps: a one-step solver keeps no history
        n = num_images_per_prompt
        seeds: list[Optional[int]] = [None] * n if generator is not None else [int(seed) + k for k in range(n)]
        low = self.sample_low_res(mask, s, n, seeds, generator, image, region, resample, ctx)
        ctx.report(1.0, "full resolution")
        frames = [self.to_full_resolution(low[i:i + 1], mask, image, region) for i in range(n)]
        if repaint:
            frames = [composite(image, f, changed, region) for f in frames]
        info = asdict(s)
        info.update(model=self.fingerprint, class_set=self.class_set, resolution=f"{mask.shape[1]}x{mask.shape[0]}",
                    low_resolution=f"{self.size[1]}x{self.size[0]}", upsampler=self.upsampler is not None)
        if repaint:
            info.update(mode="repaint", margin=int(margin), resample=int(resample),
                        changed_pixels=int(changed.sum()), region_pixels=int(region.sum()))
        return SynthesisResult(images=self._format(frames, output_type), mask=mask, seeds=seeds, settings=info,
                               changed=changed, region=region)

    @staticmethod
    def _check_repaint(mask, image, parent_mask, margin):
        if image is None or parent_mask is None:
            raise ValueError("repaint needs both the real frame (image) and its own mask (parent_mask)")
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"the real frame must be HxWx3 uint8 RGB, got {image.shape} {image.dtype}")
        if image.shape[:2] != mask.shape:
            raise ValueError(f"the frame is {image.shape[1]}x{image.shape[0]} but the mask {mask.shape[1]}x{mask.shape[0]}")
        changed, region = changed_region(parent_mask, mask, margin)
        return image, changed, region

    @staticmethod
    def _format(frames: list[np.ndarray], output_type: str) -> list:
        if output_type == "pil":
            from PIL import Image

            return [Image.fromarray(f) for f in frames]
        if output_type == "pt":
            return [torch.from_numpy(f).permute(2, 0, 1).float() / 255.0 for f in frames]
        return frames

    def sample_low_res(self, mask, s: SynthesisSettings, n: int, seeds, generator, image, region, resample,
                        ctx: JobContext) -> torch.Tensor:
        """(n, 3, h, w) in [-1, 1] at the UNet size; with `region`, the known area follows the real frame."""
        small = resize_label(mask, self.size)
        model, dtype = self._runner(s)
        segmap = mask_to_segmap(small, self.class_set).to(self.device, dtype=dtype)
        scheduler = make_scheduler(s.sampler, self.scheduler_config)
        with warnings.catch_warnings():  # diffusers' numpy-2 `__array__` DeprecationWarning, not ours
            warnings.simplefilter("ignore", DeprecationWarning)
            scheduler.set_timesteps(s.steps, device=self.device)
        ctx.report(0.0, "preparing the mask")
        if s.cache_modulation:
            cond = model.precompute_modulation(segmap).repeat(n)
            uncond = model.precompute_modulation(None, self.size).repeat(n)
        else:
            cond, uncond = segmap.repeat(n, 1, 1, 1), None
            if not s.batched_guidance:
                uncond = torch.zeros_like(cond)
        x = self.initial_noise(seeds, generator=generator).float() * float(scheduler.init_noise_sigma)
        known = unknown = None
        if region is not None:
            import cv2

            real_small = cv2.resize(image, (self.size[1], self.size[0]), interpolation=cv2.INTER_AREA)
            known = torch.from_numpy(real_small).permute(2, 0, 1)[None].float().div(127.5).sub(1).to(self.device)
            unknown = torch.from_numpy(low_res_region(region, self.size)).to(self.device)[None, None].float()
        if s.channels_last and self.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        gen = torch.Generator("cpu").manual_seed(int(seeds[0] or 0) + 7_919)
        timesteps = list(scheduler.timesteps)
        for i, t in enumerate(timesteps):
            rounds = 1 + (resample if known is not None and i < len(timesteps) - 1 else 0)
            for r in range(rounds):
                ctx.check()
                inp = scheduler.scale_model_input(x, t).to(dtype)
                eps = self.guided_noise(model, inp, t, s.guidance, cond, uncond, s.batched_guidance).float()
                x_prev = scheduler.step(eps, t, x).prev_sample
                if known is not None:
                    x_prev = pin_known(scheduler, x_prev, known, unknown, timesteps, i, gen)
                if r < rounds - 1:  # RePaint: noise back up to t and redo the step, so both areas agree
                    x = renoise(scheduler, x_prev, timesteps, i, gen)
                else:
                    x = x_prev
            ctx.report((i + 1) / len(timesteps), f"step {i + 1}/{len(timesteps)}")
        return x

    @torch.no_grad()
    def to_full_resolution(self, low: torch.Tensor, mask: np.ndarray, image=None, region=None) -> np.ndarray:
        """One low-res sample (1, 3, h, w) in [-1, 1] -> HxWx3 uint8 at the mask's size (upsampler, or bicubic).
        `image` and `region` (repaint): outside `region` the upsampler sees the real frame."""
        return lift_to_mask_size(low, mask, self.upsampler, self.class_set, image, region)
