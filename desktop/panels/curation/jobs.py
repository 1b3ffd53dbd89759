"""Background work of the curation panel: pair thumbnails and the batch augment job.

Each job is a plain function taking a `JobContext` (run by `desktop.workers.JobRunner`); all data work is
an engine call (`engine.augment.batch.run_augment`, `engine.curation.reject_most_uncertain`,
`engine.curation.find_duplicate_pairs`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.jobs import JobContext
from engine.taxonomy import colorize

THUMB_W, THUMB_H = 112, 63
GenerateFn = Callable[[np.ndarray, int], np.ndarray]
# () -> (generate(label, seed) -> RGB image, model id for provenance, model info dict)
GeneratorFactory = Callable[[], tuple[GenerateFn, str, dict]]


class ThumbSink(QObject):
    """Carries (pair id, image|mask thumbnail, classes present) from the loader thread to the GUI."""

    ready = Signal(int, object, object)


def pair_thumbnail(image: np.ndarray, label: np.ndarray) -> np.ndarray:
    """The frame and its colour mask side by side, each THUMB_W wide (aspect kept), with a 2-pixel gap."""
    h, w = image.shape[:2]
    th = max(1, round(h * THUMB_W / max(w, 1)))
    img = cv2.resize(image, (THUMB_W, th), interpolation=cv2.INTER_AREA)
    mask = colorize(cv2.resize(label, (THUMB_W, th), interpolation=cv2.INTER_NEAREST))
    gap = np.full((th, 2, 3), 30, np.uint8)
    return np.ascontiguousarray(np.hstack([img, gap, mask]))


def load_pair_thumbnails(ctx: JobContext, project, pair_ids: Sequence[int], sink: ThumbSink) -> int:
    """Read each pair, emit its thumbnail and classes; unreadable pairs are skipped. Returns how many."""
    done = 0
    for n, pid in enumerate(pair_ids):
        ctx.check()
        try:
            image, label = project.load_pair(pid)
        except Exception:  # noqa: BLE001 - a broken or deleted pair simply gets no thumbnail
            continue
        classes = np.flatnonzero(np.bincount(label.ravel(), minlength=256)[:255]).tolist()
        sink.ready.emit(int(pid), pair_thumbnail(image, label), classes)
        done += 1
        ctx.report((n + 1) / max(1, len(pair_ids)), f"{n + 1}/{len(pair_ids)} pair thumbnails")
    return done


# ----------------------------------------------------------------------------------------------- augment
@dataclass
class AugmentRequest:
    """What the augment dialog asks for."""

    layouts: int = 4
    samples: int = 2
    steps: int = 20
    seed: int = 0
    frames: Optional[list[str]] = None      # None = the project's done frames
    min_consistency: Optional[float] = None
    drop_uncertain: float = 0.0
    model_dir: str = ""
    head_dir: str = ""                      # a pre-segmentation head for scores ("" = none)
    device: str = "auto"
    extra: dict = field(default_factory=dict)


def synthesis_generator(model_dir: str, device: str, steps: int) -> tuple[GenerateFn, str, dict]:
    """A generator from a synthesis model folder (loaded now, in the calling thread)."""
    from engine.pipelines.synthesis import SynthesisPipeline

    pipe = SynthesisPipeline.from_pretrained(model_dir, device=device)

    def generate(label: np.ndarray, seed: int) -> np.ndarray:
        return pipe(label, preset_name="final", num_inference_steps=steps, seed=seed).images[0]

    return generate, pipe.fingerprint[:12], {"model_dir": str(model_dir), "steps": steps}


def presegmenter_score(model_dir: str, head_dir: str, device: str):
    """Score function (consistency + uncertainty) of a pre-segmentation head, or None without one."""
    if not head_dir or not Path(head_dir).is_dir():
        return None
    from engine.curation import presegmenter_scorer
    from engine.device import pick_device
    from engine.preseg import Presegmenter

    return presegmenter_scorer(Presegmenter.open(model_dir, head_dir, device=str(pick_device(device))))


def run_augment_job(ctx: JobContext, project, request: AugmentRequest,
                    generator_factory: Optional[GeneratorFactory] = None):
    """Load the model (or use `generator_factory`), run the engine's augment job, apply the uncertainty
    filter. Returns (AugmentResult, ids rejected by the filter)."""
    from engine.augment.batch import AugmentSettings, apply_uncertainty_filter, run_augment, run_key

    settings = AugmentSettings(layouts=request.layouts, samples=request.samples, seed=request.seed,
                               min_consistency=request.min_consistency, drop_uncertain=request.drop_uncertain)
    ctx.report(0.0, "loading the synthesis model")
    if generator_factory is not None:
        generate, model_id, info = generator_factory()
    else:
        generate, model_id, info = synthesis_generator(request.model_dir, request.device, request.steps)
    score = presegmenter_score(request.model_dir, request.head_dir, request.device) if request.head_dir else None
    ctx.check()
    result = run_augment(project, generate, settings, frames=request.frames, score=score, ctx=ctx.sub(0.02, 1.0),
                         model_id=model_id, model_info=info)
    rejected = apply_uncertainty_filter(project, settings.drop_uncertain, run_key(model_id, settings.seed))
    return result, rejected
