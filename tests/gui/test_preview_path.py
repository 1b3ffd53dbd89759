"""The app's live preview goes through the same function as `cadis synth --preset preview`
(tests/test_preview_fast.py shows the CLI side)."""
from __future__ import annotations

import pytest

from desktop.workers import DONE
from tests.gui.synthesis_fixtures import model_dir, window  # noqa: F401 - fixtures

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("one_torch_thread")]


def test_live_preview_calls_the_one_preview_function(window, qtbot, monkeypatch):
    import engine.distill

    seen = []
    real = engine.distill.synthesize_preview
    monkeypatch.setattr(engine.distill, "synthesize_preview",
                        lambda pipe, mask, **k: seen.append(mask.shape) or real(pipe, mask, **k))
    panel = window.model_panels.synthesis
    handle = panel.request_preview()
    qtbot.waitUntil(handle.is_finished, timeout=60_000)
    assert handle.state == DONE and seen == [window.doc.label.shape]
