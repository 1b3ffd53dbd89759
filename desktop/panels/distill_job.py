"""Models → Distil preview student: `engine.distill.distill` as a long job on the shared runner (its row in
the Jobs panel shows progress and cancels; cancelling saves the state and the next run continues it)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from desktop.workers import JobHandle, JobRunner

GROUP = "distill"


def distill_data(model_dir: str, project) -> Optional[Path]:
    """The frames to distil on: the model card's training data when that folder exists here, else the open
    project's dataset (its labelled frames); None when neither is at hand."""
    from engine.models import read_model_card

    named = read_model_card(model_dir).get("training_data")
    if named and Path(named).is_dir():
        return Path(named)
    if project is not None:
        return Path(project.dataset.root)
    return None


def submit_distill(runner: JobRunner, model_dir: str, data: Path, device: str, max_steps: int,
                   on_result: Callable, on_error: Callable[[str], None]) -> JobHandle:
    from engine.distill import DistillConfig, distill

    cfg = DistillConfig(max_steps=max_steps, device=device)
    return runner.submit(f"Distil preview student of {Path(model_dir).name}",
                         lambda ctx: distill(model_dir, data, cfg, ctx=ctx), group=GROUP,
                         on_result=on_result, on_error=on_error)
