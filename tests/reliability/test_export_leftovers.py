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

from engine.export import export_cadis, read_manifest, restore_interrupted_export
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
    from engine.export.place import _write_marker

    out = tmp_path / "exports" / "out"
    export_cadis(project, out)
    old = out.parent / "out.old-1a2b3c4d1a2b3c4d"  # killed after the swap, before removing the old one
    shutil.copytree(out, old)
    _write_marker(old, "1a2b3c4d1a2b3c4d", "delete")  # the marker the export writes next to its folders
    dead_tmp = out.parent / "out.tmp-5e6f7a8b5e6f7a8b"  # killed while writing
    (dead_tmp / "Video01" / "Images").mkdir(parents=True)
    _write_marker(dead_tmp, "5e6f7a8b5e6f7a8b", "tmp")
    (dead_tmp / "Video01" / "Images" / "big.png").write_bytes(b"\0" * 100_000)
    foreign = out.parent / "out.tmp-mine"  # a person's folder with a similar name: not the app's
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")

    # while another export runs in this folder (it holds the shared lock), nothing is removed
    fd = os.open(out.parent, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_SH)
    try:
        export_cadis(project, out, overwrite=True)
        assert _leftovers(out.parent) == ["out.old-1a2b3c4d1a2b3c4d", "out.tmp-5e6f7a8b5e6f7a8b", "out.tmp-mine"]
    finally:
        os.close(fd)
    export_cadis(project, out, overwrite=True)
    assert _leftovers(out.parent) == ["out.tmp-mine"]
    assert (foreign / "keep.txt").read_text() == "mine"
    assert not list(out.parent.glob(".cadis-export-*"))  # markers go with their folders


@pytest.mark.skipif(fcntl is None or sys.platform == "win32", reason="needs flock and kill")
def test_a_real_killed_export_is_cleaned_by_the_next_one(project, tmp_path):
    out = tmp_path / "out"
    root = project.root
    project.close()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for attempt in range(6):  # noqa: B007 - counted after the loop
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


def _export_like(src: Path, dst: Path) -> Path:
    """A person's own copy of an export (manifest and all), named like a leftover."""
    shutil.copytree(src, dst)
    return dst


@pytest.mark.skipif(fcntl is None, reason="leftover cleanup needs flock")
def test_the_users_old_folders_are_never_taken_for_leftovers(project, tmp_path):
    out = tmp_path / "results"
    export_cadis(project, out)
    kept = [_export_like(out, tmp_path / "results.old-v1"), _export_like(out, tmp_path / "results.old-2025"),
            _export_like(out, tmp_path / "results.tmp-12345678"), _export_like(out, tmp_path / "results.old-deadbeef")]
    before = {p.name: sorted(q.name for q in p.rglob("*")) for p in kept}
    export_cadis(project, out, overwrite=True)
    assert {p.name: sorted(q.name for q in p.rglob("*")) for p in kept} == before
    shutil.rmtree(out)  # without results/, an "old" folder of the user is not an interrupted export either
    export_cadis(project, tmp_path / "other")
    assert not restore_interrupted_export(out) and not out.exists()
    export_cadis(project, out)  # a new export, not results.old-2025 renamed into place
    assert {p.name: sorted(q.name for q in p.rglob("*")) for p in kept} == before


@pytest.mark.skipif(fcntl is None, reason="leftover cleanup needs flock")
def test_a_kill_during_the_final_clean_up_is_finished_by_the_next_export(project, tmp_path, monkeypatch):
    """Killed while the previous export is being deleted (its manifest already gone): the half-deleted folder
    still has its marker, so the next export removes it."""
    from engine.export import place

    out = tmp_path / "results"
    export_cadis(project, out)

    real_rmtree = shutil.rmtree

    def killed_midway(path, ignore_errors=False):  # rmtree removes the manifest and a frame, then the kill
        if ".old-" not in Path(path).name:
            return real_rmtree(path, ignore_errors=ignore_errors)
        (Path(path) / "manifest.json").unlink()
        next(Path(path).rglob("*.png")).unlink()
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(place.shutil, "rmtree", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        export_cadis(project, out, overwrite=True)
    monkeypatch.undo()
    half = [p for p in tmp_path.iterdir() if p.name.startswith("results.old-")]
    assert len(half) == 1 and not (half[0] / "manifest.json").exists()
    export_cadis(project, out, overwrite=True)
    assert _leftovers(tmp_path) == [] and not list(tmp_path.glob(".cadis-export-*"))
    assert read_manifest(out)["counts"]["frames"] == len(project.frame_keys())
