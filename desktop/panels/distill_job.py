"""Models → Distil preview student: `engine.services.distill.distill_student` as a long job on the shared runner (its row in
the Jobs panel shows progress and cancels; cancelling saves the state and the next run continues it), and the
Synthesize dock's command that starts it."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from desktop.workers import JobHandle, JobRunner

GROUP = "distill"


def distill_data(model_dir: str, project) -> Optional[Path]:
    """The frames to distil on: the model card's training data when that folder exists here, else the open
    project's dataset (its labelled frames); None when neither is at hand."""
    from engine.services.distill import card_training_data

    named, _name = card_training_data(model_dir)
    if named is not None and named.is_dir():
        return named
    if project is not None:
        return Path(project.dataset.root)
    return None


def submit_distill(runner: JobRunner, model_dir: str, data: Path, device: str, max_steps: int,
                   on_result: Callable, on_error: Callable[[str], None]) -> JobHandle:
    from engine.services.distill import DistillRequest, distill_student

    request = DistillRequest(model_dir, str(data), max_steps=max_steps, device=device)
    return runner.submit(f"Distil preview student of {Path(model_dir).name}",
                         lambda ctx: distill_student(ctx, request), group=GROUP,
                         on_result=on_result, on_error=on_error)


class StudentControls:
    """The Synthesize dock's commands for its model's preview student; a mixin of `SynthesisPanel` (uses its
    runner, settings, status line, model folder and live-preview switch)."""

    def distill(self, max_steps: int = 1500) -> Optional[JobHandle]:
        """Make (or continue) the model folder's preview student as a long job (progress and cancel in Jobs)."""
        if self.model_problem is not None and not self.refresh_model():
            self.status.setText(self.model_problem)
            return None
        data = distill_data(self.model_dir(), self.doc.project)
        if data is None:
            self.status.setText("Open the project (or dataset) this model was trained on: distillation needs its frames.")
            return None
        self.distill_handle = submit_distill(self.runner, self.model_dir(), data, self.settings.device, max_steps,
                                             self._on_distilled,
                                             lambda msg: self.status.setText(f"Distillation failed: {msg}"))
        self.status.setText("Distilling a 1-2 step preview student: progress and cancel in the Jobs panel "
                            "(a cancelled run continues where it stopped).")
        return self.distill_handle

    def _on_distilled(self, result) -> None:
        self.refresh_model()
        self.status.setText(f"Preview student ready (step {result.step}): live previews now take 1-2 steps")
        if self.live.isChecked():
            self.request_preview()
