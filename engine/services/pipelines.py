"""Every pipeline the front ends use is built here, and kept between jobs until its weights change.

`Pipelines.load(request)` gives, for an `engine.services.synthesis.SynthesisRequest`, the preview pipeline (the
model folder's distilled student when it is fresh, else the teacher) when the request wants it (the preview
preset, no sampler, no repaint), else the synthesis pipeline. Both take the same call (`engine.pipelines`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from engine.jobs import JobContext
from engine.model_cache import ModelCache


def weights_stamp(model_dir: str | Path) -> tuple[str, float]:
    """Identity of a model folder's current weights: (resolved path, modification time)."""
    path = Path(model_dir).resolve()
    try:
        files = [path / "diffusion_pytorch_model.safetensors"]
        if (path / "model_index.json").is_file():  # a pipeline folder: its networks' weights
            files = [f for f in (path / "unet" / files[0].name, path / "upsampler" / files[0].name) if f.exists()]
        return str(path), max(f.stat().st_mtime for f in files)
    except (OSError, ValueError):
        return str(path), 0.0



class Pipelines:
    """The pipelines of one front end, loaded when first asked for and kept until the weights change.

    Previews and long jobs keep their own pipelines, each used without holding a lock while it runs."""

    def __init__(self) -> None:
        self.preview_cache = ModelCache(exclusive=False)    # the preview pipeline (student or teacher)
        self.synthesis_cache = ModelCache(exclusive=False)  # the teacher, for Synthesize and Repaint

    def clear(self) -> None:
        self.preview_cache.clear()
        self.synthesis_cache.clear()

    def load(self, request, ctx: Optional[JobContext] = None):
        """The pipeline for `request` (see the module docstring)."""
        if request.wants_preview_pipeline:
            return self.preview(request.model_dir, request.device, request.use_student, ctx)
        return self.synthesis(request.model_dir, request.device, ctx)

    def preview(self, model_dir: str, device: str = "auto", use_student: bool = True,
                ctx: Optional[JobContext] = None):
        """The preview pipeline: the distilled student when MODEL_DIR/student is fresh, else the teacher."""
        def load():
            import engine.distill  # looked up at call time: tests wrap engine.distill.preview_pipeline

            (ctx or JobContext()).report(0.0, "loading the preview model")
            return engine.distill.preview_pipeline(model_dir, device=device, use_student=use_student)[0]

        stamp = (weights_stamp(model_dir), weights_stamp(Path(model_dir) / "student"), device, use_student)
        return self.preview_cache.get(stamp, load)

    def synthesis(self, model_dir: str, device: str = "auto", ctx: Optional[JobContext] = None):
        """The synthesis pipeline (`SynthesisPipeline`) of the model folder."""
        def load():
            from engine.pipelines.synthesis import SynthesisPipeline

            (ctx or JobContext()).report(0.0, "loading the model")
            return SynthesisPipeline.from_pretrained(model_dir, device=device)

        return self.synthesis_cache.get((weights_stamp(model_dir), device), load)


def student_problem(model_dir) -> Optional[str]:
    """None when the model folder has a fresh preview student (previews use it), else why not."""
    from engine.distill import student_problem as problem

    return problem(model_dir)
