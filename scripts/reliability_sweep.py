"""Clumsy-user sweep over small hostile inputs: each `cadis` command once, printed as a Markdown table row
(exit code, stderr lines, traceback or not, peak RSS from GNU time, the first line the command said).

    PYTHONPATH=$PWD python scripts/reliability_sweep.py [WORK_DIR]     # needs /usr/bin/time

Run it under `ulimit -v 4194304` when trying an older tree: some cases asked that code for tens of GB.
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

from engine.imageio import read_label, write_label
from engine.project import Project
from tests.reliability.helpers import make_dataset

STARTER = Path(__file__).resolve().parents[1] / "resources" / "models" / "starter-synthesis"
WEIGHTS = "diffusion_pytorch_model.safetensors"


def rle_bmp(width: int, height: int) -> bytes:
    """About 1 KB of 8-bit RLE BMP declaring `width` x `height` (OpenCV allocates it all before decoding)."""
    palette, rle = b"\0\0\0\0" * 256, b"\x00\x01"
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(rle), 0, 0, 256, 0)
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(rle), 0, 0, offset) + info + palette + rle


def model_copy(work: Path, name: str, edit) -> Path:
    d = shutil.copytree(STARTER, work / name)
    edit(d)
    return d


def _fifo_weights(d: Path) -> None:
    (d / WEIGHTS).unlink()
    os.mkfifo(d / WEIGHTS)


def _config(**changes):
    def edit(d: Path) -> None:
        cfg = json.loads((d / "config.json").read_text())
        cfg.update(changes)
        (d / "config.json").write_text(json.dumps(cfg))
    return edit


def build_cases(work: Path) -> list[tuple[str, list[str]]]:
    ds = make_dataset(work / "ds")
    bmp_ds = make_dataset(work / "bmpds", frames=((1, 1),))
    (bmp_ds / "Video01/Images/Video1_frame000001.png").write_bytes(rle_bmp(30000, 30000))
    bomb = work / "bomb.png"
    bomb.write_bytes(rle_bmp(30000, 30000))
    good, bad = work / "mask.png", work / "bad_mask.png"
    write_label(good, np.full((72, 128), 3, np.uint8))
    mask = np.full((72, 128), 3, np.uint8)
    mask[:5, :5] = 200
    write_label(bad, mask)
    bad_ds = make_dataset(work / "badid")
    label_path = bad_ds / "Video01/Labels/Video1_frame000001.png"
    label = read_label(label_path).copy()
    label[0, 0] = 99
    write_label(label_path, label)
    with Project.open_or_create(ds) as p:
        project = p.root
    (project / "project.sqlite").write_bytes(b"")
    loop = make_dataset(work / "loop")
    os.symlink("a", loop / "a")
    models = {
        "fifo": model_copy(work, "fifo-model", _fifo_weights),
        "big": model_copy(work, "big-model", _config(block_out_channels=[2048] * 4, layers_per_block=8)),
        "deep": model_copy(work, "deep-model", lambda d: (d / "config.json").write_text("[" * 200000 + "]" * 200000)),
        "digits": model_copy(work, "digits-model",
                             lambda d: (d / "config.json").write_text('{"layers_per_block": 1' + "0" * 5000 + "}")),
        "sched": model_copy(work, "sched-model", lambda d: (d / "scheduler_config.json").write_text(
            json.dumps({"num_train_timesteps": 10 ** 9}))),
    }
    out = str(work / "o.png")
    synth = ["synth", "--out", out, "--quiet", "--device", "cpu", "--steps", "1"]
    return [
        ("info on a 1 KB BMP named .png declaring 30000x30000", ["info", str(bmp_ds), "--no-progress"]),
        ("synth --mask a BMP bomb", synth + ["--mask", str(bomb)]),
        ("synth --mask with ID 200", synth + ["--mask", str(bad)]),
        ("synth --model with a FIFO weights file", synth + ["--mask", str(good), "--model", str(models["fifo"])]),
        ("synth --model 2048 channels x 8 layers", synth + ["--mask", str(good), "--model", str(models["big"])]),
        ("synth --model config nested 200000 deep", synth + ["--mask", str(good), "--model", str(models["deep"])]),
        ("synth --model 5000-digit number", synth + ["--mask", str(good), "--model", str(models["digits"])]),
        ("synth --model 1e9 train timesteps", synth + ["--mask", str(good), "--model", str(models["sched"])]),
        ("train-preseg on a label with ID 99", ["train-preseg", "--model", str(STARTER), "--data", str(bad_ds),
                                                "--out", str(work / "head"), "--members", "1", "--max-epochs", "1",
                                                "--quiet", "--device", "cpu"]),
        ("export of a project whose database was emptied", ["export", str(project), str(work / "out"),
                                                            "--no-progress"]),
        ("info on a tree with a link loop", ["info", str(loop), "--no-progress"]),
        ("info --max-pixels lots", ["info", str(ds), "--max-pixels", "lots"]),
    ]


def run_case(name: str, argv: list[str]) -> str:
    cmd = ["/usr/bin/time", "-f", "PEAK %M", sys.executable, "-m", "engine.cli", *argv]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return f"| {name} | hung (300 s) | | | | |"
    lines = r.stderr.splitlines()
    peak = next((int(ln.split()[1]) // 1024 for ln in reversed(lines) if ln.startswith("PEAK ")), -1)
    said = [ln for ln in lines if not ln.startswith(("PEAK ", "Command exited", "Command terminated"))]
    first = said[0] if said else (r.stdout.strip().splitlines() or [""])[-1]
    traceback = "yes" if any("Traceback" in ln for ln in said) else "no"
    return f"| {name} | {r.returncode} | {len(said)} | {traceback} | {peak} MB | {first.strip()[:140]} |"


def main() -> None:
    work = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/cadis-sweep")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    print("| case | exit | stderr lines | traceback | peak RSS | first line |")
    print("|---|---|---|---|---|---|")
    for name, argv in build_cases(work):
        print(run_case(name, argv), flush=True)


if __name__ == "__main__":
    main()
