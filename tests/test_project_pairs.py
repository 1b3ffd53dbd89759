"""Synthetic pairs in a project: add, list, filter, load, review status, provenance, refusals."""
from __future__ import annotations

import numpy as np
import pytest

from engine.project import PAIR_STATUSES, Project, ProjectError

from test_project_store import H, W, make_cadis


@pytest.fixture
def project(tmp_path):
    p = Project.open_or_create(make_cadis(tmp_path / "cadis"))
    yield p
    p.close()


def pair(seed: int, h: int = 12, w: int = 16):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8), rng.integers(0, 36, (h, w), dtype=np.uint8)


def test_add_load_and_filter_pairs(project):
    parent = project.frame_keys()[0]
    (i1, l1), (i2, l2), (i3, l3) = pair(1), pair(2, 20, 8), pair(3)
    a = project.add_pair(i1, l1, "synthesis", {"model": "spade-tiny", "seed": 1, "steps": 20}, parent_key=parent)
    b = project.add_pair(i2, l2, "augment", {"ops": ["flip"]})
    c = project.add_pair(i3, l3, "synthesis", {"seed": 3})
    assert len({a, b, c}) == 3
    img, lab = project.load_pair(b)
    assert np.array_equal(img, i2) and np.array_equal(lab, l2)
    recs = project.pairs()
    assert [r.id for r in recs] == [a, b, c] and all(r.status == "pending" for r in recs)
    assert recs[0].provenance == {"model": "spade-tiny", "seed": 1, "steps": 20}
    assert recs[0].parent_key == parent and recs[1].parent_key is None
    assert (recs[1].width, recs[1].height) == (8, 20)
    assert recs[0].image_path == project.root / "pairs" / str(a) / "image.png"
    assert [r.id for r in project.pairs(source="synthesis")] == [a, c]
    project.set_pair_status(c, "accepted")
    project.set_pair_status(a, "rejected")
    assert [r.id for r in project.pairs(status="accepted")] == [c]
    assert [r.id for r in project.pairs(status="pending", source="augment")] == [b]
    assert set(PAIR_STATUSES) == {"pending", "accepted", "rejected"}


def test_pairs_survive_reopen(project):
    img, lab = pair(5)
    pid = project.add_pair(img, lab, "text_edit", {"prompt": "a longer incision"})
    project.set_pair_status(pid, "accepted")
    root = project.root
    project.close()
    with Project.open_or_create(root) as p:
        (rec,) = p.pairs()
        assert rec.id == pid and rec.status == "accepted" and rec.provenance["prompt"] == "a longer incision"
        assert np.array_equal(p.load_pair(pid)[1], lab)


def test_bad_pairs_are_refused_and_leave_nothing(project):
    img, lab = pair(7)
    with pytest.raises(ProjectError, match="must match"):
        project.add_pair(img, lab[:5], "synthesis", {})
    with pytest.raises(ProjectError, match="RGB"):
        project.add_pair(img[..., 0], lab, "synthesis", {})
    with pytest.raises(ProjectError, match="JSON"):
        project.add_pair(img, lab, "synthesis", {"model": object()})
    with pytest.raises(ProjectError, match="short name"):
        project.add_pair(img, lab, "", {})
    with pytest.raises(ProjectError, match="not part of the dataset"):
        project.add_pair(img, lab, "synthesis", {}, parent_key="Video99/Images/x.png")
    assert project.pairs() == [] and not (project.root / "pairs").exists()
    with pytest.raises(ProjectError, match="no synthetic pair"):
        project.load_pair(12)
    with pytest.raises(ProjectError, match="unknown pair status"):
        project.set_pair_status(1, "maybe")


def test_failed_file_write_rolls_back_the_row(project, monkeypatch):
    import engine.project.pairs as pairs_mod

    def disk_full(path, label):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pairs_mod, "write_label", disk_full)
    img, lab = pair(8)
    with pytest.raises(OSError, match="No space"):
        project.add_pair(img, lab, "synthesis", {})
    assert project.pairs() == []
    assert not any((project.root / "pairs").glob("*/*.png"))


def test_delete_pair(project):
    img, lab = pair(9, H, W)
    pid = project.add_pair(img, lab, "augment", {})
    project.delete_pair(pid)
    assert project.pairs() == [] and not (project.root / "pairs" / str(pid)).exists()


def test_pair_label_can_be_repaired_and_provenance_updated(tmp_path):
    from engine.project import ProjectError

    with Project.open_or_create(make_cadis(tmp_path / "cadis", videos=(1,), frames=(1,))) as p:
        image = np.full((H, W, 3), 90, np.uint8)
        label = np.full((H, W), 6, np.uint8)
        pid = p.add_pair(image, label, "synthesis", {"seed": 3})
        fixed = label.copy()
        fixed[2:5, 2:5] = 13
        p.save_pair_label(pid, fixed)
        img2, lab2 = p.load_pair(pid)
        assert np.array_equal(lab2, fixed) and np.array_equal(img2, image)
        with pytest.raises(ProjectError, match="outside 0..35"):
            p.save_pair_label(pid, np.full((H, W), 40, np.uint8))
        with pytest.raises(ProjectError, match="must be"):
            p.save_pair_label(pid, np.zeros((H + 1, W), np.uint8))
        assert np.array_equal(p.load_pair(pid)[1], fixed)  # refused writes left the repaired label
        assert p.update_pair_provenance(pid, {"scores": {"consistency": 0.5}}) == {"seed": 3, "scores": {"consistency": 0.5}}
        assert p.pair(pid).provenance["scores"]["consistency"] == 0.5
