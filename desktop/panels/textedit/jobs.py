"""Background work of the text-edit panel: each job is ONE call of `engine.services.textedit` (the same call
as `cadis edit`), with the loaded models kept between runs in the service's `TextEditModels`; and the
panel's small text helpers (α list, stage names, result captions).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from engine.jobs import JobContext
from engine.services.textedit import TextEditModels, TextEditRequest, edit, propose_region
from engine.services.textedit import sd_problem as folder_problem

__all__ = ["TextEditModels", "caption", "edit_job", "parse_alphas", "propose_job", "sd_problem", "stage_name"]
PREFERENCES_HINT = "Set it in File > Preferences… > Models and device (Stable Diffusion folder)."


def sd_problem(folder: str) -> str:
    """"" when `folder` looks like a complete Stable Diffusion folder, else a message saying what to do."""
    problem = folder_problem(folder)
    return f"{problem} {PREFERENCES_HINT}" if problem else ""


def edit_job(ctx: JobContext, cache: TextEditModels, sd_folder: str, device: str, image: np.ndarray,
             label: Optional[np.ndarray], prompt: str, settings, cache_dir: Optional[Path],
             presegment: Optional[Callable] = None, preseg_source: Optional[tuple[str, str]] = None,
             stages: Optional[list] = None) -> list:
    """`engine.services.textedit.edit`; returns the EditResult list. `stages`, when given, receives every
    stage name as it starts, unthrottled (the runner's progress signal drops messages closer than 1/30 s)."""
    if stages is not None:
        ctx = JobContext(_stage_recorder(ctx, stages), ctx.is_cancelled)
    model, head = preseg_source or (None, None)
    request = TextEditRequest(sd_folder, prompt, settings, device, None if cache_dir is None else str(cache_dir),
                              model, head)
    return edit(ctx, cache, request, image, label, presegment)


def propose_job(ctx: JobContext, cache: TextEditModels, sd_folder: str, device: str, image: np.ndarray,
                label: np.ndarray, prompt: str, settings):
    """`engine.services.textedit.propose_region`: the prompt's region."""
    return propose_region(ctx, cache, TextEditRequest(sd_folder, prompt, settings, device), image, label)


def parse_alphas(text: str) -> list[float]:
    """"1.2, 1.4 1.6" -> [1.2, 1.4, 1.6]; ValueError with a plain message otherwise."""
    parts = [p for p in text.replace(",", " ").split() if p]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"α values are numbers separated by commas, e.g. 1.2, 1.4, 1.6 (got {text!r})") from None
    if not values:
        raise ValueError("give at least one α value, e.g. 1.4")
    return values


def stage_name(message: str) -> str:
    """"optimising embedding 3/10" -> "optimising embedding"."""
    return message.rstrip("0123456789/ ").strip()


def _stage_recorder(ctx: JobContext, stages: list) -> Callable[[float, str], None]:
    def report(fraction: float, message: str) -> None:
        name = stage_name(message)
        if name and (not stages or stages[-1] != name):
            stages.append(name)  # list.append is atomic: safe from the worker thread
        ctx.report(fraction, message)
    return report


def caption(result) -> str:
    """The lines under a sweep thumbnail."""
    head = f"α {result.alpha:g}" if result.alpha is not None else result.method
    psnr = "∞" if not math.isfinite(result.psnr) else f"{result.psnr:.1f}"
    lines = [head, f"PSNR {psnr} dB · SSIM {result.ssim:.3f}"]
    region = getattr(result, "region", None)
    if region is not None:
        inside = result.region_label_miou
        if inside is not None and math.isfinite(inside):
            lines.append(f"label mIoU in region {inside:.3f}")
        names = ", ".join(result.settings["region"]["class_names"])
        lines.append(("only " if region.mode == "only" else "kept ") + names)
    elif result.label_miou is not None and math.isfinite(result.label_miou):
        lines.append(f"label mIoU {result.label_miou:.3f}")
    return "\n".join(lines)
