"""Team in the app, as a new user would: Team → Assign… writes three packages; a package opens with only its
frames; three annotators label the overlap frame differently; Team → Merge projects… merges and opens the
merged project with the review dock; a click on a disputed region takes the chosen version (one undo step, the
decision recorded); Settle marks it done. Screenshots at 1366x768 go to $CADIS_SHOTS when set.
One test of ~30 s on purpose: it is the issue's whole user flow (four projects opened in one window)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.imageio import read_label
from engine.project import Project
from tests.gui.canvas_helpers import pixel_click
from tests.gui.window_helpers import make_settings, open_window

pytestmark = pytest.mark.gui


def _shot(window, name: str) -> None:
    folder = os.environ.get("CADIS_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        window.grab().save(str(Path(folder) / f"{name}.png"))


def _run(qtbot, dialog):
    handle = dialog.start()
    assert handle is not None, dialog.message.text()
    with qtbot.waitSignal(handle.finished, timeout=60_000):
        pass
    assert handle.state == "done", handle.error
    return handle


def test_assign_merge_and_review_in_the_app(qtbot, phantom_root, tmp_path):
    window = open_window(qtbot, phantom_root, tmp_path / "main.cadis-project", make_settings(tmp_path / "s.ini"))
    window.resize(1366, 768)
    team = tmp_path / "team"
    dialog = window.team.open_assign()
    assert dialog.dataset.text() == str(phantom_root.resolve())
    dialog.annotators.setText("ana, ben, chen")
    dialog.overlap.setText("1")
    dialog.out_dir.setText(str(team))
    _shot(dialog, "assign_dialog")
    _run(qtbot, dialog)
    assert "3 packages" in dialog.message.text()
    dialog.close()

    # an annotator opens their package: the frame list holds only its frames
    assert window.open_source(team / "ben.cadis-project")
    listed = (team / "ben.frames.txt").read_text().split()
    assert window.frames.keys() == listed and len(listed) < 9
    window.runner.wait(30_000)
    _shot(window, "package_open")

    # three workstations: the overlap frame labelled three ways
    shared = Path(team / "ana.frames.txt").read_text().split()
    shared = [k for k in shared if k in set((team / "ben.frames.txt").read_text().split())
              and k in set((team / "chen.frames.txt").read_text().split())][0]
    truth = read_label(phantom_root / shared.replace("Images", "Labels"))
    versions = {n: truth.copy() for n in ("ana", "ben", "chen")}
    versions["ben"][100:160, 100:220] = 7
    versions["chen"][300:340, 600:700] = 9
    assert window.open_source(phantom_root, tmp_path / "main.cadis-project")  # ben's package is closed again
    for name, label in versions.items():
        with Project.open_or_create(team / f"{name}.cadis-project") as p:
            p.save_label(shared, label)

    merge = window.team.open_merge()
    merge.add_projects([team / f"{n}.cadis-project" for n in ("ana", "ben", "chen")])
    merged_dir = tmp_path / "merged.cadis-project"
    merge.out_dir.setText(str(merged_dir))
    _shot(merge, "merge_dialog")
    _run(qtbot, merge)
    window.runner.wait(30_000)
    assert window.doc.project.root == merged_dir.resolve()  # the merged project was opened
    review = window.team.review
    assert window.team.dock.isVisible() and review.list.count() == 1
    review.reviewer.setText("lead")
    review.reviewer.editingFinished.emit()
    assert review.step(1) == shared and window.doc.key == shared
    assert sorted(review.versions) == ["ana", "ben", "chen"]
    # the majority proposal dropped ben's and chen's odd regions
    assert (window.doc.label == truth).all()
    assert review.layer.item.isVisible() and review.layer.pixels()[120, 150] != 0
    window.resize(1366, 768)
    qtbot.wait(50)
    _shot(window, "review_disputes")

    # take ben's version in his region by clicking it on the canvas
    [b for b in review.authors.buttons() if b.text() == "ben"][0].setChecked(True)
    assert review.chosen_author() == "ben"
    review.pick.setChecked(True)
    window.canvas.centerOn(150, 130)
    pixel_click(window.canvas, 150, 130)
    label = window.doc.label
    assert (label[100:160, 100:220] == 7).all() and (label[300:340, 600:700] == truth[300:340, 600:700]).all()
    _shot(window, "review_taken")
    window.doc.undo()
    assert (window.doc.label == truth).all()  # one undo step
    window.doc.redo()
    review.settle_frame()
    project = window.doc.project
    (d,) = project.disputes()
    assert not d.open and d.decided_by == "lead" and d.decision[0]["author"] == "ben"
    assert project.status(shared) == "done"
    assert (project.load_label(shared)[100:160, 100:220] == 7).all()
    assert "0 disputed frames to review (1 settled)" in review.summary.text()

    # File → Export… of the merged project: who labelled and reviewed, and the agreement threshold
    export = window.export()
    assert export.agreement.isVisibleTo(export)  # offered for a team's project only
    export.agreement.setChecked(True)
    export.min_agreement.setValue(0.5)
    export.out_dir.setText(str(tmp_path / "export"))
    _shot(export, "export_dialog")
    handle = export.start()
    with qtbot.waitSignal(handle.finished, timeout=60_000):
        pass
    assert handle.state == "done", handle.error
    manifest = json.loads((tmp_path / "export" / "manifest.json").read_text())
    (frame,) = [f for f in manifest["frames"] if f["key"] == shared]
    # everyone who saved the frame's label (the lead saved it after taking ben's region), and who settled it
    assert frame["labelled_by"] == ["ana", "ben", "chen", "lead"] and frame["reviewed_by"] == ["lead"]
    assert manifest["filters"]["min_agreement"] == 0.5
