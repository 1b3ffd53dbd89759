"""The first window on a 1366x768 laptop screen and a 1920x1080 monitor: maximized, the canvas has most of it,
every dock is in the View menu, canvas-only and reset layout work, the window never exceeds the screen."""
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


def probe(work: Path, size: str, sample: Path) -> dict:
    shutil.copytree(sample, work / "sample")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "tests.gui.layout_probe", str(work), size], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("size", ["1366x768", "1920x1080"])
def test_first_window_gives_the_canvas_the_screen(size, tmp_path, phantom_root):
    w, h = (int(v) for v in size.split("x"))
    out = probe(tmp_path, size, phantom_root)
    assert out["screen"] == [0, 0, w, h]
    x, y, ww, wh = out["window"]
    assert x >= 0 and y >= 0 and x + ww <= w and y + wh <= h  # never larger than the screen
    assert ww >= 0.95 * w and wh >= 0.95 * h  # maximized (or the screen's available size)
    assert out["minimum"][0] <= w and out["minimum"][1] <= h
    assert out["canvas_share"] >= 0.60, out
    assert all(out["docks"].values()), out["docks"]  # every dock listed in View
    assert out["frame_rows"] >= 8, out  # a working list of frames, not one and a half
    assert out["gallery_rows"] >= 2, out  # the Curation gallery, opened from the menu: rows of pairs to compare
    assert out["dock_tabs"], out  # the tabbed docks: each tab identifiable by its own icon and its tooltip
    for bar in out["dock_tabs"]:
        assert bar["distinct_icons"] == bar["count"] and bar["tooltips"] == bar["texts"], bar
        assert bar["front_readable"] and bar["all_fit"], bar
    assert out["sideways_scroll"] == []  # no panel needs a horizontal scrollbar in the column
    assert {"classes", "frames", "tools", "synthesis"} <= set(out["visible_docks"])
    only = out["canvas_only"]
    assert only["visible_docks"] == [] and only["canvas_share"] > out["canvas_share"] + 0.1
    reset = out["after_reset"]
    assert reset["floating"] == [] and "curation" not in reset["visible_docks"]
    assert reset["visible_docks"] == out["visible_docks"]
    assert abs(reset["canvas_share"] - out["canvas_share"]) < 0.03
    bx, by, bw, bh = out["restored_big"]
    assert bx >= 0 and by >= 0 and bx + bw <= w and by + bh <= h, out["restored_big"]
