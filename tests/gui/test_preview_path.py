"""The app's live preview goes through the same function as `cadis synth --preset preview`
(`engine.services.synthesis.synthesize`; tests/test_preview_fast.py shows the CLI side)."""
from __future__ import annotations

import pytest

from desktop.workers import DONE
from tests.gui.synthesis_fixtures import model_dir, window  # noqa: F401 - fixtures

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("one_torch_thread")]


def test_live_preview_calls_the_one_synthesis_service(window, qtbot, monkeypatch):
    import desktop.panels.synthesis.panel as panel_module
    import engine.services.synthesis as service

    assert panel_module.synthesize is service.synthesize  # the function `cadis synth` calls too
    seen = []
    real = service.synthesize
    monkeypatch.setattr(panel_module, "synthesize",
                        lambda ctx, pipelines, request: seen.append((request.preset, request.mask.shape))
                        or real(ctx, pipelines, request))
    panel = window.model_panels.synthesis
    handle = panel.request_preview()
    qtbot.waitUntil(handle.is_finished, timeout=60_000)
    assert handle.state == DONE and seen == [("preview", window.doc.label.shape)]
