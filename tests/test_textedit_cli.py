"""`cadis edit`: numbered outputs at the original size, provenance JSON, clear errors, no partial files."""
from __future__ import annotations

import argparse
import json

import pytest

from engine.cli import build_parser, main
from engine.cli.commands import edit as edit_cmd
from engine.imageio import read_image, write_image
from engine.jobs import JobCancelled, JobContext
from tests.textedit_helpers import _one_torch_thread, make_frame, tiny_sd_dir  # noqa: F401


@pytest.fixture()
def frame_file(tmp_path):
    return write_image(tmp_path / "Video1_frame000090.png", make_frame(112, 63))  # not a multiple of anything


def test_alpha_sweep_writes_numbered_outputs_at_the_original_size(tiny_sd_dir, frame_file, tmp_path):
    out = tmp_path / "out" / "edit.png"
    rc = main(["edit", "--sd", str(tiny_sd_dir), str(frame_file), "--prompt", "heavy bleeding", "--out", str(out),
               "--method", "imagic", "--alpha", "0.8,1.4,2", "--interp", "slerp", "--steps", "3", "--opt-steps", "2",
               "--tune-steps", "1", "--device", "cpu", "--seed", "5", "--cache", str(tmp_path / "cache"),
               "--quiet"])
    assert rc == 0
    names = sorted(p.name for p in out.parent.iterdir())
    assert names == ["edit.json", "edit_0.png", "edit_1.png", "edit_2.png"]
    for i in range(3):
        assert read_image(out.parent / f"edit_{i}.png").shape == (63, 112, 3)
    rec = json.loads((out.parent / "edit.json").read_text())
    assert [o["alpha"] for o in rec["outputs"]] == [0.8, 1.4, 2.0]
    assert rec["outputs"][0]["settings"]["interp"] == "slerp" and rec["outputs"][0]["seed"] == 5
    assert all(isinstance(o["psnr"], float) and isinstance(o["ssim"], float) for o in rec["outputs"])
    assert rec["source"].endswith("Video1_frame000090.png")
    assert any((tmp_path / "cache").iterdir())


def test_single_output_keeps_the_given_name(tiny_sd_dir, frame_file, tmp_path):
    out = tmp_path / "one.png"
    rc = main(["edit", "--sd", str(tiny_sd_dir), str(frame_file), "--prompt", "blur", "--out", str(out),
               "--strength", "0.3", "--steps", "3", "--resolution", "64x36", "--quiet"])
    assert rc == 0 and read_image(out).shape == (63, 112, 3)
    assert json.loads(out.with_suffix(".json").read_text())["outputs"][0]["settings"]["strength"] == 0.3


def test_clear_errors(tiny_sd_dir, frame_file, tmp_path, capsys):
    base = ["edit", str(frame_file), "--prompt", "x", "--out", str(tmp_path / "o.png"), "--quiet"]
    assert main(base + ["--sd", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cadis edit:") and "model_index.json" in err and "unet/" in err
    assert main(base + ["--sd", str(tiny_sd_dir), "--alpha", "1,2"]) == 2
    assert "imagic only" in capsys.readouterr().err
    assert main(base + ["--sd", str(tiny_sd_dir), "--resolution", "63x36"]) == 2
    assert "multiples of 4" in capsys.readouterr().err
    assert main(base + ["--sd", str(tiny_sd_dir), "--label", str(frame_file)]) == 2
    assert "--label, --preseg-model and --preseg-head" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_cancelled_edit_writes_nothing(tiny_sd_dir, frame_file, tmp_path):
    out_dir = tmp_path / "out"
    args = build_parser().parse_args(
        ["edit", "--sd", str(tiny_sd_dir), str(frame_file), "--prompt", "x", "--out", str(out_dir / "e.png"),
         "--method", "imagic", "--alpha", "1,2", "--steps", "3", "--opt-steps", "2", "--tune-steps", "0"])
    assert isinstance(args, argparse.Namespace)
    source_bytes = frame_file.read_bytes()
    seen = []

    def progress(f, m):
        seen.append(m)

    # cancel while the SECOND alpha samples: the first image exists in memory but must not be written
    ctx = JobContext(progress, lambda: sum(m.startswith("sampling") for m in seen) >= 4)
    with pytest.raises(JobCancelled):
        edit_cmd.execute(args, ctx)
    assert not out_dir.exists() or list(out_dir.iterdir()) == []
    assert frame_file.read_bytes() == source_bytes  # the source frame is never written


def test_output_naming():
    from engine.textedit import output_paths

    assert [p.name for p in output_paths("a/edit.png", 1)] == ["edit.png"]
    assert [p.name for p in output_paths("a/edit.png", 3)] == ["edit_0.png", "edit_1.png", "edit_2.png"]
    with pytest.raises(ValueError, match=r"\.png"):
        output_paths("a/edit.jpg", 1)
