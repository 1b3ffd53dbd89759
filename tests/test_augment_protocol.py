"""The augmentation protocol's pieces that need no training: rare instruments, the tables, refusing to run
without a synthesis model."""
from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.augment_protocol import _subset, main, rare_instruments, summarize
from engine.taxonomy import get_class_set


def test_rare_instruments_are_the_rarer_half_of_the_instrument_classes_by_frames():
    cs = get_class_set("2")
    lab = np.full((4, 4), 6, np.uint8)
    frames = []
    for ids in ([13, 9], [13, 12], [13, 12, 17], [13, 12, 17]):  # I/A x4, lens injector x3, micromanip. x2, cystotome x1
        f = lab.copy()
        f.flat[: len(ids)] = ids
        frames.append(f)
    assert rare_instruments(frames, cs) == [8, 15]            # Cap. Cystotome and Micromanipulator (experiment 2)
    assert rare_instruments([lab], cs) == []


def test_training_frames_are_nested_over_n():
    keys = {v: [f"{v}-{i}" for i in range(13)] for v in (1, 2, 3, 4)}
    a, b = _subset(keys, 8), _subset(keys, 20)
    assert a == b[:8] and len(set(b)) == 20 and {k.split("-")[0] for k in a} == {"1", "2", "3", "4"}


def _cell(arm, seed, base, gain):
    without = [base] * 17
    return {"style": "plain", "n": 8, "arch": "unet", "seed": seed, "arm": arm, "m": 8, "without": without,
            "with": [v + gain if i != 16 else None for i, v in enumerate(without)]}


def test_summary_gives_mean_and_spread_over_seeds(tmp_path):
    data = {"budget": {"recipes": {"unet": {"steps": 2}}, "class_set": "2"}, "rare": {"plain": [8, 9]},
            "rare_pool": 52, "cells": [_cell("+full", 0, 0.2, 0.1), _cell("+full", 1, 0.4, 0.3)]}
    for c in data["cells"]:  # class 16 never in the test frames: no IoU, left out of every mean
        c["without"][16] = c["with"][16] = None
    data["cells"] = json.loads(json.dumps(data["cells"]).replace("null", "NaN"))
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    table = "\n".join(summarize([path]))
    row = next(line for line in table.splitlines() if line.startswith("| plain | unet | 8 | +full |"))
    cols = [c.strip() for c in row.split("|")[1:-1]]
    assert cols[6] == "0.300 ± 0.141" and cols[7] == "+0.200 ± 0.141" and cols[11] == "+0.200 ± 0.141"
    assert "8 Cap. Cystotome (rare)" in table and "16 Cap. Forceps" not in table


def test_no_synthesis_model_is_a_failure(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--model", str(tmp_path / "nowhere")])
    assert exc.value.code == 1
    assert "no synthesis pipeline" in capsys.readouterr().err
