"""kill -9 the desktop app at random moments while it edits, saves and recovers, many times.

The child (kill_app_child.py) is the real main window, offscreen, painting through the document, the
engine edit ops and the project journal in a loop. It logs the content hash of every label it saves and
of the frame shown at every journal append. After each SIGKILL this test checks, with the engine alone:
the project database opens and passes its integrity check; every saved label decodes and is a complete
version (the last finished save or the one in flight); and recovery offers the lost strokes: the saved
label plus the journal rebuilds exactly what the window showed (at most the one append in flight is
lost). The next start recovers those strokes itself (recovery policy "recover") and is killed in turn.
"""
from __future__ import annotations

import hashlib
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.reliability import tally
from tests.reliability.helpers import make_dataset

pytestmark = [pytest.mark.gui, pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")]
pytest.importorskip("desktop.main_window")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHILD = HERE / "kill_app_child.py"
FRAMES = [(1, 1), (1, 2), (5, 1), (5, 2)]


def label_hash(label: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(label).tobytes(), digest_size=12).hexdigest()


class Expectations:
    """What the child's log allows after a kill, key by key."""

    def __init__(self, initial: dict[str, str]):
        self.shown = dict(initial)             # frame contents the window last showed (settled)
        self.saved: dict[str, str | None] = {k: None for k in initial}  # last finished save (None: never)
        self.pos = 0

    def read(self, log: Path) -> tuple[dict[str, set[str]], dict[str, set[str | None]]]:
        """Parse new log lines; returns (allowed shown states, allowed saved-file states) per key."""
        shown = {k: {v} for k, v in self.shown.items()}
        saved = {k: {v} for k, v in self.saved.items()}
        data = log.read_bytes()
        lines = data[self.pos:].decode("utf-8").splitlines()
        self.pos = len(data)
        for line in lines:
            tag, *rest = line.split(" ")
            if tag == "S":
                key, h = rest
                saved[key] = saved[key] | {h}  # in flight: old or new
                shown[key] = {h}
                pending_save = (key, h)
            elif tag == "s":
                saved[rest[0]] = {pending_save[1]}
            elif tag == "P":
                key, h = rest
                shown[key] = shown[key] | {h}  # in flight: the append may or may not have landed
                pending_append = (key, h)
            elif tag == "E":
                shown[rest[0]] = {pending_append[1]}
        return shown, saved

    def settle(self, shown: dict[str, str], saved: dict[str, str | None]) -> None:
        self.shown, self.saved = dict(shown), dict(saved)


def start_and_kill(child: Path, args: list[str], env: dict, delay: float) -> None:
    """Start `child` with `args`, wait for its READY, let it work `delay` s, SIGKILL it."""
    proc = subprocess.Popen([sys.executable, str(child), *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        _wait_ready(proc, timeout=120)
        time.sleep(delay)
        assert proc.poll() is None, f"the child died by itself: {proc.stderr.read().decode()[-2000:]}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


def _wait_ready(proc: subprocess.Popen, timeout: float) -> None:
    t0 = time.monotonic()
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready or b"READY" not in proc.stdout.readline():
        if proc.poll() is None:
            proc.send_signal(signal.SIGUSR1)  # faulthandler: print where every thread is stuck
            time.sleep(1.0)
            proc.kill()
        proc.wait()
        raise AssertionError(f"the app did not start within {time.monotonic() - t0:.0f} s "
                             f"(exit {proc.returncode}): {proc.stderr.read().decode()[-4000:]}")


def check_after_kill(project_dir: Path, expect: Expectations, log: Path) -> int:
    """All the promises after one kill; returns how many strokes recovery offers."""
    from engine.imageio import read_label
    from engine.project import Project

    shown, saved = expect.read(log)
    with Project.open_or_create(project_dir) as proj:
        assert proj.integrity_check() == "ok"
        pending = proj.pending_recovery()
        settled_shown, settled_saved = {}, {}
        for key in proj.frame_keys():
            path = proj.label_path(key)
            file_hash = label_hash(read_label(path)) if path.exists() else None  # read_label raises on a torn file
            assert file_hash in saved[key], f"{key}: the saved label is not a complete saved version"
            state = proj.recover(key) if key in pending else proj.load_label(key)
            state_hash = label_hash(state)
            assert state_hash in shown[key], f"{key}: recovery does not rebuild what the window showed"
            settled_shown[key], settled_saved[key] = state_hash, file_hash
    expect.settle(settled_shown, settled_saved)
    return sum(pending.values())


def run_kills(tmp_path: Path, kills: int, seed: int, budget_s: float, min_kills: int = 3) -> tuple[int, int]:
    """Start, kill and check the app `kills` times (fewer once `budget_s` is spent, but at least `min_kills`:
    a loaded CI machine starts the app slowly). Returns (strokes offered for recovery, log lines)."""
    from engine.imageio import read_label

    dataset = make_dataset(tmp_path / "dataset", frames=FRAMES, seed=seed)
    project_dir = tmp_path / "proj.cadis-project"
    log = tmp_path / "child.log"
    log.touch()
    initial = {f"Video{v:02d}/Images/Video{v}_frame{f:06d}.png":
               label_hash(read_label(dataset / f"Video{v:02d}" / "Labels" / f"Video{v}_frame{f:06d}.png"))
               for v, f in FRAMES}
    expect = Expectations(initial)
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    rng = np.random.default_rng(seed)
    offered = 0
    t0 = time.monotonic()
    for i in range(kills):
        if i >= min_kills and time.monotonic() - t0 > budget_s:
            break
        start_and_kill(CHILD, [str(dataset), str(project_dir), str(tmp_path / "s.ini"), str(log),
                               str(seed * 1000 + i)], env, float(rng.uniform(0.02, 0.5)))
        offered += check_after_kill(project_dir, expect, log)
        tally.add("kills_survived")
    return offered, len(log.read_text().splitlines())


def test_kill_app_repeatedly(tmp_path):
    offered, lines = run_kills(tmp_path, kills=20, seed=1, budget_s=40)
    assert lines > 30, "the app should have edited and saved between kills"
    assert offered > 0, "some kills should have left strokes for recovery"
    tally.add("strokes_recovered", offered)


@pytest.mark.slow
def test_kill_app_many_times(tmp_path):
    offered, _ = run_kills(tmp_path, kills=40, seed=2, budget_s=900)
    assert offered > 0
    tally.add("strokes_recovered", offered)
