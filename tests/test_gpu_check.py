"""`make gpu-check`: one line and exit 0 without CUDA; its checks run end to end in the CPU dry run."""
from __future__ import annotations

import json

import pytest

from benchmarks import gpu_check

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_without_cuda_it_says_so_in_one_line_and_exits_0(monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_check.main([]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "no CUDA GPU" in out


def test_dry_run_runs_every_check_on_the_cpu(tmp_path, capsys):
    report = tmp_path / "gpu.json"
    # `launch` (accelerate launch --num_processes 1) is the slowest; tests/test_multiprocess.py launches too
    only = [k for k in gpu_check.CHECKS if k != "launch"]
    rc = gpu_check.main(["--dry-run", "--only", ",".join(only), "--json", str(report), "--work", str(tmp_path / "w")])
    out = capsys.readouterr().out
    data = json.loads(report.read_text())
    failed = [(c["name"], c["detail"]) for c in data["checks"] if not c["ok"]]
    assert rc == 0 and not failed, failed
    names = [c["name"] for c in data["checks"]]
    assert names[:2] == ["train-model bf16 autocast", "train-model fp16 autocast"]
    assert {"synth preset preview", "synth preset final", "preseg ms/frame", "tiny-SD edit (sdedit)",
            "augment 8 pairs", "segment sam-vit-b", "segment sam2-hiera-tiny", "segment sam2-hiera-small",
            "segment sam3", "segment sam2 video propagation"} <= set(names) and sum("loaded on" in n for n in names) == 2
    by = {c["name"]: c for c in data["checks"]}
    assert by["train-model bf16 autocast"]["values"]["steps_per_s"] > 0
    assert by["augment 8 pairs"]["values"]["items"] == 8
    assert by["preview path: preview"]["values"]["ms_per_frame"] > 0 and "preview path: seed recipe" in by
    assert all(c["values"]["max_abs_diff"] < 1e-3 for c in data["checks"] if "loaded on" in c["name"])
    assert "| check | result | status | detail |" in out and out.count("| ok |") == len(names)


def test_a_failing_check_is_a_row_not_a_crash(tmp_path, monkeypatch, capsys):
    def broken(env):
        raise RuntimeError("CUDA error: out of memory")

    monkeypatch.setitem(gpu_check.CHECKS, "edit", broken)
    assert gpu_check.main(["--dry-run", "--only", "edit", "--work", str(tmp_path)]) == 1
    assert "| edit | error | FAIL | RuntimeError: CUDA error: out of memory |" in capsys.readouterr().out
