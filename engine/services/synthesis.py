"""The synthesis use cases: synthesize, repaint, preview, lift a preview to full size, accept as a pair.

    pipelines = Pipelines()                         # one per front end: the loaded pipelines, kept between jobs
    outcome = synthesize(ctx, pipelines, SynthesisRequest(mask, model_dir, source_frame=key, num=4))
    pair_id = accept_pair(project, outcome.candidates[0])

Every pipeline a front end uses is built here (`Pipelines.load`): the preview pipeline (the model folder's
distilled student when it is fresh, else the teacher) for a preview-preset request without a sampler or a
repaint, the synthesis pipeline for everything else. Both take the same call (`engine.pipelines`), so no
caller branches on which one it holds. Each result becomes a `Candidate` with its provenance, built once here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from engine.jobs import JobContext
from engine.pipelines.repaint import DEFAULT_MARGIN, repaint_provenance
from engine.provenance import synthesis_provenance
from engine.services.pipelines import Pipelines

PAIR_SOURCE = "synthesis"


@dataclass
class SynthesisRequest:
    """Frames for `mask` (HxW original CaDIS IDs) with the model in `model_dir`; None = the preset's value."""

    mask: np.ndarray
    model_dir: str
    source_frame: Optional[str] = None  # the frame the mask belongs to (provenance, the pair's parent)
    preset: str = "final"
    steps: Optional[int] = None
    sampler: Optional[str] = None
    guidance: Optional[float] = None
    seed: int = 0
    num: int = 1
    device: str = "auto"
    use_student: bool = True        # a preview-preset request may use the distilled student
    # repaint: with the real frame and its own mask, only what `mask` changed (plus `margin`) is re-synthesized
    image: Optional[np.ndarray] = None
    parent_mask: Optional[np.ndarray] = None
    margin: int = DEFAULT_MARGIN
    resample: int = 2               # RePaint rounds per step
    allow_large_change: bool = False  # repaint even when the edit changes most of the frame (else refused)

    @property
    def is_repaint(self) -> bool:
        return self.image is not None or self.parent_mask is not None

    @property
    def wants_preview_pipeline(self) -> bool:
        return self.preset == "preview" and self.use_student and self.sampler is None and not self.is_repaint


@dataclass
class Candidate:
    """One synthesized frame, the mask it matches and its provenance (what a pair would record)."""

    image: np.ndarray
    mask: np.ndarray
    provenance: dict = field(default_factory=dict)


@dataclass
class SynthesisOutcome:
    candidates: list[Candidate]
    result: object                  # the pipeline's `SynthesisResult` (settings, changed and repainted pixels)


def candidates(result, request: SynthesisRequest) -> list[Candidate]:
    """The frames of a pipeline result, each with its provenance (a repaint: parent frame, changed region)."""
    out = []
    for image, seed in zip(result.images, result.seeds):
        prov = synthesis_provenance(result.settings, seed, request.preset, request.model_dir, request.source_frame,
                                    result.mask)
        if result.changed is not None:
            prov["repaint"] = repaint_provenance(result, request.source_frame)
        out.append(Candidate(image, result.mask, prov))
    return out


def synthesize(ctx: JobContext, pipelines: Pipelines, request: SynthesisRequest) -> SynthesisOutcome:
    """Synthesize (or, with `request.image`, repaint) `request.num` frames; see `SynthesisRequest`."""
    pipe = pipelines.load(request, ctx)
    repaint = ({"image": request.image, "parent_mask": request.parent_mask, "margin": request.margin,
                "resample": request.resample, "allow_large_change": request.allow_large_change}
               if request.is_repaint else {})
    result = pipe(request.mask, preset_name=request.preset, num_inference_steps=request.steps,
                  sampler=request.sampler, guidance_scale=request.guidance, seed=request.seed,
                  num_images_per_prompt=request.num, ctx=ctx, **repaint)
    return SynthesisOutcome(candidates(result, request), result)


def lift_preview(ctx: JobContext, pipelines: Pipelines, candidate: Candidate, model_dir: str,
                 device: str = "auto", use_student: bool = True) -> Candidate:
    """A live preview lifted on the preview's pixel budget, rendered again at the mask's full size: the same
    student sample (same seed, timesteps and guidance: the student is deterministic) with the final preset's
    lift. RuntimeError when the model folder has no fresh student now."""
    from engine.distill import StudentSettings, student_problem

    if not use_student or student_problem(model_dir) is not None:
        raise RuntimeError("the model has no preview student now; synthesize the frame instead")
    prov = dict(candidate.provenance)
    request = SynthesisRequest(candidate.mask, model_dir, source_frame=prov.get("source_frame"),
                               preset=prov.get("preset", "preview"), seed=int(prov["seed"]), device=device,
                               use_student=use_student)
    pipe = pipelines.load(request, ctx)
    settings = StudentSettings(timesteps=tuple(prov["timesteps"]), guidance=float(prov["guidance"]),
                               max_lift_pixels=None)
    result = pipe(candidate.mask, settings=settings, seed=request.seed, ctx=ctx)
    return candidates(result, request)[0]


def accept_pair(project, candidate: Candidate) -> int:
    """Store `candidate` in the project as a synthetic pair (its provenance, its source frame as the parent)."""
    return project.add_pair(candidate.image, candidate.mask, PAIR_SOURCE, candidate.provenance,
                            parent_key=candidate.provenance.get("source_frame"))


def preset_settings(name: str):
    """The sampling settings of the named preset (`engine.pipelines.PRESETS`: "preview", "final", ...)."""
    from engine.pipelines.synthesis import preset

    return preset(name)
