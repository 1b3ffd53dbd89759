"""scripts/check_qt_libs.sh (run by `make run`): silent without an X display, one install line when not root."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "check_qt_libs.sh"


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def _run(tmp_path: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(SCRIPT)], env={"PATH": os.environ["PATH"], **env}, capture_output=True,
                          text=True, timeout=60)


def test_no_display_or_offscreen_passes(tmp_path):
    assert _run(tmp_path, {}).returncode == 0
    assert _run(tmp_path, {"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}).returncode == 0


def test_missing_libraries_without_root_stop_with_the_install_line(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _stub(bin_dir, "dpkg-query", "exit 1")  # nothing installed
    _stub(bin_dir, "id", "echo 1000")  # not root
    _stub(bin_dir, "ldd", "echo 'libxcb-cursor.so.0 => not found'")
    _stub(bin_dir, "apt-get", f"touch {tmp_path}/apt-ran")
    done = _run(tmp_path, {"DISPLAY": ":0", "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHON": "false"})
    assert done.returncode == 1
    lines = [ln.strip() for ln in done.stderr.splitlines() if ln.strip().startswith("sudo apt-get")]
    assert len(lines) == 1 and "libxcb-cursor0" in lines[0] and "libxcb-icccm4" in lines[0]
    assert not (tmp_path / "apt-ran").exists()


def test_everything_installed_passes(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _stub(bin_dir, "dpkg-query", "printf 'install ok installed'")
    done = _run(tmp_path, {"DISPLAY": ":0", "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert done.returncode == 0 and done.stderr == ""
