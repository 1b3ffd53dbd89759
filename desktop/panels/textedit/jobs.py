"""Background work of the text-edit panel: loading Stable Diffusion once, the edit job, result captions.

All model work is `engine.textedit` (strictly offline loading, `run_edit`); this module only keeps the
loaded models between runs (the provenance of an accepted pair is `engine.provenance`).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from engine.jobs import JobContext
from engine.model_cache import ModelCache

PREFERENCES_HINT = "Set it in File > Preferences… > Models and device (Stable Diffusion folder)."


def sd_problem(folder: str) -> str:
    """"" when `folder` looks like a complete Stable Diffusion folder, else a message saying what to do."""
    from engine.textedit import SDFolderError, check_sd_folder

    if not folder or not str(folder).strip():
        return ("No Stable Diffusion folder is set. Text edits use your own local Stable Diffusion 1.x/2.x "
                "weights in the diffusers layout (model_index.json, unet/, vae/, text_encoder/, tokenizer/, "
                "scheduler/); nothing is downloaded. " + PREFERENCES_HINT)
    try:
        check_sd_folder(folder)
    except SDFolderError as exc:
        return f"{exc} {PREFERENCES_HINT}"
    return ""


class TextEditModels:
    """The models text edits use, each kept loaded between edits (`engine.model_cache.ModelCache`): one
    Stable Diffusion and one pre-segmenter; thread-safe."""

    def __init__(self):
        self._sd, self._preseg = ModelCache(), ModelCache()

    def sd(self, folder: str, device: str):
        from engine.textedit import load_sd

        key = (str(Path(folder).expanduser().resolve()), device)
        return self._sd.use(key, lambda: load_sd(folder, device=device), lambda sd: sd)

    def presegment(self, model_dir: str, head_dir: str, device: str) -> Optional[Callable]:
        """image -> label in original CaDIS IDs from the pre-segmentation head, or None without a head."""
        if not model_dir or not head_dir:
            return None

        def load():
            from engine.device import pick_device
            from engine.labels import to_original_ids
            from engine.preseg import Presegmenter

            p = Presegmenter.open(model_dir, head_dir, device=str(pick_device(device)))
            return lambda img: to_original_ids(p.presegment(img).label, p.head.class_set)

        return self._preseg.use((model_dir, head_dir, device), load, lambda fn: fn)

    def clear(self) -> None:
        self._sd.clear()
        self._preseg.clear()


def edit_job(ctx: JobContext, cache: TextEditModels, sd_folder: str, device: str, image: np.ndarray,
             label: Optional[np.ndarray], prompt: str, settings, cache_dir: Optional[Path],
             presegment: Optional[Callable] = None, preseg_source: Optional[tuple[str, str]] = None,
             stages: Optional[list] = None) -> list:
    """Load (or reuse) the model, then `engine.textedit.run_edit`; returns the EditResult list.

    `stages`, when given, receives every stage name as it starts ("loading Stable Diffusion",
    "optimising embedding", "fine-tuning", "inverting", "sampling"), unthrottled (the runner's progress
    signal drops messages closer than 1/30 s)."""
    from engine.textedit import run_edit

    if stages is not None:
        ctx = JobContext(_stage_recorder(ctx, stages), ctx.is_cancelled)

    ctx.report(0.0, "loading Stable Diffusion")
    sd = cache.sd(sd_folder, device)
    if presegment is None and preseg_source is not None:
        ctx.report(0.01, "loading the pre-segmentation head")
        presegment = cache.presegment(preseg_source[0], preseg_source[1], device)
    ctx.check()
    return run_edit(sd, image, prompt, settings, cache_dir=cache_dir, ctx=ctx.sub(0.02, 1.0), label=label,
                    presegment=presegment)


def propose_job(ctx: JobContext, cache: TextEditModels, sd_folder: str, device: str, image: np.ndarray,
                label: np.ndarray, prompt: str, settings):
    """Load (or reuse) the model, then `engine.textedit.edit.propose_classes`: the prompt's region."""
    from engine.textedit.edit import propose_classes

    ctx.report(0.0, "loading Stable Diffusion")
    sd = cache.sd(sd_folder, device)
    ctx.check()
    return propose_classes(sd, image, label, prompt, settings, ctx=ctx.sub(0.05, 1.0))


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
