"""Merging a team's projects: no edit lost, disputes kept with every version and a proposal, the majority
proposal right on a constructed case, idempotent, foreign packages refused in one line."""
from __future__ import annotations

import numpy as np
import pytest

from engine.cli import main
from engine.project import Project, ProjectError
from engine.team import assign, merge_projects, propose
from tests.test_project_store import H, W, make_cadis


@pytest.fixture
def team(tmp_path):
    data = make_cadis(tmp_path / "cadis", videos=(1, 2), frames=(10, 20, 30))
    result = assign(data, "ana,ben,chen", tmp_path / "team", overlap=1)
    return data, tmp_path / "team", result


def _edit(folder, name, edits: dict, statuses=None, notes=None, pair=False):
    with Project.open_or_create(folder / f"{name}.cadis-project") as p:
        for key, label in edits.items():
            p.save_label(key, label)
        for key, status in (statuses or {}).items():
            p.set_status(key, status)
        for key, note in (notes or {}).items():
            p.set_note(key, note)
        if pair:
            img = np.zeros((H, W, 3), np.uint8)
            p.set_pair_status(p.add_pair(img, np.full((H, W), 3, np.uint8), "synthesis", {"seed": 1}), "accepted")


def _projects(folder):
    return [folder / f"{n}.cadis-project" for n in ("ana", "ben", "chen")]


def test_three_annotators_merge_without_losing_an_edit(team, tmp_path):
    data, folder, result = team
    shared = result.overlap[0]
    own = {n: [k for k in result.frames[n] if k != shared][0] for n in ("ana", "ben", "chen")}
    base = np.zeros((H, W), np.uint8)
    # the overlap frame: ana and ben agree except one pixel block, chen paints a region differently
    v_ana, v_ben, v_chen = base.copy(), base.copy(), base.copy()
    v_ana[0:4, 0:4] = 5
    v_ben[0:4, 0:4] = 5
    v_ben[10:12, 10:12] = 7
    v_chen[0:4, 0:4] = 6
    v_chen[10:12, 10:12] = 7
    _edit(folder, "ana", {shared: v_ana, own["ana"]: np.full((H, W), 1, np.uint8)}, {own["ana"]: "done"},
          {own["ana"]: "check the lens edge"}, pair=True)
    _edit(folder, "ben", {shared: v_ben, own["ben"]: np.full((H, W), 2, np.uint8)})
    _edit(folder, "chen", {shared: v_chen, own["chen"]: np.full((H, W), 3, np.uint8)}, {own["chen"]: "rejected"})

    merged_dir = tmp_path / "merged.cadis-project"
    res = merge_projects(_projects(folder), merged_dir)
    assert res.disputed == [shared]
    with Project.open_or_create(merged_dir, read_only=True) as m:
        for name, value in (("ana", 1), ("ben", 2), ("chen", 3)):
            assert (m.load_label(own[name]) == value).all()  # every single-annotator edit arrived
            assert m.people()[own[name]][0] == [name]
        assert m.status(own["ana"]) == "done" and m.status(own["chen"]) == "rejected"
        assert "ana: check the lens edge" in m.note(own["ana"])
        # the disputed frame: every version kept, flagged, with the majority proposal
        assert [v.author for v in m.versions(shared)] == ["ana", "ben", "chen"]
        for name, v in (("ana", v_ana), ("ben", v_ben), ("chen", v_chen)):
            assert (m.load_version(shared, name) == v).all()
        expected = base.copy()
        expected[0:4, 0:4] = 5  # two of three say 5
        expected[10:12, 10:12] = 7  # two of three say 7
        assert (m.load_label(shared) == expected).all()
        assert m.status(shared) == "flagged"
        (d,) = m.disputes(open_only=True)
        assert d.key == shared and d.authors == ("ana", "ben", "chen") and d.method == "majority"
        assert len(m.pairs()) == 1 and m.pairs()[0].status == "accepted"
        assert m.pairs()[0].provenance["annotator"] == "ana"
        snapshot = _state(m)

    again = merge_projects(_projects(folder), merged_dir)  # merging twice gives the same project
    assert again.disputed == [] and again.pairs == 0 and again.labels == 0
    with Project.open_or_create(merged_dir, read_only=True) as m:
        assert _state(m) == snapshot
    other = merge_projects(_projects(folder), tmp_path / "again.cadis-project")  # and a fresh merge the same
    with Project.open_or_create(tmp_path / "again.cadis-project", read_only=True) as m:
        assert other.disputed == [shared] and _state(m) == snapshot


def _state(m: Project):
    labels = {k: m.load_label(k).tobytes() for k in m.frame_keys() if m.has_saved_label(k)}
    return (labels, m.statuses(), {k: m.note(k) for k in m.frame_keys()}, [(v.key, v.author, v.sha256)
            for v in m.versions()], [(d.key, d.authors, d.method, d.open) for d in m.disputes()],
            [(p.source, p.status, p.provenance.get("merged_from")) for p in m.pairs()], m.people())


def test_a_changed_version_reopens_the_dispute_and_a_reviewed_pair_wins(team, tmp_path):
    data, folder, result = team
    shared = result.overlap[0]
    a, b = np.zeros((H, W), np.uint8), np.zeros((H, W), np.uint8)
    b[:5] = 4
    _edit(folder, "ana", {shared: a}, {shared: "done"})
    _edit(folder, "ben", {shared: b})
    merged = tmp_path / "m.cadis-project"
    res = merge_projects(_projects(folder)[:2], merged)
    with Project.open_or_create(merged, read_only=True) as m:
        (d,) = m.disputes()
        assert d.method == "reviewed" and (m.load_label(shared) == a).all()
    b[:8] = 9
    _edit(folder, "ben", {shared: b})
    res = merge_projects(_projects(folder)[:2], merged)
    assert res.disputed == [shared]
    with Project.open_or_create(merged, read_only=True) as m:
        assert (m.load_version(shared, "ben") == b).all()


def test_majority_vote_ties_and_two_version_fusion():
    a = np.array([[1, 1, 2]], np.uint8)
    b = np.array([[1, 2, 3]], np.uint8)
    c = np.array([[2, 3, 4]], np.uint8)
    label, method = propose({"a": a, "b": b, "c": c})
    assert method == "majority" and label.tolist() == [[1, 255, 255]]  # 3-way ties stay unlabelled
    label, _ = propose({"a": a, "b": b, "c": c}, reviewed={"c"})
    assert label.tolist() == [[1, 3, 4]]  # ties go to the reviewed version when it is among the tied
    label, method = propose({"a": a, "b": b}, weights={"a": 0.9, "b": 0.5})
    assert method == "weighted" and label.tolist() == [[1, 1, 2]]
    label, _ = propose({"a": a, "b": b})
    assert label.tolist() == [[1, 255, 255]]


def test_a_package_of_another_dataset_is_refused(team, tmp_path, capsys):
    data, folder, result = team
    other = make_cadis(tmp_path / "other", videos=(7,), frames=(10,))
    assign(other, "dan", tmp_path / "team2", overlap=0)
    foreign = tmp_path / "team2" / "dan.cadis-project"
    merged = tmp_path / "m.cadis-project"
    with pytest.raises(ProjectError, match="another dataset"):
        merge_projects(_projects(folder) + [foreign], merged)
    assert not merged.exists()  # refused before anything was written
    merge_projects(_projects(folder), merged)
    code = main(["merge", str(foreign), "--out", str(merged), "--no-progress"])  # into a project of another dataset
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "another dataset" in err[0]
    code = main(["merge", str(folder / "ana.cadis-project"), "--out", str(folder / "ana.cadis-project"),
                 "--no-progress"])
    assert code == 2


def test_merging_into_a_project_with_its_own_label_keeps_it_as_a_version(team, tmp_path):
    data, folder, result = team
    shared = result.overlap[0]
    own = np.full((H, W), 6, np.uint8)
    with Project.open_or_create(data, project_dir=tmp_path / "main.cadis-project") as main_project:
        main_project.set_annotator("lead")
        main_project.save_label(shared, own)
    _edit(folder, "ana", {shared: np.full((H, W), 1, np.uint8)})
    res = merge_projects([folder / "ana.cadis-project"], tmp_path / "main.cadis-project")
    assert res.disputed == [shared]  # the project's own label is not overwritten silently
    with Project.open_or_create(tmp_path / "main.cadis-project", read_only=True) as m:
        assert [v.author for v in m.versions(shared)] == ["ana", "lead"]
        assert (m.load_version(shared, "lead") == own).all()
        assert m.status(shared) == "flagged"
