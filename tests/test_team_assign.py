"""Work packages: `cadis assign` splits a dataset among annotators with an overlap set, never copying frames;
a package lists only its frames; every saved label and review records the project's annotator."""
from __future__ import annotations

import json

import numpy as np
import pytest

from engine.cli import main
from engine.project import Project, ProjectError
from engine.team import assign
from tests.test_project_store import make_cadis, tree_digest


@pytest.fixture
def dataset(tmp_path):
    return make_cadis(tmp_path / "cadis", videos=(1, 2, 3), frames=(10, 20, 30, 40))


def test_assign_writes_one_package_per_annotator_with_a_shared_overlap(dataset, tmp_path):
    before = tree_digest(dataset)
    out = tmp_path / "team"
    result = assign(dataset, "ana,ben,chen", out, overlap="25%", by="frame")
    assert tree_digest(dataset) == before  # the dataset is never written
    keys = [f"Video{v:02d}/Images/Video{v}_frame{f:06d}.png" for v in (1, 2, 3) for f in (10, 20, 30, 40)]
    assert len(result.overlap) == 3  # ceil(25% of 12)
    union = set()
    for name in ("ana", "ben", "chen"):
        listed = (out / f"{name}.frames.txt").read_text().split()
        assert set(result.overlap) <= set(listed)
        union |= set(listed)
        with Project.open_or_create(out / f"{name}.cadis-project") as p:
            assert p.frame_keys() == listed  # the package shows only its frames
            assert p.annotator == name
            assert p.dataset.root == dataset.resolve()  # the same dataset, frames not copied
        assert not list((out / f"{name}.cadis-project").rglob("Images"))
    assert union == set(keys)  # every frame is someone's
    sizes = [len(result.frames[n]) for n in ("ana", "ben", "chen")]
    assert sizes == [6, 6, 6]  # 3 overlap + 9 others split evenly
    team = json.loads((out / "team.json").read_text())
    assert team["annotators"] == ["ana", "ben", "chen"] and team["overlap"] == list(result.overlap)


def test_assign_by_video_keeps_videos_whole(dataset, tmp_path):
    result = assign(dataset, ["ana", "ben", "chen"], tmp_path / "t", overlap="0", by="video")
    for name in ("ana", "ben", "chen"):
        videos = {k.split("/")[0] for k in result.frames[name]}
        assert len(videos) == 1 and len(result.frames[name]) == 4


def test_saved_labels_and_reviews_record_the_annotator(dataset, tmp_path):
    assign(dataset, "ana,ben", tmp_path / "t", overlap=2)
    with Project.open_or_create(tmp_path / "t" / "ana.cadis-project") as p:
        key = p.frame_keys()[0]
        p.save_label(key, np.zeros(p.image_size(key), np.uint8))
        p.set_status(key, "done")
        assert p.people()[key] == (["ana"], ["ana"])
    with Project.open_or_create(dataset, project_dir=tmp_path / "plain") as p:  # no annotator: nothing recorded
        key = p.frame_keys()[0]
        p.save_label(key, np.zeros(p.image_size(key), np.uint8))
        assert p.people() == {}


def test_assign_cli_refuses_bad_input_in_one_line(dataset, tmp_path, capsys):
    assert main(["assign", str(dataset), "--annotators", "ana,ANA", "--out", str(tmp_path / "a"), "--no-progress"]) == 2
    assert main(["assign", str(dataset), "--annotators", "ana,../x", "--out", str(tmp_path / "b"), "--no-progress"]) == 2
    assert main(["assign", str(dataset), "--annotators", "ana", "--overlap", "150%", "--out", str(tmp_path / "c"),
                 "--no-progress"]) == 2
    assert main(["assign", str(dataset), "--annotators", "ana", "--out", str(dataset / "inside"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("cadis assign: ") for line in err)
    assert not (dataset / "inside").exists()
    assert main(["assign", str(dataset), "--annotators", "ana,ben", "--out", str(tmp_path / "ok"), "--no-progress"]) == 0
    with pytest.raises(ProjectError):
        assign(dataset, "ana", tmp_path / "ok")  # not an empty folder


def test_a_tampered_package_record_is_one_clear_error(dataset, tmp_path):
    import sqlite3

    assign(dataset, "ana", tmp_path / "t", overlap=0)
    db = tmp_path / "t" / "ana.cadis-project" / "project.sqlite"
    with sqlite3.connect(db) as c:
        c.execute("UPDATE meta SET value='{not json' WHERE key='team.package'")
    with pytest.raises(ProjectError, match="work package"):
        Project.open_or_create(tmp_path / "t" / "ana.cadis-project")
    with sqlite3.connect(db) as c:
        c.execute("""UPDATE meta SET value='{"annotator": "ana", "frames": ["../../etc/passwd"]}' """
                  "WHERE key='team.package'")
    with Project.open_or_create(tmp_path / "t" / "ana.cadis-project") as p:
        assert p.frame_keys() == []  # only frames of the dataset are ever listed
    with sqlite3.connect(db) as c:
        c.execute("UPDATE meta SET value='../x' WHERE key='annotator'")
    with Project.open_or_create(tmp_path / "t" / "ana.cadis-project") as p:
        key = p.dataset.frames[0].key
        with pytest.raises(ProjectError, match="not allowed"):
            p.put_version(key, p.annotator, np.zeros(p.image_size(key), np.uint8))
