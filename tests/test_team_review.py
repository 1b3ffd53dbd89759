"""Reviewing a disputed frame in the engine session: the region under a click, taking a version there as one
undo step, the decision recorded with the reviewer's name, the dispute settled."""
from __future__ import annotations

import numpy as np
import pytest

from engine.project import Project
from engine.session import ProjectSession
from engine.team import assign, merge_projects
from engine.team.review import differ_mask, load_versions, open_disputes, record_take, region_at, settle, take_version
from tests.test_project_store import H, W, make_cadis


@pytest.fixture
def merged(tmp_path):
    data = make_cadis(tmp_path / "cadis", videos=(1,), frames=(10, 20))
    result = assign(data, "ana,ben", tmp_path / "team", overlap=1)
    key = result.overlap[0]
    for name in ("ana", "ben"):
        lab = np.zeros((H, W), np.uint8)
        if name == "ben":
            lab[2:6, 2:6] = 4  # region 1: ben says Iris
            lab[15:20, 25:35] = 7  # region 2
        with Project.open_or_create(tmp_path / "team" / f"{name}.cadis-project") as p:
            p.save_label(key, lab)
    out = tmp_path / "m.cadis-project"
    merge_projects([tmp_path / "team" / f"{n}.cadis-project" for n in ("ana", "ben")], out)
    return out, key


def test_take_a_version_in_one_region_as_one_undo_step(merged):
    out, key = merged
    project = Project.open_or_create(out)
    project.set_annotator("lead")
    session = ProjectSession()
    session.open_project(project)
    try:
        assert open_disputes(project) == [key]
        versions = load_versions(project, key)
        assert differ_mask(versions).sum() == 16 + 50
        assert region_at(versions, 10, 10) is None  # the versions agree there
        region = region_at(versions, 3, 3)
        assert region.sum() == 16 and region[2:6, 2:6].all()
        assert session.set_frame(key)
        before = session.label.copy()
        rec = session.apply(take_version, versions["ben"], region, None)
        assert rec is not None
        assert (session.label[2:6, 2:6] == 4).all()
        assert (session.label[15:20, 25:35] == before[15:20, 25:35]).all()  # the other region untouched
        session.undo()
        assert (session.label == before).all()  # one undo step
        session.redo()
        record_take(project, key, "ben", 3, 3, region)
        assert session.save()
        (d,) = project.disputes()
        assert d.open and d.decision == [{"author": "ben", "x": 3, "y": 3, "pixels": 16}] and d.decided_by == "lead"
        settle(project, key)
        assert open_disputes(project) == []
        assert project.people()[key][1] == ["lead"]
        assert (project.load_label(key)[2:6, 2:6] == 4).all()
    finally:
        session.close_project()
