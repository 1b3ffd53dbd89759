"""The Edit panel on a tiny RANDOM Stable Diffusion saved to tmp: clear messages without a usable SD folder,
each method runs from the panel, the α sweep shows PSNR/SSIM (and mIoU with a pre-segmenter), stage names,
the Imagic cache skips optimisation on a second α, accept stores a pair, cancel stores nothing, OOM explained."""
from __future__ import annotations

import json

import numpy as np
import pytest

from desktop.panels.textedit.panel import TextEditPanel, parse_alphas
from engine.textedit.diffusion import OOM_ADVICE, TextEditMemoryError
from tests.gui.panel_helpers import close, open_document, open_textedit_panel
from tests.textedit_helpers import _one_torch_thread, tiny_sd_dir  # noqa: F401 - fixtures

pytestmark = pytest.mark.gui


@pytest.fixture
def setup(qtbot, phantom_root, tmp_path, tiny_sd_dir):  # noqa: F811
    panel, doc, runner, settings = open_textedit_panel(qtbot, phantom_root, tmp_path, tiny_sd_dir,
                                                       "a frame with heavy bleeding", 3)
    yield panel, doc, runner, settings
    close(doc, runner)


def _run(qtbot, panel):
    handle = panel.run()
    assert handle is not None, panel.last_message
    with qtbot.waitSignal(handle.finished, timeout=120_000):
        pass
    return handle


def _set_method(panel, method: str) -> None:
    panel.method.setCurrentIndex(panel.method.findData(method))


def test_alpha_list_parsing():
    assert parse_alphas("1.2, 1.4 1.6") == [1.2, 1.4, 1.6]
    with pytest.raises(ValueError, match="numbers"):
        parse_alphas("1.2, x")
    with pytest.raises(ValueError, match="at least one"):
        parse_alphas(" , ")


def test_no_sd_folder_points_to_preferences(qtbot, phantom_root, tmp_path):
    doc, runner, settings = open_document(qtbot, phantom_root, tmp_path)
    doc.set_frame(doc.keys()[0])
    panel = TextEditPanel(doc, runner, settings)
    qtbot.addWidget(panel)
    assert "No Stable Diffusion folder" in panel.sd_message.text()
    assert "Preferences" in panel.sd_message.text()
    assert not panel.run_btn.isEnabled() and panel.run() is None
    with qtbot.waitSignal(panel.preferencesRequested, timeout=1000):
        panel.prefs_btn.click()
    # an incomplete folder names what is missing; fixing the settings and checking again clears it
    broken = tmp_path / "sd"
    broken.mkdir()
    (broken / "model_index.json").write_text("{}")
    settings.sd_dir = str(broken)
    problem = panel.check_sd()
    assert "incomplete" in problem and "unet/" in problem and "Preferences" in problem
    assert not panel.run_btn.isEnabled()
    close(doc, runner)


def test_sdedit_shows_result_with_fidelity_scores(qtbot, setup):
    panel, doc, _runner, _s = setup
    _set_method(panel, "sdedit")
    handle = _run(qtbot, panel)
    assert handle.state == "done", handle.error
    assert len(panel.results) == 1 and panel.gallery.count() == 1
    res = panel.results[0]
    assert res.image.shape == doc.image.shape and res.image.dtype == np.uint8
    text = panel.gallery.item(0).text()
    assert "PSNR" in text and "SSIM" in text and f"{res.ssim:.3f}" in text
    assert "loading Stable Diffusion" in panel.stages and "sampling" in panel.stages


def test_invert_runs_from_the_panel(qtbot, setup):
    panel, _doc, _runner, _s = setup
    _set_method(panel, "invert")
    assert panel.strength.value() == 1.0 and not panel.alphas.isEnabled()
    handle = _run(qtbot, panel)
    assert handle.state == "done", handle.error
    assert len(panel.results) == 1 and "inverting" in panel.stages and "sampling" in panel.stages


def test_imagic_sweep_stages_cache_and_accept(qtbot, setup):
    panel, doc, _runner, _s = setup
    _set_method(panel, "imagic")
    panel.alphas.setText("0.8, 1.5")
    panel.opt_steps.setValue(3)
    panel.tune_steps.setValue(2)
    panel.steps.setValue(2)
    handle = _run(qtbot, panel)
    assert handle.state == "done", handle.error
    assert [r.alpha for r in panel.results] == [0.8, 1.5] and panel.gallery.count() == 2
    assert "α 0.8" in panel.gallery.item(0).text()
    for stage in ("optimising embedding", "fine-tuning", "sampling"):
        assert stage in panel.stages
    assert panel.results[0].settings["optimiser_steps_run"] == 3
    cache = doc.project.root / "cache" / "textedit"
    assert list(cache.glob("*/meta.json"))

    # a new α: optimisation and fine-tuning come from the cache
    panel.alphas.setText("1.7")
    handle = _run(qtbot, panel)
    assert handle.state == "done", handle.error
    assert panel.results[0].settings["cache"] == "hit"
    assert panel.results[0].settings["optimiser_steps_run"] == 0
    assert "optimising embedding" not in panel.stages and "fine-tuning" not in panel.stages

    # accept: a pair with the frame's (unchanged) label and the edit's provenance
    added = []
    panel.pairAdded.connect(added.append)
    panel.gallery.item(0).setSelected(True)
    ids = panel.accept_selected()
    assert ids == added and len(ids) == 1
    rec = doc.project.pair(ids[0])
    image, label = doc.project.load_pair(ids[0])
    assert rec.source == "text_edit" and rec.parent_key == doc.key
    assert np.array_equal(label, doc.label) and np.array_equal(image, panel.results[0].image)
    prov = rec.provenance
    assert prov["method"] == "imagic" and prov["alpha"] == 1.7 and prov["prompt"] == "a frame with heavy bleeding"
    assert prov["scores"]["ssim"] == pytest.approx(panel.results[0].ssim, abs=1e-5)
    json.dumps(prov, allow_nan=False)


def test_presegmenter_adds_label_consistency(qtbot, setup):
    panel, doc, _runner, _s = setup
    truth = doc.label.copy()
    panel.presegment = lambda img: truth  # a "perfect" pre-segmenter: mIoU 1 against the frame's label
    _set_method(panel, "sdedit")
    handle = _run(qtbot, panel)
    assert handle.state == "done", handle.error
    assert panel.results[0].label_miou == pytest.approx(1.0)
    assert "label mIoU 1.000" in panel.gallery.item(0).text()


def test_cancel_stores_nothing_and_leaves_no_cache_entry(qtbot, setup):
    panel, doc, _runner, _s = setup
    _set_method(panel, "imagic")
    panel.alphas.setText("1.5")
    panel.opt_steps.setValue(5000)
    handle = panel.run()
    qtbot.waitUntil(lambda: "optimising embedding" in panel.stages, timeout=60_000)
    assert panel.cancel_btn.isEnabled()
    panel.cancel_btn.click()
    with qtbot.waitSignal(handle.finished, timeout=60_000):
        pass
    assert handle.state == "cancelled"
    assert panel.results == [] and panel.gallery.count() == 0 and doc.project.pairs() == []
    assert not list((doc.project.root / "cache" / "textedit").glob("*/meta.json"))
    assert "cancelled" in panel.last_message and panel.run_btn.isEnabled()


def test_gpu_out_of_memory_is_explained(qtbot, setup, monkeypatch):
    import engine.textedit

    def oom(*_a, **_k):
        raise TextEditMemoryError(OOM_ADVICE)

    monkeypatch.setattr(engine.textedit, "run_edit", oom)
    panel = setup[0]
    handle = _run(qtbot, panel)
    assert handle.state == "failed"
    assert "GPU memory" in panel.last_message and "LoRA" in panel.last_message
    assert "resolution" in panel.last_message and "CPU" in panel.last_message


def test_form_mistakes_are_messages_not_jobs(qtbot, setup):
    panel, _doc, runner, _s = setup
    _set_method(panel, "imagic")
    for field, text, expect in ((panel.alphas, "1.2, lots", "numbers"), (panel.resolution, "big", "WIDTHxHEIGHT"),
                                (panel.prompt, "", "prompt")):
        old = field.text()
        field.setText(text)
        assert panel.run() is None and expect in panel.last_message
        field.setText(old)
    assert not runner.jobs()


def test_resolution_and_tune_mode_reach_the_edit(qtbot, setup):
    panel, doc, _runner, _s = setup
    _set_method(panel, "imagic")
    panel.alphas.setText("1.5")
    panel.opt_steps.setValue(1)
    panel.tune_steps.setValue(1)
    panel.steps.setValue(2)
    panel.tune.setCurrentIndex(panel.tune.findData("full"))
    panel.resolution.setText("32x20")
    handle = _run(qtbot, panel)
    assert handle.state == "done", handle.error
    settings = panel.results[0].settings
    assert settings["resolution"] == "32x20" and settings["tune"] == "full"
    assert panel.results[0].image.shape == doc.image.shape
