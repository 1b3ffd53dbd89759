"""Killed exports leave `<out>.tmp-*` / `<out>.old-*` folders; the next export removes them (only its own,
and only when no other export runs there). Export folders get the user's usual permissions."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.export import export_cadis
from tests.reliability import tally
from tests.reliability.data_loss_helpers import finished_project

try:
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path):
    p = finished_project(tmp_path)
    yield p
    p.close()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


@pytest.mark.skipif(fcntl is None, reason="leftover cleanup needs flock")
def test_leftovers_of_killed_exports_are_removed_and_foreign_folders_kept(project, tmp_path):
    from engine.export.place import TMP_MARKER

    out = tmp_path / "exports" / "out"
    export_cadis(project, out)
    shutil.copytree(out, out.parent / "out.old-1a2b3c4d")  # killed after the swap, before removing the old one
    dead_tmp = out.parent / "out.tmp-5e6f7a8b"  # killed while writing
    (dead_tmp / "Video01" / "Images").mkdir(parents=True)
    (dead_tmp / TMP_MARKER).write_text("pid 1\n")
    (dead_tmp / "Video01" / "Images" / "big.png").write_bytes(b"\0" * 100_000)
    foreign = out.parent / "out.tmp-mine"  # a person's folder with a similar name: not the app's
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")

    # while another export runs in this folder (it holds the shared lock), nothing is removed
    fd = os.open(out.parent, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_SH)
    try:
        export_cadis(project, out, overwrite=True)
        assert _leftovers(out.parent) == ["out.old-1a2b3c4d", "out.tmp-5e6f7a8b", "out.tmp-mine"]
    finally:
        os.close(fd)
    export_cadis(project, out, overwrite=True)
    assert _leftovers(out.parent) == ["out.tmp-mine"]
    assert (foreign / "keep.txt").read_text() == "mine"


@pytest.mark.skipif(fcntl is None or sys.platform == "win32", reason="needs flock and kill")
def test_a_real_killed_export_is_cleaned_by_the_next_one(project, tmp_path):
    out = tmp_path / "out"
    root = project.root
    project.close()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for attempt in range(6):
        child = subprocess.Popen([sys.executable, "-m", "engine.cli", "export", str(root), str(out), "--overwrite",
                                  "--no-progress"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not any(".tmp-" in p.name for p in tmp_path.iterdir()) and child.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.002)
        child.send_signal(signal.SIGKILL)
        child.wait()
        if _leftovers(tmp_path):
            break
    assert _leftovers(tmp_path), "no kill landed during an export"
    from engine.project import Project

    with Project.open_or_create(root, read_only=True) as p:
        export_cadis(p, out, overwrite=out.exists())
    assert _leftovers(tmp_path) == []
    tally.add("export_kills", attempt + 1)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_export_folders_follow_the_umask(project, tmp_path):
    old = os.umask(0o022)
    try:
        export_cadis(project, tmp_path / "out")
    finally:
        os.umask(old)
    out = tmp_path / "out"
    assert out.stat().st_mode & 0o777 == 0o755
    assert (out / "Video01").stat().st_mode & 0o777 == 0o755
    assert (out / "manifest.json").stat().st_mode & 0o777 == 0o644
