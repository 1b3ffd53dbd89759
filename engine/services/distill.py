"""The distil use case: make (or continue) a model folder's 1-2 step preview student, for `cadis distill` and
the Synthesize dock's "Distil preview student" alike.

    result = distill_student(ctx, DistillRequest(model_dir, data=card_training_data(model_dir)))
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from engine.jobs import JobContext


@dataclass
class DistillRequest:
    """What to distil: the model folder, the frames (a dataset, project or pair folder) and the training
    settings (None = the defaults of `engine.distill.DistillConfig`)."""

    model_dir: str
    data: str
    max_steps: Optional[int] = None
    batch_size: Optional[int] = None
    learning_rate: Optional[float] = None
    checkpoint_every: Optional[int] = None
    device: str = "auto"


def card_training_data(model_dir: str) -> tuple[Optional[Path], Optional[str]]:
    """(the folder the model card names as its training data when it exists here, else None; the name)."""
    from engine.models import read_model_card

    named = read_model_card(model_dir).get("training_data")
    return (Path(named) if named and Path(named).exists() else None), named


def distill_student(ctx: JobContext, request: DistillRequest):
    """Run (or continue) the distillation; returns `engine.distill.DistillResult`."""
    from engine.distill import DistillConfig, distill

    overrides = {"max_steps": request.max_steps, "batch_size": request.batch_size,
                 "learning_rate": request.learning_rate, "checkpoint_every": request.checkpoint_every}
    cfg = DistillConfig(device=request.device, **{k: v for k, v in overrides.items() if v is not None})
    return distill(request.model_dir, request.data, cfg, ctx=ctx)
