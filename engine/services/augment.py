"""The augment use case: one request, one function, for `cadis augment` and the app's Augment… dialog.

    outcome = augment(ctx, project, AugmentRequest(model_dir="models/x", layouts=4, samples=2))

Both front ends pass the same `AugmentRequest`; the model id that seeds every work item is the pipeline's
fingerprint (`model_id`, one function), so a run started in the app resumes in the CLI and back, and both draw
the same frames for the same model, seed and masks. `mode="repaint"` (the default) re-synthesizes only what
each layout variant changed (plus `margin`); `mode="full"` synthesizes whole frames.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Optional, Sequence

from engine.augment.batch import AugmentResult, AugmentSettings, apply_uncertainty_filter, run_augment, run_key
from engine.curation.duplicates import DEFAULT_THRESHOLD
from engine.jobs import JobContext
from engine.pipelines.repaint import DEFAULT_MARGIN


@dataclass
class AugmentRequest:
    """What an augment run makes and keeps (the CLI's options, the dialog's fields)."""

    model_dir: str = ""
    mode: str = "repaint"                   # "repaint" | "full"
    margin: int = DEFAULT_MARGIN            # repaint: pixels around a change that are repainted too
    frames: Optional[list[str]] = None      # None = the project's frames marked done
    layouts: int = 4
    samples: int = 2
    steps: Optional[int] = None             # None = the preset's steps
    preset: str = "preview"                 # "preview" | "final"
    seed: int = 0
    min_consistency: Optional[float] = None
    drop_uncertain: float = 0.0
    head_dir: str = ""                      # a pre-segmentation head for scores ("" = none)
    duplicate_threshold: float = DEFAULT_THRESHOLD
    device: str = "auto"

    def settings(self) -> AugmentSettings:
        return AugmentSettings(layouts=self.layouts, samples=self.samples, seed=self.seed,
                               min_consistency=self.min_consistency, drop_uncertain=self.drop_uncertain,
                               duplicate_threshold=self.duplicate_threshold, mode=self.mode)

    def check(self) -> None:
        """ValueError with one clear line for settings that cannot run (before anything loads)."""
        self.settings().check(bool(self.head_dir))
        if self.margin < 0:
            raise ValueError(f"margin must be at least 0 pixels, got {self.margin}")


class Generator(NamedTuple):
    """An image generator: `generate(label, seed[, parent_image=, parent_label=])`, its model id, model info."""

    generate: Callable
    model_id: str
    info: dict


class AugmentOutcome(NamedTuple):
    """What one process of a run did, and the pairs the uncertainty filter rejected afterwards."""

    result: AugmentResult
    rejected: list[int]


def model_id(pipe) -> str:
    """The model id of augment work items and provenance (16 hex digits): the pipeline's weights fingerprint;
    for the distilled student, its own weights' (frames of the student and of the teacher never mix in a run)."""
    if getattr(pipe, "kind", "") == "student":
        return str(pipe.card.get("weights_sha256", ""))[:16] or "student"
    return pipe.fingerprint


def synthesis_generator(request: AugmentRequest) -> Generator:
    """The synthesis model of `request.model_dir`, loaded now (in the calling thread), as a `Generator`.

    Every frame is made by `engine.services.synthesis.synthesize`, the function `cadis synth` and the app's
    live preview call: with the preview preset that is the folder's distilled student when it has a fresh one
    (else the teacher's preview preset), with the final preset the teacher. The student makes whole frames
    only: in repaint mode its frame is blended into the real frame on the changed pixels plus the margin
    (`engine.pipelines.repaint.composite`, the last step of a repaint too), where the teacher also pins the
    known area at every step (RePaint)."""
    from dataclasses import replace

    from engine.pipelines import changed_region, composite, preset, repaint_provenance
    from engine.pipelines.repaint import check_changed_share
    from engine.services.pipelines import Pipelines
    from engine.services.synthesis import SynthesisRequest, synthesize

    pipelines = Pipelines()
    base = {"model_dir": request.model_dir, "preset": request.preset, "steps": request.steps,
            "device": request.device}
    pipe = pipelines.load(SynthesisRequest(None, **base))
    student = getattr(pipe, "kind", "") == "student"

    def generate(label, seed, parent_image=None, parent_label=None):
        ctx = JobContext()
        if parent_image is None:
            return synthesize(ctx, pipelines, SynthesisRequest(label, seed=seed, **base)).candidates[0].image
        if not student:
            res = synthesize(ctx, pipelines, SynthesisRequest(label, seed=seed, image=parent_image,
                                                              parent_mask=parent_label, margin=request.margin,
                                                              **base)).result
            return res.images[0], repaint_provenance(res)
        changed, region = changed_region(parent_label, label, request.margin)
        check_changed_share(changed)
        res = synthesize(ctx, pipelines, SynthesisRequest(label, seed=seed, **base)).result
        frame = composite(parent_image, res.images[0], changed, region)
        res = replace(res, images=[frame], changed=changed, region=region,
                      settings={**res.settings, "mode": "repaint", "margin": int(request.margin),
                                "repaint": "the student's whole frame blended in on the changed region"})
        return frame, repaint_provenance(res)

    if student:
        s = pipe.default_settings
        steps, sampler = request.steps or s.steps, "lcm (distilled student)"
    else:
        sampling = preset(request.preset, steps=request.steps)
        steps, sampler = sampling.steps, sampling.sampler
    info = {"model_dir": str(Path(request.model_dir).resolve()), "sampling": request.preset, "steps": steps,
            "sampler": sampler, "mode": request.mode}
    return Generator(generate, model_id(pipe), info)


def head_scorer(request: AugmentRequest):
    """Score function (consistency + uncertainty) of the request's pre-segmentation head, or None without one."""
    if not request.head_dir:
        return None
    from engine.curation.scores import presegmenter_scorer
    from engine.preseg import Presegmenter

    return presegmenter_scorer(Presegmenter.open(request.model_dir, request.head_dir, device=request.device,
                                                 cache_size=0))


def augment(ctx: JobContext, project, request: AugmentRequest,
            generator: Optional[Callable[[], Generator]] = None, shard_index: int = 0, shard_count: int = 1,
            barrier: Optional[Callable[[], None]] = None) -> AugmentOutcome:
    """Run (or resume) this process's shard of the augment run `request` on the open `project`.

    `generator` (tests, other models) replaces the synthesis model folder. Under several processes `barrier`
    waits for all of them before the first one applies the uncertainty filter to the whole run."""
    request.check()
    ctx.report(0.0, "loading the synthesis model")
    gen = Generator(*generator()) if generator is not None else synthesis_generator(request)
    score = head_scorer(request)
    ctx.check()
    result = run_augment(project, gen.generate, request.settings(), frames=request.frames, score=score,
                         ctx=ctx.sub(0.02, 1.0), shard_index=shard_index, shard_count=shard_count,
                         model_id=gen.model_id, model_info=gen.info)
    if barrier is not None:
        barrier()
    rejected: Sequence[int] = []
    if shard_index == 0 and request.drop_uncertain > 0:
        rejected = apply_uncertainty_filter(project, request.drop_uncertain, run_key(gen.model_id, request.seed))
    return AugmentOutcome(result, list(rejected))
