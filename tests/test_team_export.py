"""Export of a merged team project: per frame who labelled and who reviewed it, the annotators' agreement, and
an option that leaves out frames whose annotators agree less than a threshold."""
from __future__ import annotations

import json

import numpy as np

from engine.cli import main
from engine.project import Project
from engine.team import assign, merge_projects
from tests.test_project_store import H, W, make_cadis


def test_export_records_people_and_filters_by_agreement(tmp_path):
    data = make_cadis(tmp_path / "cadis", videos=(1,), frames=(10, 20, 30, 40))
    result = assign(data, "ana,ben", tmp_path / "team", overlap=2)
    disputed_key, agreed_key = result.overlap
    own_ana = [k for k in result.frames["ana"] if k not in result.overlap][0]
    for name in ("ana", "ben"):
        with Project.open_or_create(tmp_path / "team" / f"{name}.cadis-project") as p:
            lab = np.zeros((H, W), np.uint8)
            p.save_label(agreed_key, lab)
            if name == "ben":
                lab = lab.copy()
                lab[:, : W // 2] = 4
            p.save_label(disputed_key, lab)
            if name == "ana":
                p.save_label(own_ana, np.full((H, W), 2, np.uint8))
            for k in p.frame_keys():
                if p.has_saved_label(k):
                    p.set_status(k, "done")
    merged = tmp_path / "m.cadis-project"
    merge_projects([tmp_path / "team" / f"{n}.cadis-project" for n in ("ana", "ben")], merged)
    with Project.open_or_create(merged) as m:
        m.set_annotator("lead")
        m.set_status(disputed_key, "done")  # the lead settles it
    out = tmp_path / "export"
    assert main(["export", str(merged), str(out), "--no-progress", "--no-report"]) == 0
    frames = {f["key"]: f for f in json.loads((out / "manifest.json").read_text())["frames"]}
    assert frames[own_ana]["labelled_by"] == ["ana"] and frames[own_ana]["reviewed_by"] == ["ana"]
    assert "agreement" not in frames[own_ana]  # one annotator: nothing measured
    assert frames[agreed_key]["labelled_by"] == ["ana", "ben"] and frames[agreed_key]["agreement"] == 1.0
    assert frames[agreed_key]["reviewed_by"] == ["ana", "ben"]
    assert frames[disputed_key]["reviewed_by"] == ["lead"]  # the packages' reviews do not settle a dispute
    assert 0 < frames[disputed_key]["agreement"] < 0.6
    out2 = tmp_path / "export2"
    assert main(["export", str(merged), str(out2), "--no-progress", "--no-report", "--min-agreement", "0.9"]) == 0
    manifest = json.loads((out2 / "manifest.json").read_text())
    kept = {f["key"] for f in manifest["frames"]}
    assert kept == {own_ana, agreed_key}
    assert [s["key"] for s in manifest["skipped"]] == [disputed_key]
    assert manifest["filters"]["min_agreement"] == 0.9
    assert main(["export", str(merged), str(tmp_path / "e3"), "--no-progress", "--min-agreement", "2"]) == 2
