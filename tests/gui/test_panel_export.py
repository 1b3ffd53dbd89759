"""The export dialog (CaDIS / COCO / both, experiment, real and synthetic, statuses, overwrite) run as a job,
and the class-frequency report view (after an export and computed from the project)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from desktop.panels.export_dialog2 import ExportJobDialog, ExportOptions
from desktop.panels.report_view import ReportView
from engine.imageio import read_label
from tests.gui.panel_helpers import add_scored_pairs, close, open_document

pytestmark = pytest.mark.gui


@pytest.fixture
def setup(qtbot, phantom_root, tmp_path):
    doc, runner, settings = open_document(qtbot, phantom_root, tmp_path)
    ids = add_scored_pairs(doc.project, [("augment", 0.9, 0.1), ("text_edit", 0.8, None), ("augment", 0.2, 0.9)])
    doc.project.set_pair_status(ids[0], "accepted")
    doc.project.set_pair_status(ids[1], "accepted")
    doc.project.set_pair_status(ids[2], "rejected")
    dialog = ExportJobDialog(doc, runner, settings)
    qtbot.addWidget(dialog)
    dialog.show()
    yield dialog, doc, runner, ids, tmp_path
    close(doc, runner)


def _export(qtbot, dialog, options: ExportOptions):
    dialog.set_options(options)
    assert dialog.options() == options
    handle = dialog.start()
    assert handle is not None, dialog.last_message
    with qtbot.waitSignal(handle.finished, timeout=60_000):
        pass
    return handle


def test_export_both_formats_with_synthetic_pairs_and_report(qtbot, setup):
    dialog, doc, _runner, ids, tmp = setup
    out = tmp / "export"
    outcomes = []
    dialog.exported.connect(outcomes.append)
    handle = _export(qtbot, dialog, ExportOptions(str(out), format="both", include=("real", "synthetic")))
    assert handle.state == "done", handle.error
    manifest = json.loads((out / "manifest.json").read_text())
    real = [f for f in manifest["frames"] if f["source"] == "real"]
    synth = [f for f in manifest["frames"] if f["source"] != "real"]
    assert len(real) == len(doc.project.frame_keys())
    assert sorted(f["pair_id"] for f in synth) == sorted(ids[:2])  # accepted only
    assert all(f["split"] == "train" and f["label"].startswith("Synthetic01/") for f in synth)
    # COCO masks decode to the exported labels
    from engine.export.coco import decode_labels

    decoded = decode_labels(json.loads((out / "coco.json").read_text()))
    for f in manifest["frames"]:
        assert np.array_equal(decoded[f["image"]], read_label(out / f["label"]))
    # the report is written and shown
    for name in ("class_frequency.md", "class_frequency.csv", "class_frequency.png"):
        assert (out / name).is_file()
    assert outcomes and outcomes[0].coco_path == out / "coco.json"
    assert dialog.report.isVisible() and dialog.report.table.rowCount() == 36
    by_id = {r["id"]: r for r in dialog.report.rows}
    assert sum(r["frames_after"] - r["frames_before"] for r in by_id.values()) > 0
    assert by_id[0]["frames_after"] == by_id[0]["frames_before"] + sum(
        0 in np.unique(read_label(out / f["label"])) for f in synth)
    assert "Exported" in dialog.last_message and "2 synthetic" in dialog.last_message


def test_nonempty_folder_needs_overwrite(qtbot, setup):
    dialog, _doc, _runner, _ids, tmp = setup
    out = tmp / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    handle = _export(qtbot, dialog, ExportOptions(str(out)))
    assert handle.state == "failed" and "not empty" in dialog.last_message
    assert (out / "keep.txt").read_text() == "mine" and not (out / "manifest.json").exists()
    handle = _export(qtbot, dialog, ExportOptions(str(out), overwrite=True))  # overwrite: only an earlier export
    assert handle.state == "failed" and "not an earlier export" in dialog.last_message
    assert (out / "keep.txt").read_text() == "mine" and not (out / "manifest.json").exists()
    (out / "keep.txt").unlink()
    assert _export(qtbot, dialog, ExportOptions(str(out))).state == "done"
    handle = _export(qtbot, dialog, ExportOptions(str(out), overwrite=True))
    assert handle.state == "done", handle.error
    assert (out / "manifest.json").is_file()


def test_experiment_remaps_and_cadis_only_writes_no_coco(qtbot, setup):
    dialog, doc, _runner, _ids, tmp = setup
    out = tmp / "exp2"
    handle = _export(qtbot, dialog, ExportOptions(str(out), format="cadis", experiment="2", split="train"))
    assert handle.state == "done", handle.error
    assert not (out / "coco.json").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["frames"] and all(f["split"] == "train" and f["source"] == "real" for f in manifest["frames"])
    for f in manifest["frames"]:
        ids_present = set(np.unique(read_label(out / f["label"])).tolist())
        assert ids_present <= set(range(17)) | {255}
    assert dialog.report.table.rowCount() == 17


def test_form_problems_are_reported_without_running(setup):
    dialog, _doc, runner, _ids, tmp = setup
    for opts, text in ((ExportOptions(""), "output folder"),
                       (ExportOptions(str(tmp / "x"), include=()), "real frames"),
                       (ExportOptions(str(tmp / "x"), statuses=()), "status")):
        dialog.set_options(opts)
        assert dialog.start() is None and text in dialog.last_message
    assert not runner.jobs()


def test_report_view_from_project_counts_accepted_pairs(qtbot, setup):
    _dialog, doc, runner, ids, _tmp = setup
    view = ReportView(doc, runner, None)
    qtbot.addWidget(view)
    view.class_combo.setCurrentIndex(view.class_combo.findData("1"))
    handle = view.compute_from_project()
    with qtbot.waitSignal(handle.finished, timeout=30_000):
        pass
    assert handle.state == "done", handle.error
    assert view.table.rowCount() == 8 and view.chart_image is not None
    n_frames = len(doc.project.keys_with_status(["done"]))
    frames_with_class = [sum(c in np.unique(doc.project.load_label(k)) for k in doc.project.frame_keys())
                         for c in range(7)]
    accepted = [doc.project.load_pair(i)[1] for i in ids[:2]]
    for c in range(7):
        row = view.rows[c]
        assert row["frames_before"] == frames_with_class[c]
        assert row["frames_after"] == frames_with_class[c] + sum(c in np.unique(lab) for lab in accepted)
    assert n_frames == len(doc.project.frame_keys())
    assert not view.chart.pixmap().isNull()


def test_dialog_says_which_frames_it_leaves_out(setup):
    dialog, doc, _runner, _ids, _tmp = setup
    keys = doc.project.frame_keys()
    doc.project.set_status(keys[0], "done")
    doc.project.set_status(keys[1], "flagged")
    doc.project.set_status(keys[2], "unlabelled")
    dialog._update_left_out()
    left = dialog.left_out_frames()
    n_out = sum(s != "done" for s in doc.project.statuses().values())
    assert keys[0] not in sum(left.values(), []) and left["flagged"] == [keys[1]] and keys[2] in left["unlabelled"]
    text = dialog.left_out.text()
    assert f"Leaves out {n_out} frames" in text and "1 flagged" in text and "not reviewed" in text
    for box in dialog.status_boxes.values():
        box.setChecked(True)
    assert dialog.left_out.text() == "Every real frame is exported."
