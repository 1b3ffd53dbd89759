"""Project store: create/reopen, the dataset is never written, labels, statuses, notes, navigation, paths."""
from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from engine.imageio import read_label, write_image, write_label
from engine.project import STATUSES, Project, ProjectError, check_relpath, resolve_inside

W, H = 40, 24


def make_cadis(root: Path, videos=(1, 5, 2), frames=(10, 20), with_labels=True) -> Path:
    """A tiny CaDIS tree: each frame's image is a gradient, each label a stripe pattern of class IDs."""
    rng = np.random.default_rng(0)
    for v in videos:
        for f in frames:
            name = f"Video{v}_frame{f:06d}.png"
            write_image(root / f"Video{v:02d}" / "Images" / name, rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
            if with_labels:
                label = np.full((H, W), (v + f) % 7, np.uint8)
                label[:, : W // 2] = 4
                write_label(root / f"Video{v:02d}" / "Labels" / name, label)
    return root


def tree_digest(root: Path) -> dict[str, str]:
    """Path -> sha256 of every file (and folder names) under root."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for d in dirs:
            out[os.path.relpath(os.path.join(folder, d), root) + "/"] = "dir"
        for name in files:
            p = os.path.join(folder, name)
            out[os.path.relpath(p, root)] = hashlib.sha256(Path(p).read_bytes()).hexdigest()
    return out


@pytest.fixture
def dataset(tmp_path):
    return make_cadis(tmp_path / "cadis")


@pytest.fixture
def project(dataset):
    p = Project.open_or_create(dataset)
    yield p
    p.close()


def test_create_next_to_dataset_and_reopen_from_either_folder(dataset):
    p = Project.open_or_create(dataset)
    assert p.root == dataset.parent.resolve() / "cadis.cadis-project"
    assert (p.root / "project.sqlite").is_file()
    assert p.name == "cadis"
    keys = p.frame_keys()
    assert keys[0] == "Video01/Images/Video1_frame000010.png" and len(keys) == 6
    p.set_status(keys[0], "done")
    p.close()
    for src in (dataset, p.root):
        q = Project.open_or_create(src)
        assert q.root == p.root and q.status(keys[0]) == "done"
        assert q.dataset.root == dataset.resolve()
        q.close()


def test_explicit_project_dir_and_wal_mode(dataset, tmp_path):
    p = Project.open_or_create(dataset, project_dir=tmp_path / "elsewhere" / "proj")
    assert p.root == (tmp_path / "elsewhere" / "proj").resolve()
    with sqlite3.connect(p.root / "project.sqlite") as c:
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert int(c.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]) >= 1
    p.close()
    assert not (dataset.parent / "cadis.cadis-project").exists()


def test_refuses_project_inside_dataset_and_foreign_folders(dataset, tmp_path):
    with pytest.raises(ProjectError, match="inside the dataset"):
        Project.open_or_create(dataset, project_dir=dataset / "proj")
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "todo.txt").write_text("x")
    with pytest.raises(ProjectError, match="not a CaDIS Studio project"):
        Project.open_or_create(dataset, project_dir=foreign)
    with pytest.raises(ProjectError, match="does not exist"):
        Project.open_or_create(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ProjectError, match="no Video"):
        Project.open_or_create(empty)


def test_dataset_is_never_modified(dataset):
    before = tree_digest(dataset)
    p = Project.open_or_create(dataset)
    key = p.frame_keys()[1]
    label = p.load_label(key)
    label[:5, :5] = 9
    p.save_label(key, label)
    p.set_status(key, "done", "checked")
    p.add_pair(p.load_image(key), label, "synthesis", {"seed": 1}, parent_key=key)
    p.close()
    Project.open_or_create(dataset).close()
    assert tree_digest(dataset) == before


def test_load_label_falls_back_to_dataset_then_to_unlabelled(tmp_path):
    root = make_cadis(tmp_path / "d", videos=(3,), frames=(1,), with_labels=False)
    write_label(root / "Video03" / "Labels" / "Video3_frame000001.png", np.full((H, W), 2, np.uint8))
    make_cadis(root, videos=(4,), frames=(7,), with_labels=False)
    with Project.open_or_create(root) as p:
        k_lab, k_unlab = p.frame_keys()
        assert np.all(p.load_label(k_lab) == 2) and not p.has_saved_label(k_lab)
        unl = p.load_label(k_unlab)
        assert unl.shape == (H, W) and unl.dtype == np.uint8 and np.all(unl == 255)


def test_save_label_is_the_projects_copy(project):
    key = project.frame_keys()[2]
    original = project.load_label(key)
    edited = original.copy()
    edited[3:9, 4:12] = 13
    assert project.status(key) == "unlabelled"
    project.save_label(key, edited)
    assert project.has_saved_label(key)
    assert np.array_equal(project.load_label(key), edited)
    assert np.array_equal(read_label(project.label_path(key)), edited)
    assert project.label_path(key) == project.root / "labels" / key
    assert project.status(key) == "in_progress"
    project.set_status(key, "done")
    project.save_label(key, original)  # a later save keeps a finished status
    assert project.status(key) == "done"
    assert np.array_equal(project.load_label(key), original)


def test_save_label_refuses_bad_labels(project):
    key = project.frame_keys()[0]
    with pytest.raises(ProjectError, match="40x24"):
        project.save_label(key, np.zeros((10, 10), np.uint8))
    with pytest.raises(ProjectError, match="uint8"):
        project.save_label(key, np.zeros((H, W), np.int32))
    bad = np.zeros((H, W), np.uint8)
    bad[0, 0] = 40
    with pytest.raises(ProjectError, match="40"):
        project.save_label(key, bad)
    ok = np.full((H, W), 255, np.uint8)
    project.save_label(key, ok)  # 255 (unlabelled) is allowed
    with pytest.raises(ProjectError, match="not part of the dataset"):
        project.save_label("Video09/Images/Video9_frame000001.png", ok)
    assert not project.has_saved_label(project.frame_keys()[1])


def test_statuses_notes_and_next_unfinished(project):
    keys = project.frame_keys()
    assert project.statuses() == {k: "unlabelled" for k in keys}
    project.set_status(keys[0], "done", "good")
    project.set_status(keys[1], "flagged", "tool tip wrong")
    project.set_status(keys[1], "rejected")  # note=None keeps the note
    project.set_status(keys[2], "in_progress", "")
    assert project.note(keys[0]) == "good" and project.note(keys[1]) == "tool tip wrong"
    assert project.note(keys[2]) == "" and project.note(keys[3]) == ""
    st = project.statuses()
    assert list(st) == keys
    assert [st[k] for k in keys[:4]] == ["done", "rejected", "in_progress", "unlabelled"]
    assert project.next_unfinished() == keys[2]
    assert project.next_unfinished(keys[2]) == keys[3]
    assert project.next_unfinished(keys[5]) == keys[2]  # wraps around
    for k in keys[2:]:
        project.set_status(k, "done")
    assert project.next_unfinished() is None
    project.set_status(keys[4], "in_progress")
    assert project.next_unfinished(keys[4]) is None  # never the frame itself
    assert project.keys_with_status("done") == [keys[0], keys[2], keys[3], keys[5]]
    with pytest.raises(ProjectError, match="unknown status"):
        project.set_status(keys[0], "finished")
    assert set(STATUSES) == {"unlabelled", "in_progress", "done", "flagged", "rejected"}


def test_plain_frame_folder_becomes_a_project(tmp_path):
    folder = tmp_path / "new frames"
    rng = np.random.default_rng(1)
    for i in range(3):
        write_image(folder / f"f{i}.png", rng.integers(0, 255, (16, 20, 3), dtype=np.uint8))
    with Project.open_or_create(folder) as p:
        assert p.root.name == "new frames.cadis-project"
        key = p.frame_keys()[1]
        assert key == "f1.png" and p.record(key).split == "unassigned"
        label = p.load_label(key)
        assert np.all(label == 255)
        label[2:5, 2:5] = 0
        p.save_label(key, label)
    with Project.open_or_create(folder) as p:
        assert p.load_label(key)[3, 3] == 0 and p.status(key) == "in_progress"


def test_relative_paths_are_validated():
    for good in ("labels/Video01/Images/a.png", "pairs/3/image.png", "a"):
        assert check_relpath(good) == good
    for bad in ("../x.png", "labels/../../etc/passwd", "/etc/passwd", "C:/x.png", "a\\b.png", "a//b", "./a", ""):
        with pytest.raises(ProjectError):
            check_relpath(bad)


def test_resolve_inside_refuses_symlink_escape(tmp_path):
    root = tmp_path / "proj"
    (root / "labels").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, root / "labels" / "link")
    assert resolve_inside(root, "labels/a.png") == root / "labels" / "a.png"
    with pytest.raises(ProjectError, match="outside"):
        resolve_inside(root, "labels/link/a.png")


def test_tampered_pair_path_in_database_is_refused(project):
    pid = project.add_pair(np.zeros((H, W, 3), np.uint8), np.zeros((H, W), np.uint8), "synthesis", {})
    with sqlite3.connect(project.root / "project.sqlite") as c:
        c.execute("UPDATE pairs SET label_path='../../secret.png' WHERE id=?", (pid,))
    with pytest.raises(ProjectError, match=r"\.\."):
        project.load_pair(pid)


def test_relinks_moved_dataset_and_refuses_a_foreign_one(tmp_path):
    ds = make_cadis(tmp_path / "a" / "cadis")
    p = Project.open_or_create(ds, project_dir=tmp_path / "proj")
    key = p.frame_keys()[0]
    p.set_status(key, "done")
    p.close()
    moved = tmp_path / "b" / "cadis"
    moved.parent.mkdir()
    ds.rename(moved)
    with pytest.raises(ProjectError, match="no longer at"):
        Project.open_or_create(tmp_path / "proj")
    with Project.open_or_create(moved, project_dir=tmp_path / "proj") as p:
        assert p.status(key) == "done"
    with Project.open_or_create(tmp_path / "proj") as p:  # the new place was recorded
        assert p.dataset.root == moved.resolve()
    other = make_cadis(tmp_path / "other", videos=(9,), frames=(1,))
    with pytest.raises(ProjectError, match="another dataset"):
        Project.open_or_create(other, project_dir=tmp_path / "proj")


def test_newer_schema_is_refused(project):
    root = project.root
    project.close()
    with sqlite3.connect(root / "project.sqlite") as c:
        c.execute("UPDATE meta SET value='999' WHERE key='schema_version'")
    with pytest.raises(ProjectError, match="newer"):
        Project.open_or_create(root)


def test_not_a_database_is_a_clear_error(tmp_path, dataset):
    proj = tmp_path / "broken"
    proj.mkdir()
    (proj / "project.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ProjectError, match="damaged or not a project database"):
        Project.open_or_create(proj)


def test_stale_temp_files_are_removed_on_open(project):
    key = project.frame_keys()[0]
    project.save_label(key, project.load_label(key))
    stray = project.label_path(key).parent / ".Video1_frame000010.png.abc123.tmp"
    stray.write_bytes(b"half a png")
    root = project.root
    project.close()
    with Project.open_or_create(root) as p:
        assert p.removed_temp_files == 1
        assert not stray.exists() and p.has_saved_label(key)


def test_project_folder_is_never_taken_for_a_dataset(project, tmp_path):
    project.add_pair(np.zeros((H, W, 3), np.uint8), np.zeros((H, W), np.uint8), "synthesis", {})
    root = project.root
    project.close()
    with Project.open_or_create(root, project_dir=root) as p:  # naming itself is fine
        assert p.root == root and len(p.frame_keys()) == 6
    with pytest.raises(ProjectError, match="is itself a project"):
        Project.open_or_create(root, project_dir=tmp_path / "other")
    (root / "project.sqlite").rename(root / "moved.sqlite")
    with pytest.raises(ProjectError, match="no project.sqlite"):
        Project.open_or_create(root)


def test_temp_files_are_kept_while_another_process_has_the_project_open(project):
    """A temp file may be a write in flight elsewhere: a read-only open beside the writer deletes nothing,
    and the writer's own next open (holding the writer lock) removes it."""
    import subprocess
    import sys

    key = project.frame_keys()[0]
    project.save_label(key, project.load_label(key))
    root = project.root
    project.close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from engine.project import Project; p = Project.open_or_create(sys.argv[1]);"
         " print('open', flush=True); sys.stdin.read()", str(root)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parents[1])
    try:
        assert holder.stdout.readline().strip() == b"open"
        stray = project.label_path(key).parent / ".Video1_frame000010.png.inflight.tmp"
        stray.write_bytes(b"being written")
        with Project.open_or_create(root, read_only=True) as p:
            assert p.removed_temp_files == 0 and stray.exists()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    with Project.open_or_create(root) as p:
        assert p.removed_temp_files == 1 and not stray.exists()
