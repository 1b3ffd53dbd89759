"""One registry per extension point: a sampler registered once is offered by `cadis synth --sampler`, listed in
the app's sampler box and built by the pipeline."""
from __future__ import annotations

import pytest

from engine.samplers import SAMPLERS, Sampler, get_sampler
from tests.gui.panel_helpers import close, open_document

pytestmark = pytest.mark.gui


@pytest.fixture
def fake_sampler(monkeypatch):
    built = []

    def build(common, clip, base):
        built.append(common)
        return get_sampler("ddim").build(common, clip, base)

    monkeypatch.setitem(SAMPLERS, "fake", Sampler("fake", "Fake sampler", build))
    return built


def _cli_sampler_choices():
    from engine.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command").choices["synth"]
    return next(a for a in sub._actions if a.dest == "sampler").choices


def test_a_registered_sampler_is_in_the_cli_choices_the_app_box_and_the_pipeline(qtbot, phantom_root, tmp_path,
                                                                                  fake_sampler):
    from desktop.panels.synthesis.panel import SynthesisPanel
    from engine.pipelines import make_scheduler
    from engine.models.model_dir import DEFAULT_SCHEDULER_CONFIG

    assert "fake" in _cli_sampler_choices() and set(SAMPLERS) <= set(_cli_sampler_choices())
    doc, runner, settings = open_document(qtbot, phantom_root, tmp_path)
    panel = SynthesisPanel(doc, runner, settings)
    qtbot.addWidget(panel)
    boxed = {panel.sampler.itemData(i): panel.sampler.itemText(i) for i in range(panel.sampler.count())}
    assert boxed == {s.name: s.label for s in SAMPLERS.values()} and boxed["fake"] == "Fake sampler"
    scheduler = make_scheduler("fake", dict(DEFAULT_SCHEDULER_CONFIG))
    assert type(scheduler).__name__ == "DDIMScheduler" and len(fake_sampler) == 1
    close(doc, runner)


def test_an_unknown_sampler_names_the_registered_ones():
    from engine.pipelines import make_scheduler

    with pytest.raises(ValueError, match="ddim, dpm, unipc"):
        make_scheduler("euler", {})
