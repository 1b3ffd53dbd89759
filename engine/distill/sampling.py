"""Sampling the distilled student with diffusers' `LCMScheduler` (1-2 steps), and the preview pipeline choice.

`StudentPipeline` is a diffusers `DiffusionPipeline` taking the same call as `SynthesisPipeline` (mask ->
`SynthesisResult`), so callers need not know which one they hold; what it cannot honour (a repaint, another
sampler or preset) raises a ValueError; `preview_pipeline(model_dir)` gives the student when the model folder has a fresh
one, else the teacher pipeline with the "preview" preset.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch
from diffusers import DiffusionPipeline

from engine.jobs import JobContext
from engine.pipelines.repaint import DEFAULT_MARGIN


PREVIEW_LIFT_PIXELS = 240 * 136  # a preview's upsampler runs on this many pixels (see StudentSettings) ...
PREVIEW_LIFT_SCALE = 1 / 3       # ... or on a third of the mask's side where that is more (960x540 -> 320x180)
# 2 steps: the second at 88% of the noise schedule (t = 879 of 1000), not LCMScheduler's evenly spaced 499:
# KID 1.14x instead of 1.55x the teacher's final on the tuning masks at step 550 (docs/benchmarks/preview_student.md)
SECOND_STEP_AT = 0.88


def two_step_timesteps(scheduler_config: dict) -> tuple[int, int]:
    """The student's 2-step schedule: the last timestep, then SECOND_STEP_AT of the way, on the points of the
    distillation's skipped schedule (k*i - 1)."""
    n = int(scheduler_config.get("num_train_timesteps", 1000))
    k = n // int(scheduler_config.get("original_inference_steps", 50))
    return n - 1, max(1, round(SECOND_STEP_AT * n / k)) * k - 1


@dataclass(frozen=True)
class StudentSettings:
    steps: int = 2
    guidance: float = 2.0
    precision: str = "bf16"   # bf16 where the CPU computes it natively (else fp32), as the preview preset
    timesteps: Optional[tuple[int, ...]] = None  # custom timesteps (default: two_step_timesteps for 2, else LCM's)
    # the upsampler (a bf16 copy where the student runs bf16) runs at the mask's size scaled down to
    # `max_lift_pixels` pixels, or to `min_lift_scale` of its side where that is more (the retractors' wires
    # need 320x180 at 960x540; 480x270 stays at 240x136), the frame then brought to the mask's size with its
    # edges drawn from the full-size mask (`lift_edges`; else bicubic); None: the final preset's lift (fp32, at
    # the mask's size), as for an accepted preview. docs/adr/0014-fast-full-size-preview.md (bench_preview.py)
    max_lift_pixels: Optional[int] = PREVIEW_LIFT_PIXELS
    lift_edges: bool = True
    min_lift_scale: float = PREVIEW_LIFT_SCALE


class StudentPipeline(DiffusionPipeline):
    """Mask -> frames in a few consistency steps of the student: a diffusers `DiffusionPipeline` called like
    `SynthesisPipeline` (same keyword arguments, same `SynthesisResult`). What it cannot do is refused with a
    ValueError, never dropped: a repaint (`image=`, `parent_mask=`), another sampler, another preset."""

    kind = "student"

    def __init__(self, student, scheduler_config: dict, card: Optional[dict] = None,
                 model_dir: Optional[Union[str, os.PathLike]] = None, upsampler=None):
        super().__init__()
        # the teacher folder's mask upsampler: frames come out at the mask's size
        self.register_modules(student=student.eval(), upsampler=upsampler.eval() if upsampler is not None else None)
        self.scheduler_config = dict(scheduler_config)
        self.card = dict(card or {})
        self.model_dir = Path(model_dir) if model_dir else None
        self._bf16 = self._up_bf16 = None
        self._modulation: tuple = ()  # (key, SPADE maps) of the last mask: strokes that leave the 128x72 mask as is

    @classmethod
    def from_pretrained(cls, model_dir: Union[str, os.PathLike], device: str = "auto") -> "StudentPipeline":
        from engine.distill.student import load_student

        from engine.pipelines.folder import load_upsampler

        student, sched, card = load_student(model_dir, device=device)
        up_dir = Path(model_dir) / "upsampler"
        upsampler = load_upsampler(up_dir).to(next(student.parameters()).device).eval() if up_dir.is_dir() else None
        return cls(student, sched, card, model_dir=model_dir, upsampler=upsampler)

    @property
    def device(self) -> torch.device:
        return next(self.student.parameters()).device

    @property
    def size(self) -> tuple[int, int]:
        return self.student.sample_size

    @property
    def class_set(self) -> str:
        return str(self.student.unet.config.class_set)

    @property
    def default_settings(self) -> StudentSettings:
        cfg = self.student.config
        return StudentSettings(steps=int(cfg.default_steps), guidance=float(cfg.default_guidance),
                               max_lift_pixels=PREVIEW_LIFT_PIXELS, min_lift_scale=PREVIEW_LIFT_SCALE)

    def _runner(self, precision: str):
        from engine.pipelines.synthesis import bf16_copy, runs_bf16

        if runs_bf16(precision, self.device):
            if self._bf16 is None:
                self._bf16 = bf16_copy(self.student)
            return self._bf16, torch.bfloat16
        return self.student, torch.float32

    def _lifter(self, precision: str):
        """The upsampler a preview lifts with: a bf16 copy where the student runs bf16 (about 3x faster on a
        CPU with native bf16, with NHWC inputs; within one grey level of fp32), else the fp32 one."""
        from engine.pipelines.synthesis import bf16_copy, runs_bf16

        if self.upsampler is None or not runs_bf16(precision, self.device):
            return self.upsampler
        if self._up_bf16 is None:
            self._up_bf16 = bf16_copy(self.upsampler)
        return self._up_bf16

    @staticmethod
    def refuse(settings, preset_name, sampler, image, parent_mask) -> None:
        """ValueError for a call argument the student cannot honour (see the class docstring)."""
        if image is not None or parent_mask is not None:
            raise ValueError("the preview student cannot repaint (image=, parent_mask=): it only synthesizes whole "
                             "frames; repaint with the synthesis model (SynthesisPipeline)")
        if sampler not in (None, "lcm"):
            raise ValueError(f"the preview student samples with its own LCM steps, not {sampler!r}; "
                             "use the synthesis model for another sampler")
        if preset_name not in (None, "preview"):
            raise ValueError(f"the preview student has only the preview preset, not {preset_name!r}; "
                             "use the synthesis model for it")
        if settings is not None and not isinstance(settings, StudentSettings):
            raise ValueError(f"the preview student takes StudentSettings, not {type(settings).__name__}")

    @torch.no_grad()
    def __call__(self, mask: np.ndarray, *, num_inference_steps: Optional[int] = None,
                 guidance_scale: Optional[float] = None, num_images_per_prompt: int = 1, generator=None,
                 output_type: str = "np", seed: int = 0, settings: Optional[StudentSettings] = None,
                 preset_name: Optional[str] = None, sampler: Optional[str] = None, image: Optional[np.ndarray] = None,
                 parent_mask: Optional[np.ndarray] = None, margin: int = DEFAULT_MARGIN, resample: int = 2,
                 ctx: Optional[JobContext] = None):
        """`SynthesisPipeline.__call__`'s arguments; `settings` is a `StudentSettings` (default: the student's),
        `num_inference_steps` and `guidance_scale` override it; `margin` and `resample` only go with a repaint,
        which the student refuses."""
        from engine.distill.student import make_lcm_scheduler
        from engine.models.segmap import mask_to_segmap, resize_label
        from engine.pipelines.synthesis import SynthesisPipeline, SynthesisResult
        from engine.pipelines.upsample import lift_to_mask_size

        self.refuse(settings, preset_name, sampler, image, parent_mask)
        if output_type not in ("np", "pil", "pt"):
            raise ValueError(f"output_type {output_type!r}: use np, pil or pt")
        ctx = ctx or JobContext()
        num_images, steps = int(num_images_per_prompt), num_inference_steps
        s = settings or self.default_settings
        timesteps = list(s.timesteps) if s.timesteps and not steps else None
        steps = len(timesteps) if timesteps else int(steps or s.steps)
        if timesteps is None and steps == 2:
            timesteps = list(two_step_timesteps(self.scheduler_config))
        w = float(s.guidance if guidance_scale is None else guidance_scale)
        if steps < 1 or num_images < 1:
            raise ValueError("num_inference_steps and num_images_per_prompt must be at least 1")
        mask = np.asarray(mask)
        if mask.ndim != 2:
            raise ValueError(f"the mask is an HxW label of CaDIS IDs, got shape {mask.shape}")
        budget = s.max_lift_pixels
        scale = 1.0 if not budget else min(1.0, max((float(budget) / max(1, mask.size)) ** 0.5, s.min_lift_scale))
        small = resize_label(mask.astype(np.uint8), self.size)
        model, dtype = self._runner(s.precision)
        segmap = mask_to_segmap(small, self.class_set).to(self.device, dtype=dtype)
        seeds = [None] * num_images if generator is not None else [int(seed) + k for k in range(num_images)]
        scheduler = make_lcm_scheduler(self.scheduler_config)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            if timesteps:
                scheduler.set_timesteps(timesteps=timesteps, device=self.device)
            else:
                scheduler.set_timesteps(steps, device=self.device)
        cond = {}
        if hasattr(model.unet, "precompute_modulation"):
            cond["modulation"] = self._cached_modulation(model, small, segmap).repeat(num_images)
        else:
            cond["segmap"] = segmap.repeat(num_images, 1, 1, 1)
        x = self._noise(int(model.unet.config.in_channels), seeds, generator) * float(scheduler.init_noise_sigma)
        gen = torch.Generator("cpu").manual_seed(int(seed) + 7_777_777)
        denoised = x
        total = len(scheduler.timesteps)
        for i, t in enumerate(scheduler.timesteps):
            ctx.check()
            out = model(x.to(dtype), t, guidance=w, **cond).float()
            step = scheduler.step(out, t, x, generator=gen, return_dict=True)  # CPU generator: diffusers moves its noise
            x, denoised = step.prev_sample, step.denoised
            ctx.report((i + 1) / total, f"step {i + 1}/{total}")
        info = {"sampler": "lcm (distilled student)", "steps": steps, "guidance": w, "precision": s.precision,
                "timesteps": [int(t) for t in scheduler.timesteps], "lift_scale": round(scale, 3),
                "model": self.card.get("teacher_weights_sha256", "")[:16] + "+student", "class_set": self.class_set,
                "resolution": f"{mask.shape[1]}x{mask.shape[0]}", "low_resolution": f"{self.size[1]}x{self.size[0]}",
                "upsampler": self.upsampler is not None, "lift_edges": bool(budget and s.lift_edges)}
        mask = mask.astype(np.uint8)
        lifter = self._lifter(s.precision) if budget else self.upsampler
        images = [lift_to_mask_size(denoised[i:i + 1], mask, lifter, self.class_set, scale=scale,
                                    edges=s.lift_edges) for i in range(num_images)]
        return SynthesisResult(images=SynthesisPipeline._format(images, output_type), mask=mask, seeds=seeds,
                               settings=info)

    def _noise(self, channels: int, seeds: list, generator) -> torch.Tensor:
        """Starting noise at the student's size: from `generator` (one, or one per image) or from each seed."""
        shape = (1, channels, *self.size)
        if generator is not None:
            gens = generator if isinstance(generator, (list, tuple)) else [generator] * len(seeds)
            return torch.cat([torch.randn(shape, generator=g, device=g.device) for g in gens]).to(self.device)
        return torch.cat([torch.randn(shape, generator=torch.Generator("cpu").manual_seed(sd)) for sd in seeds]
                         ).to(self.device)

    def _cached_modulation(self, model, small: np.ndarray, segmap: torch.Tensor):
        """The mask's SPADE maps (they depend on the mask only): kept for the last UNet-size mask, so a stroke
        that does not change it, another seed, or the accepted preview's rerun skip them."""
        key = (id(model), segmap.dtype, small.shape, small.tobytes())  # the 128x72 label itself: 9 kB
        if self._modulation and self._modulation[0] == key:
            return self._modulation[1]
        mod = model.precompute_modulation(segmap)
        self._modulation = (key, mod)
        return mod


def preview_pipeline(model_dir: Union[str, os.PathLike], device: str = "auto", use_student: bool = True):
    """The pipeline previews use: the distilled student when MODEL_DIR/student is fresh, else the teacher
    (`SynthesisPipeline`, to be called with the "preview" preset). Returns (pipeline, why) where `why` says
    which one and, for the teacher, why not the student."""
    from engine.distill.student import student_problem
    from engine.pipelines import SynthesisPipeline

    problem = student_problem(model_dir) if use_student else "student not asked for"
    if problem is None:
        return StudentPipeline.from_pretrained(model_dir, device=device), "distilled student"
    return SynthesisPipeline.from_pretrained(model_dir, device=device), problem
