"""`cadis distill` makes (and continues) a student; `cadis synth` uses it for the preview preset and ends with
its timing line."""
from __future__ import annotations

import re

import numpy as np
import pytest

from engine.cli import main
from tests.synthesis_helpers import tiny_model, two_masks

pytestmark = pytest.mark.usefixtures("one_torch_thread")
TIMING = re.compile(r"^(\d+) frame\(s\) in (\d+\.\d\d) s \((\d+) ms per frame, sampling only\)$")


@pytest.fixture()
def model_dir(tmp_path):
    from engine.models import save_synthesis_model

    return save_synthesis_model(tiny_model("1", seed=2), tmp_path / "tiny")


@pytest.fixture()
def pair_folder(tmp_path):
    from engine.imageio import write_image, write_label

    root = tmp_path / "pairs"
    rng = np.random.default_rng(1)
    for i, mask in enumerate(two_masks(32, 64)):
        write_image(root / f"f{i}.png", rng.integers(0, 255, (32, 64, 3), dtype=np.uint8))
        write_label(root / f"f{i}.mask.png", mask)
    return root


def test_distill_then_synth_preview_uses_the_student(model_dir, pair_folder, tmp_path, capsys):
    from engine.imageio import read_image, write_label

    write_label(tmp_path / "m.png", two_masks()[0])
    base = ["synth", "--model", str(model_dir), "--mask", str(tmp_path / "m.png"), "--preset", "preview", "--quiet",
            "--device", "cpu"]
    assert main(base + ["--out", str(tmp_path / "before.png")]) == 0
    assert main(["distill", "--model", str(model_dir), "--data", str(pair_folder), "--max-steps", "1",
                 "--batch-size", "2", "--device", "cpu", "--quiet"]) == 0
    assert "trained to step 1" in capsys.readouterr().out
    assert main(["distill", "--model", str(model_dir), "--data", str(pair_folder), "--max-steps", "2",
                 "--batch-size", "2", "--device", "cpu", "--quiet"]) == 0
    assert "continued to step 2" in capsys.readouterr().out
    assert (model_dir / "student" / "diffusion_pytorch_model.safetensors").is_file()

    assert main(base + ["--out", str(tmp_path / "student.png"), "--num", "2"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    m = TIMING.match(last)
    assert m and m.group(1) == "2", last
    assert main(base + ["--out", str(tmp_path / "teacher.png"), "--no-student"]) == 0
    capsys.readouterr()
    teacher = read_image(tmp_path / "teacher.png")
    np.testing.assert_array_equal(read_image(tmp_path / "before.png"), teacher)  # same recipe before distilling
    assert not np.array_equal(read_image(tmp_path / "student_0.png"), teacher)  # the student samples differently


def test_synth_ends_with_one_timing_line(model_dir, tmp_path, capsys):
    from engine.imageio import write_label

    write_label(tmp_path / "m.png", two_masks()[1])
    assert main(["synth", "--model", str(model_dir), "--mask", str(tmp_path / "m.png"), "--out", str(tmp_path / "o.png"),
                 "--steps", "2", "--num", "3", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    m = TIMING.match(lines[-1])
    assert m and m.group(1) == "3", lines[-1]
    assert abs(float(m.group(2)) * 1000 / 3 - int(m.group(3))) <= 10 + 0.01 * int(m.group(3))
    assert sum(bool(TIMING.match(line)) for line in lines) == 1


def test_distill_without_data_says_what_to_give(model_dir, capsys):
    assert main(["distill", "--model", str(model_dir)]) == 2
    assert "--data" in capsys.readouterr().err
