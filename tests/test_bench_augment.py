"""benchmarks.bench_augment loads the shipped starter pipeline through the app's loader and fails on a missing one."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.bench_augment import StarterModelError, load_starter, pair_size, starter_dir

ROOT = Path(__file__).resolve().parents[1]


def test_missing_model_fails_with_one_line(tmp_path):
    env = dict(os.environ, CADIS_STARTER_MODEL=str(tmp_path / "nowhere"), OMP_NUM_THREADS="1")
    run = subprocess.run([sys.executable, "-m", "benchmarks.bench_augment"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "no starter model at" in lines[0] and "nowhere" in lines[0]
    assert "skipped" not in run.stdout


def test_unloadable_model_is_an_error(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model_index.json").write_text("{not json")
    with pytest.raises(StarterModelError, match="cannot load the starter model"):
        load_starter(bad)


def test_shipped_starter_loads_and_makes_pairs_at_the_mask_size(monkeypatch):
    monkeypatch.delenv("CADIS_STARTER_MODEL", raising=False)
    assert starter_dir() == ROOT / "resources" / "models" / "starter-synthesis"
    pipe = load_starter()
    assert pipe.upsampler is not None  # the pipeline folder's networks, not the root's absent weights
    assert pair_size(pipe, 160, 90) == "160x90"
