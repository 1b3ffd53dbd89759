"""Issue 22, item 4: frames without a label are normal ("to label"), not dataset problems; real problems open
the dialog once per change, not at every open."""
from __future__ import annotations

import shutil

import pytest

from engine.dataset import open_dataset, validate
from tests.gui.window_helpers import make_settings, open_window

pytestmark = pytest.mark.gui


def _without_labels(phantom_root, tmp_path, n=3):
    root = tmp_path / "data"
    shutil.copytree(phantom_root, root)
    labels = sorted(root.glob("Video02/Labels/*.png"))[:n]
    for p in labels:
        p.unlink()
    return root, [p.relative_to(root).as_posix().replace("/Labels/", "/Images/") for p in labels]


def test_validation_lists_unlabelled_frames_as_to_label_not_problems(phantom_root, tmp_path):
    root, keys = _without_labels(phantom_root, tmp_path)
    report = validate(open_dataset(root))
    assert report.problems == [] and report.ok
    assert sorted(report.to_label) == sorted(keys) and report.unlabelled == len(keys)
    shutil.rmtree(root / "Video03" / "Labels")  # a new video nobody has labelled: no Labels/ folder at all
    report = validate(open_dataset(root))
    assert report.problems == [] and len(report.to_label) == len(keys) + len(list(root.glob("Video03/Images/*")))


def test_unlabelled_frames_are_to_label_and_real_problems_show_once(qtbot, phantom_root, tmp_path):
    root, keys = _without_labels(phantom_root, tmp_path)
    settings = make_settings(tmp_path / "s.ini")
    w = open_window(qtbot, root, tmp_path / "proj", settings)
    assert w.problems_dialog is None  # nothing is wrong: three frames are still to label
    assert sorted(w.frames.to_label_keys()) == sorted(keys)
    item = w.frames._items[keys[0]]
    assert "to label" in item.text(0) and "To label" in item.toolTip(1)
    w.frames.status_filter.setCurrentIndex(w.frames.status_filter.findData("to_label"))
    shown = [k for k, it in w.frames._items.items() if not it.isHidden()]
    assert sorted(shown) == sorted(keys)
    w.close()

    # a real problem: shown at the next open, then not again until something else changes
    broken = sorted(root.glob("Video01/Labels/*.png"))[0]
    broken.write_bytes(b"not a png")
    w2 = open_window(qtbot, root, tmp_path / "proj", settings)
    qtbot.waitUntil(lambda: w2.problems_dialog is not None, timeout=10_000)
    assert "1 problem" in w2.problems_dialog.intro.text()
    w2.problems_dialog.close()
    w2.close()
    w3 = open_window(qtbot, root, tmp_path / "proj", settings)
    assert w3.problems_dialog is None and "known problem" in w3.statusBar().currentMessage()
    w3.close()
    second = sorted(root.glob("Video03/Labels/*.png"))[0]
    second.write_bytes(b"also not a png")  # what is wrong changed: shown again
    w4 = open_window(qtbot, root, tmp_path / "proj", settings)
    qtbot.waitUntil(lambda: w4.problems_dialog is not None, timeout=10_000)
    assert "2 problems" in w4.problems_dialog.intro.text()
