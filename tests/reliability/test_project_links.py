"""Files the project writes or deletes are regular files inside it, opened without following links: a `.lock` or
`journal.bin` that is a link never truncates its target, the start-up clean-up never follows a `labels/` or
`pairs/` link, a FIFO never hangs the open, and a file system without `flock` is said as such."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.project import Project, ProjectError
from engine.project import lock as lock_module
from engine.project.lock import ProjectLockedError
from tests.reliability import tally
from tests.reliability.helpers import make_dataset

REPO = Path(__file__).resolve().parents[2]
THESIS = b"chapter 1: twelve months of work\n" * 100


@pytest.fixture
def project(tmp_path):
    ds = make_dataset(tmp_path / "ds")
    Project.open_or_create(ds).close()
    return ds, tmp_path / "ds.cadis-project"


@pytest.mark.parametrize("name", [".lock", "journal.bin"])
def test_a_linked_lock_or_journal_never_touches_its_target(project, tmp_path, name):
    ds, root = project
    thesis = tmp_path / "thesis.txt"
    thesis.write_bytes(THESIS)
    (root / name).unlink()
    (root / name).symlink_to(thesis)
    with pytest.raises(ProjectError, match="symbolic link"):
        Project.open_or_create(ds)
    assert thesis.read_bytes() == THESIS
    assert (root / name).is_symlink()
    tally.add("fuzz_cases")
    tally.add("fuzz_refused")


@pytest.mark.parametrize("sub", ["labels", "pairs"])
def test_start_up_clean_up_never_follows_a_linked_folder(project, tmp_path, sub):
    ds, root = project
    outside = tmp_path / "elsewhere"
    (outside / "deep").mkdir(parents=True)
    kept = [outside / ".draft.tmp", outside / "deep" / ".notes.md.tmp"]
    for path in kept:
        path.write_bytes(b"the user's own file")
    if (root / sub).exists():
        os.rmdir(root / sub)
    (root / sub).symlink_to(outside, target_is_directory=True)
    try:
        Project.open_or_create(ds).close()
    except ProjectError:
        pass  # refusing the linked folder is fine too; deleting what it points to is not
    assert all(p.read_bytes() == b"the user's own file" for p in kept)


def test_clean_up_inside_the_project_leaves_links_named_like_temp_files(project, tmp_path):
    ds, root = project
    target = tmp_path / "keep.txt"
    target.write_bytes(b"keep")
    (root / "labels").mkdir(exist_ok=True)
    (root / "labels" / ".x.png.1234.tmp").symlink_to(target)
    (root / "labels" / ".y.png.5678.tmp").write_bytes(b"stale temp")
    with Project.open_or_create(ds) as p:
        assert p.removed_temp_files == 1
    assert target.read_bytes() == b"keep" and (root / "labels" / ".x.png.1234.tmp").is_symlink()


_OPEN = """
import sys
sys.path.insert(0, {repo!r})
from engine.project import Project, ProjectError
try:
    Project.open_or_create({ds!r}).close()
except ProjectError as exc:
    print("REFUSED", exc)
"""


@pytest.mark.parametrize("name", [".lock", "journal.bin"])
def test_a_fifo_lock_or_journal_never_hangs(project, name):
    ds, root = project
    (root / name).unlink()
    os.mkfifo(root / name)
    try:
        proc = subprocess.run([sys.executable, "-c", _OPEN.format(repo=str(REPO), ds=str(ds))],
                              capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"opening a project whose {name} is a FIFO hangs")
    assert proc.returncode == 0 and "REFUSED" in proc.stdout and "FIFO" in proc.stdout, proc.stdout + proc.stderr
    tally.add("fuzz_cases")
    tally.add("fuzz_refused")


def test_no_flock_is_said_instead_of_naming_a_dead_pid(project, monkeypatch):
    ds, root = project
    (root / ".lock").write_text(json.dumps({"pid": 987654, "host": "lab-3", "app": "cadis-studio", "since": 1.0}))

    def unsupported(fd, op):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(lock_module.fcntl, "flock", unsupported)
    with pytest.raises(ProjectError) as info:
        Project.open_or_create(ds)
    assert not isinstance(info.value, ProjectLockedError)
    message = str(info.value)
    assert "does not support file locks" in message and "987654" not in message and "read-only" in message
    with Project.open_or_create(ds, read_only=True) as p:  # reading stays possible
        assert p.frame_keys()


def test_a_pair_folder_linked_out_of_the_project_is_never_written_through(project, tmp_path):
    import shutil

    import numpy as np

    from engine.edits import UndoRecord

    ds, root = project
    with Project.open_or_create(ds) as p:
        pid = p.add_pair(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8), "synthesis", {})
    outside = tmp_path / "elsewhere"
    shutil.copytree(root / "pairs" / str(pid), outside)
    (outside / "journal.bin").write_bytes(THESIS)
    shutil.rmtree(root / "pairs" / str(pid))
    (root / "pairs" / str(pid)).symlink_to(outside, target_is_directory=True)
    with Project.open_or_create(ds) as p:
        rec = UndoRecord(0, 0, np.zeros((2, 2), np.uint8), np.ones((2, 2), np.uint8))
        with pytest.raises(ProjectError, match="outside"):
            p.pair_journal_append(pid, rec)
    assert (outside / "journal.bin").read_bytes() == THESIS
