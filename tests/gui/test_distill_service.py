"""Distilling the preview student from the Synthesize dock runs `engine.services.distill`, the call `cadis
distill` makes; afterwards the dock's previews use the student."""
from __future__ import annotations

import pytest

from augment_helpers import save_tiny_model
from tests.gui.panel_helpers import close, open_document

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("one_torch_thread")]


def test_the_dock_distils_the_student_through_the_service(qtbot, phantom_root, tmp_path, monkeypatch):
    import engine.services.distill as service
    from desktop.panels.synthesis.panel import SynthesisPanel
    from engine.services.pipelines import student_problem

    calls = []
    real = service.distill_student
    monkeypatch.setattr(service, "distill_student", lambda ctx, request: calls.append(request) or real(ctx, request))
    doc, runner, settings = open_document(qtbot, phantom_root, tmp_path)
    settings.model_dir, settings.device = str(save_tiny_model(tmp_path / "tiny")), "cpu"
    panel = SynthesisPanel(doc, runner, settings)
    qtbot.addWidget(panel)
    assert student_problem(settings.model_dir) is not None
    handle = panel.distill(max_steps=2)
    with qtbot.waitSignal(handle.finished, timeout=120_000):
        pass
    assert handle.state == "done", handle.error
    assert len(calls) == 1 and calls[0].max_steps == 2 and calls[0].data == str(phantom_root)
    assert student_problem(settings.model_dir) is None and "Preview student ready" in panel.status.text()
    close(doc, runner)
