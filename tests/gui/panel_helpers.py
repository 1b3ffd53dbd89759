"""Shared helpers of the panel tests: a Document on a fresh project of the phantom fixture, a runner,
settings in tmp, and synthetic pairs with known scores."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from desktop.document import Document
from desktop.settings import Settings
from desktop.workers import JobRunner

SMALL = (192, 108)  # (W, H) of the test pairs: small keeps the thumbnail loader fast


def open_document(qtbot, phantom_root: Path, tmp_path: Path):
    """(document, runner, settings) with a new project of the phantom sample, every frame marked done."""
    from engine.project import Project

    project = Project.open_or_create(phantom_root, project_dir=tmp_path / "proj.cadis-project", journal_fsync=False)
    for k in project.frame_keys():
        project.set_status(k, "done")
    doc = Document(autosave_ms=60_000)
    runner = JobRunner(max_threads=1)
    settings = Settings(tmp_path / "settings.ini")
    settings.model_dir = str(tmp_path / "no-model")  # never the shipped starter model in tests
    settings.sd_dir = ""
    doc.open_project(project)
    return doc, runner, settings


def small_pair(project, key: str, shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A frame and its label shrunk to SMALL, the label optionally shifted right by `shift` pixels."""
    image = cv2.resize(project.load_image(key), SMALL, interpolation=cv2.INTER_AREA)
    label = cv2.resize(project.load_label(key), SMALL, interpolation=cv2.INTER_NEAREST)
    if shift:
        label = np.roll(label, shift, axis=1)
    return image, label


def add_scored_pairs(project, specs: list[tuple[str, float | None, float | None]]) -> list[int]:
    """Add one pair per (source, consistency, uncertainty); parents cycle through the project's frames."""
    keys = project.frame_keys()
    ids = []
    for n, (source, cons, unc) in enumerate(specs):
        image, label = small_pair(project, keys[n % len(keys)])
        scores = {k: v for k, v in (("consistency", cons), ("uncertainty", unc)) if v is not None}
        ids.append(project.add_pair(image, label, source, {"scores": scores, "n": n}, parent_key=keys[n % len(keys)]))
    return ids


def close(doc: Document, runner: JobRunner) -> None:
    runner.shutdown()
    runner.wait(5000)
    doc.close_project()


def open_textedit_panel(qtbot, phantom_root: Path, tmp_path: Path, sd_dir: Path, prompt: str, steps: int):
    """(panel, doc, runner, settings): the Text edits panel on the first phantom frame with a Stable Diffusion
    folder, on the CPU, shown at 420x900."""
    from desktop.panels.textedit.panel import TextEditPanel

    doc, runner, settings = open_document(qtbot, phantom_root, tmp_path)
    settings.sd_dir = str(sd_dir)
    settings.device = "cpu"
    assert doc.set_frame(doc.keys()[0])
    panel = TextEditPanel(doc, runner, settings)
    qtbot.addWidget(panel)
    panel.resize(420, 900)
    panel.show()
    panel.prompt.setText(prompt)
    panel.steps.setValue(steps)
    return panel, doc, runner, settings
