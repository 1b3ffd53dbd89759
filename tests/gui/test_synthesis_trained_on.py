"""The Synthesize dock says what its model knows: the phantom starter is named as such with the way to train
one on the user's frames, a result from a frame unlike the training frames is flagged and asked about before it
becomes a pair, and a double click opens a result at its full size."""
from __future__ import annotations

import json
import shutil

import pytest
from PySide6.QtWidgets import QMessageBox

from engine.models.trained_on import TRAINED_ON, training_record
from tests.gui.synthesis_fixtures import model_dir  # noqa: F401 - fixture
from tests.gui.window_helpers import make_settings, open_window

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture
def phantom_model(model_dir, phantom_root, tmp_path):  # noqa: F811
    """The tiny model, its card saying it was trained on the plain phantom (`phantom_root`'s frames)."""
    from engine.dataset import open_dataset
    from engine.imageio import read_image

    out = tmp_path / "phantom-model"
    shutil.copytree(model_dir, out)
    card = json.loads((out / "model_card.json").read_text())
    images = [read_image(r.image_path) for r in open_dataset(phantom_root).labelled()]
    card[TRAINED_ON] = training_record(phantom_root, images, (72, 128))
    (out / "model_card.json").write_text(json.dumps(card))
    return out


def _window(qtbot, tmp_path, model, source):
    settings = make_settings(tmp_path / "s.ini")
    settings.model_dir, settings.device = str(model), "cpu"
    return open_window(qtbot, source, tmp_path / "proj", settings)


def _synthesize(window, qtbot):
    panel = window.model_panels.synthesis
    panel.steps.setValue(2)
    panel.variants.setValue(1)
    handle = panel.synthesize()
    qtbot.waitUntil(handle.is_finished, timeout=60_000)
    return panel.gallery.selected_entry()


def test_phantom_model_on_its_own_style_says_so_and_accepts_without_asking(qtbot, tmp_path, phantom_model,
                                                                            phantom_root, monkeypatch):
    window = _window(qtbot, tmp_path, phantom_model, phantom_root)
    panel = window.model_panels.synthesis
    text = panel.knows_label.text()
    assert panel.knows_label.isVisible() and "Phantom starter" in text and "Train synthesis model" in text
    entry = _synthesize(window, qtbot)
    assert "warning" not in entry.provenance and not entry.title.startswith("⚠")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: pytest.fail("asked about a frame like the model's"))
    assert panel.accept_selected() is not None


def test_frame_of_another_style_warns_before_the_pair_is_stored(qtbot, tmp_path, phantom_model, monkeypatch):
    from engine.phantom import generate_dataset

    realistic = tmp_path / "realistic"
    generate_dataset(realistic, videos=1, frames_per_video=2, seed=5, style="realistic")
    window = _window(qtbot, tmp_path, phantom_model, realistic)
    panel = window.model_panels.synthesis
    entry = _synthesize(window, qtbot)
    assert "unlike the phantom frames" in entry.provenance["warning"] and entry.title.startswith("⚠")
    assert panel.status.text().startswith("⚠")
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.No)
    assert panel.accept_selected() is None and window.doc.project.pairs() == []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    pair_id = panel.accept_selected()
    assert asked and pair_id is not None
    assert "unlike" in window.doc.project.pair(pair_id).provenance["warning"]  # the pair keeps the flag

    # a double click on the result opens it pixel for pixel (the dock may be tabbed away: Qt's own signal)
    panel.gallery.itemDoubleClicked.emit(panel.gallery.currentItem())
    view = panel.full_view
    assert view is not None and view.isVisible()
    h, w = entry.image.shape[:2]
    assert (view.picture.pixmap().width(), view.picture.pixmap().height()) == (w, h) == (960, 540)
    assert view.warning.isVisible()
    view.grab().save(str(tmp_path / "full_view.png"))
