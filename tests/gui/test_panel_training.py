"""The training dialog: a few steps of a tiny model on the project's done frames with a live loss curve and
sample grid; cancelling saves a checkpoint and 'Continue' resumes from it; the result becomes the app's model."""
from __future__ import annotations

import pytest

from desktop.workers import CANCELLED, DONE
from tests.gui.window_helpers import make_settings, open_window

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("one_torch_thread")]


def tiny_config():
    from engine.training import TrainConfig

    return TrainConfig(block_out_channels=(8, 16), layers_per_block=1, spade_hidden=8, batch_size=2, warmup_steps=1,
                       checkpoint_every=2, sample_every=2, sample_steps=2, num_holdout=1, log_every=1)


@pytest.fixture
def window(qtbot, phantom_root, tmp_path):
    settings = make_settings(tmp_path / "s.ini")
    settings.model_dir = str(tmp_path / "none-yet")
    w = open_window(qtbot, phantom_root, tmp_path / "proj", settings)
    for k in w.doc.project.frame_keys()[:3]:
        w.doc.project.set_status(k, "done")
    return w


def _dialog(window, out, steps):
    dlg = window.model_panels.open_training(base_config=tiny_config())
    dlg.out.setText(str(out))
    dlg.resolution.setCurrentText("32x16")
    dlg.class_set.setCurrentIndex(dlg.class_set.findData("1"))
    dlg.device.setCurrentIndex(dlg.device.findData("cpu"))
    dlg.steps.setValue(steps)
    return dlg


def test_training_runs_with_loss_curve_and_samples_then_becomes_the_model(window, qtbot, tmp_path):
    out = tmp_path / "model"
    dlg = _dialog(window, out, 4)
    assert dlg.source.currentData() == "project" and not dlg.resume.isEnabled()
    cfg = dlg.config()
    assert cfg.resolution == (16, 32) and cfg.class_set == "1" and cfg.max_steps == 4
    handle = dlg.start()
    assert handle is not None and not dlg.start_button.isEnabled() and dlg.cancel_button.isEnabled()
    qtbot.waitUntil(handle.is_finished, timeout=120_000)
    assert handle.state == DONE, handle.error
    qtbot.waitUntil(lambda: len(dlg.curve.steps) == 4, timeout=5_000)
    assert dlg.curve.steps == [1, 2, 3, 4] and all(v > 0 for v in dlg.curve.losses)
    assert dlg.grid.pixmap() is not None and not dlg.grid.pixmap().isNull()  # the sample grid is shown
    assert dlg.result.step == 4 and (out / "config.json").is_file()
    assert "step 4" in dlg.status.text()
    img = dlg.curve.grab().toImage()
    assert img.pixelColor(img.width() // 2, img.height() // 2) is not None
    # "Use this model": the synthesis panel picks it up
    panel = window.model_panels.synthesis
    assert panel.model_problem is not None
    assert dlg.use_button.isEnabled()
    dlg.use_button.click()
    assert window.settings.model_dir == str(out) and panel.model_problem is None


def test_cancel_saves_a_checkpoint_and_resume_continues(window, qtbot, tmp_path):
    out = tmp_path / "model"
    dlg = _dialog(window, out, 100_000)
    handle = dlg.start()
    qtbot.waitUntil(lambda: dlg.last_step >= 2, timeout=120_000)
    dlg.cancel_button.click()
    qtbot.waitUntil(handle.is_finished, timeout=60_000)
    assert handle.state == CANCELLED
    checkpoints = sorted((out / "training").glob("checkpoint-*"))
    assert checkpoints, "cancelling must leave a checkpoint"
    saved = int(checkpoints[-1].name.split("-")[1])
    assert saved >= 2
    assert dlg.resume.isEnabled() and dlg.resume.isChecked()  # offered to continue
    assert "resume" in dlg.status.text().lower() or "continue" in dlg.status.text().lower()

    dlg.steps.setValue(saved + 2)
    handle = dlg.start()
    qtbot.waitUntil(handle.is_finished, timeout=120_000)
    assert handle.state == DONE, handle.error
    assert dlg.result.start_step == saved and dlg.result.step == saved + 2
    assert dlg.curve.steps[-1] == saved + 2 and saved in dlg.curve.steps  # the curve continued, not restarted
