"""A full day's loop at 1366x768 through the real start-up: open, paint, mark done, next, quit, start again."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parents[2]


def run(work: Path, phase: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "tests.gui.day_loop", str(work), phase], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_day_then_the_next_morning(tmp_path, phantom_root):
    sample = tmp_path / "data" / "phantom"  # the sample as generated on a first start (pre-made: faster)
    shutil.copytree(phantom_root, sample)
    (sample / ".complete").touch()
    first = run(tmp_path, "first")
    assert Path(first["sample"]) == sample.resolve()  # in the user's data folder, not the install folder
    assert first["window"] == [1366, 768] and first["canvas_share"] >= 0.6
    assert first["class"] == 34 and first["painted"] > 0 and first["painted_next"] > 0
    assert first["next_key"] != first["done_key"]
    again = run(tmp_path, "again")
    assert again["project"] == first["project"]  # no argument: the last project …
    assert again["key"] == first["next_key"]  # … on the frame where the day ended
    assert again["statuses"][first["done_key"]] == "done"
    assert again["cotton"][first["done_key"]] == first["painted"]
    assert again["cotton"][first["next_key"]] == first["painted_next"]  # quitting saved the last stroke
