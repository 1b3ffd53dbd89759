"""`synth --repaint` and `--num` within bounds: a huge margin costs no time or memory, a sketch of another frame
is refused unless asked, and many variants are sampled and written a batch at a time."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.imageio import write_image, write_label
from engine.pipelines.repaint import grow
from tests.reliability import tally
from tests.reliability.data_loss_helpers import one_clear_line, run_cli

H, W = 32, 64


CHILD = """
import resource, sys, time
import numpy as np
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # a 40 GB kernel fails here, not on the machine
import importlib.util
spec = importlib.util.spec_from_file_location("repaint", "engine/pipelines/repaint.py")  # numpy + cv2 only
repaint = importlib.util.module_from_spec(spec)
spec.loader.exec_module(repaint)
grow = repaint.grow
region = np.zeros((540, 960), bool)
region[200:210, 400:420] = True
start = time.monotonic()
grown = grow(region, int(sys.argv[1]))
print(time.monotonic() - start, bool(grown.all()))
"""


@pytest.mark.parametrize("margin", [2000, 100_000])
def test_a_huge_margin_is_quick_and_small(margin):
    proc = subprocess.run([sys.executable, "-c", CHILD, str(margin)], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr[-2000:]
    seconds, everything = proc.stdout.split()
    assert float(seconds) < 1.0 and everything == "True"


def test_a_large_margin_grows_by_distance_like_a_disk():
    region = np.zeros((540, 960), bool)
    region[250:260, 300:310] = True
    grown = grow(region, 150)
    disk = cv2.dilate(region.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (301, 301))).astype(bool)
    assert abs(int(grown.sum()) - int(disk.sum())) < 0.01 * disk.sum()
    assert grown[255, 305 + 150] and not grown[255, 309 + 152]


def _frame(folder, video, frame, label):
    name = f"Video{video}_frame{frame:06d}.png"
    rng = np.random.default_rng(frame)
    img = folder / f"Video{video:02d}" / "Images" / name
    write_image(img, rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
    write_label(folder / f"Video{video:02d}" / "Labels" / name, label)
    return img


def _labels():
    own = np.zeros((H, W), np.uint8)
    own[:, W // 2:] = 4
    other = np.full((H, W), 7, np.uint8)  # another frame's label: differs almost everywhere
    other[:2, :2] = 0
    small_edit = own.copy()
    small_edit[10:14, 10:14] = 7
    return own, other, small_edit


def test_a_sketch_of_another_frame_is_refused_unless_asked(model_dir, tmp_path, capsys):
    own, other, small = _labels()
    ds = tmp_path / "cadis"
    img = _frame(ds, 1, 1, own)
    _frame(ds, 1, 2, other)
    write_label(tmp_path / "other_sketch.png", other)
    write_label(tmp_path / "small.png", small)
    base = ["synth", "--model", model_dir, "--image", img, "--repaint", "--steps", "1", "--resample", "1",
            "--device", "cpu", "--quiet"]
    tally.add("fuzz_cases")
    code, _o, err = run_cli(capsys, *base, "--mask", tmp_path / "other_sketch.png", "--out", tmp_path / "a.png")
    assert code == 2 and "looks like the sketch of another frame" in one_clear_line(err)
    assert not (tmp_path / "a.png").exists()
    code, _o, err = run_cli(capsys, *base, "--mask", tmp_path / "small.png", "--out", tmp_path / "b.png",
                            "--parent-mask", ds / "Video01" / "Labels" / "Video1_frame000002.png")
    assert code == 2 and "label of another frame" in one_clear_line(err)
    code, _o, err = run_cli(capsys, *base, "--mask", tmp_path / "other_sketch.png", "--out", tmp_path / "c.png",
                            "--allow-large-change", "--margin", "100000")
    assert code == 0, err
    assert (tmp_path / "c.png").exists()
    code, _o, err = run_cli(capsys, *base, "--mask", tmp_path / "small.png", "--out", tmp_path / "d.png",
                            "--margin", "2000")
    assert code == 0, err
    tally.add("fuzz_refused")


def test_many_variants_are_sampled_a_batch_at_a_time(model_dir, tmp_path, capsys, monkeypatch):
    from engine.cli.commands import synth
    from engine.pipelines import SynthesisPipeline

    own, _other, _small = _labels()
    write_label(tmp_path / "mask.png", own)
    sizes = []
    real_call = SynthesisPipeline.__call__

    def counting(self, mask, **kw):
        sizes.append(kw["num_images_per_prompt"])
        return real_call(self, mask, **kw)

    monkeypatch.setattr(SynthesisPipeline, "__call__", counting)
    code, _o, err = run_cli(capsys, "synth", "--model", model_dir, "--mask", tmp_path / "mask.png", "--out",
                            tmp_path / "v.png", "--num", "11", "--steps", "1", "--device", "cpu", "--quiet")
    assert code == 0, err
    assert max(sizes) <= synth.BATCH and sum(sizes) == 11
    assert len(list(tmp_path.glob("v_*.mask.png"))) == 11
    code, _o, err = run_cli(capsys, "synth", "--model", model_dir, "--mask", tmp_path / "mask.png", "--out",
                            tmp_path / "w.png", "--num", "100000", "--quiet")
    assert code == 2 and "--num must be between 1 and 10,000" in one_clear_line(err)
