"""Two real processes under `accelerate launch` on the CPU: train-model, distill and augment behave like one
process.

Why not `accelerate launch --cpu --num_processes 2`: with `--cpu`, accelerate 1.x starts several processes
only through `mpirun` (its multi-CPU path, for Intel MPI / oneCCL set-ups); without mpirun it silently starts
ONE process, and a test would pass without ever having run two. torchrun, which `--multi_gpu` uses, starts
real processes on any machine, so the tests launch `--multi_gpu --num_processes 2` with the GPUs hidden
(CUDA_VISIBLE_DEVICES=""); `--device auto`/`cpu` then makes every process train on the CPU, talking over gloo.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from augment_helpers import make_project, save_tiny_model
from engine.cli import main

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(args: list[str], processes: int = 2, timeout: float = 420) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes),
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_ip", "127.0.0.1", "--main_process_port", str(_free_port()), "-m", "engine.cli", *args]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)   # the launcher and every worker it started
        out, err = proc.communicate()
        pytest.fail(f"accelerate launch took over {timeout} s: {err[-2000:]}")
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _train_args(data, out, steps, resume=False):
    args = ["train-model", str(data), "--out", str(out), "--resolution", "32x16", "--classes", "1",
            "--channels", "8,16", "--max-steps", str(steps), "--batch-size", "2", "--sample-every", "0",
            "--checkpoint-every", "2", "--warmup-steps", "2", "--lr-schedule", "linear", "--log-every", "1", "--quiet"]
    return args + ["--resume"] if resume else args


def _log(out):
    return [json.loads(x) for x in (out / "training" / "log.jsonl").read_text().splitlines()]


def test_train_model_in_two_processes_shards_data_writes_once_and_resumes(phantom_root, tmp_path):
    ref, two = tmp_path / "ref", tmp_path / "two"
    for out in (ref, two):                                          # one process to step 2 ...
        assert main(_train_args(phantom_root, out, 2) + ["--device", "cpu"]) == 0
    all_pairs = json.loads((ref / "training" / "shards.json").read_text())["shards"]
    assert main(_train_args(phantom_root, ref, 4, resume=True) + ["--device", "cpu"]) == 0

    proc = launch([a for a in _train_args(phantom_root, two, 4, resume=True) if a != "--quiet"])  # ... 2 processes to 4
    assert proc.stdout.count("model at step 4") == 1                # one summary, from the main process
    shards = json.loads((two / "training" / "shards.json").read_text())
    assert shards["num_processes"] == 2 and all(shards["shards"])
    first, second = map(set, shards["shards"])
    assert not first & second and first | second == set(all_pairs[0])   # each pair read by exactly one rank
    cards = [json.loads((d / "model_card.json").read_text()) for d in (ref, two)]
    assert cards[0]["training_data_fingerprint"] == cards[1]["training_data_fingerprint"]
    assert cards[1]["training_processes"] == 2 and cards[1]["steps"] == 4
    cks = sorted(p.name for p in (two / "training").iterdir() if "checkpoint" in p.name)
    assert cks == ["checkpoint-000002", "checkpoint-000004"]         # written once, none half-written
    state = json.loads((two / "training" / "checkpoint-000004" / "state.json").read_text())
    assert state["num_processes"] == 2 and state["step"] == 4

    for out in (ref, two):                                          # one process continues the 2-process run
        assert main(_train_args(phantom_root, out, 6, resume=True) + ["--device", "cpu"]) == 0
    log_ref, log_two = _log(ref), _log(two)
    assert [r["step"] for r in log_two] == [1, 2, 3, 4, 5, 6] == [r["step"] for r in log_ref]  # written once
    # each run warms up over 2 steps and decays linearly to 0 at its --max-steps, for 1 or 2 processes alike
    assert [r["lr"] for r in log_two] == pytest.approx([r["lr"] for r in log_ref]) == [1e-4, 0, 1e-4, 0, 5e-5, 0]


def _distill_args(model, data, steps):
    return ["distill", "--model", str(model), "--data", str(data), "--max-steps", str(steps), "--batch-size", "2",
            "--checkpoint-every", "2"]


def _student(model):
    folder = model / "student"
    log = [json.loads(x) for x in (folder / "training" / "log.jsonl").read_text().splitlines()]
    return folder, log, json.loads((folder / "student_card.json").read_text())


def test_distill_in_two_processes_shards_frames_writes_once_and_resumes(phantom_root, tiny_model_dir, tmp_path):
    import shutil

    from safetensors.torch import load_file

    ref, two = tmp_path / "ref", tmp_path / "two"
    for model in (ref, two):                                        # one process to step 2 ...
        shutil.copytree(tiny_model_dir, model)
        assert main(_distill_args(model, phantom_root, 2) + ["--device", "cpu", "--quiet"]) == 0
    all_frames = json.loads((ref / "student" / "training" / "shards.json").read_text())["shards"][0]
    assert main(_distill_args(ref, phantom_root, 4) + ["--device", "cpu", "--quiet"]) == 0

    proc = launch(_distill_args(two, phantom_root, 4))              # ... two processes continue to 4
    assert proc.stdout.count("student continued to step 4") == 1    # one summary, from the main process
    run_dir = two / "student" / "training"
    shards = json.loads((run_dir / "shards.json").read_text())
    assert shards["num_processes"] == 2 and all(shards["shards"])   # both ranks ran and reported their frames
    first, second = map(set, shards["shards"])
    assert not first & second and first | second == set(all_frames) and len(all_frames) == 6
    cks = sorted(p.name for p in run_dir.iterdir() if "checkpoint" in p.name)
    assert cks == ["checkpoint-000002", "checkpoint-000004"]        # written once, none half-written
    state = json.loads((run_dir / "checkpoint-000004" / "state.json").read_text())
    assert state["num_processes"] == 2 and state["step"] == 4
    adam = load_file(str(run_dir / "checkpoint-000004" / "optimizer.safetensors"))
    assert {float(v) for k, v in adam.items() if k.endswith(".step")} == {4.0}   # continued from step 2
    _, _, card = _student(two)
    assert card["training_processes"] == 2 and card["steps"] == 4
    assert card["training_data_fingerprint"] == _student(ref)[2]["training_data_fingerprint"]

    for model in (ref, two):                                        # one process continues the 2-process run
        assert main(_distill_args(model, phantom_root, 6) + ["--device", "cpu", "--quiet"]) == 0
    log_ref, log_two = _student(ref)[1], _student(two)[1]
    assert [r["step"] for r in log_two] == [2, 4, 6] == [r["step"] for r in log_ref]   # one line per log step
    # the warm-up (50 optimizer steps: lr after step k is k/50 x 1e-4) is at the same point for 1 or 2
    # processes, also across the resumes from 1 to 2 processes and back
    assert [r["lr"] for r in log_two] == pytest.approx([r["lr"] for r in log_ref]) == [4e-6, 8e-6, 1.2e-5]


def _upsampler_args(data, model, out, steps, resume=False):
    args = ["train-upsampler", str(data), "--model", str(model), "--out", str(out), "--max-steps", str(steps),
            "--batch-size", "2", "--crop", "64", "--save-every", "2"]
    return args + ["--resume"] if resume else args


def test_train_upsampler_in_two_processes_continues_a_one_process_run(phantom_root, tiny_model_dir, tmp_path):
    from safetensors.torch import load_file

    from engine.pipelines.folder import load_upsampler

    out = tmp_path / "pipe"
    assert main(_upsampler_args(phantom_root, tiny_model_dir, out, 2) + ["--device", "cpu", "--quiet"]) == 0
    proc = launch(_upsampler_args(phantom_root, tiny_model_dir, out, 4, resume=True))
    assert proc.stdout.count("upsampler continued from step 2 to step 4") == 1   # one summary, main process
    run_dir = out / "upsampler-run"
    cks = sorted(p.name for p in (run_dir / "training").iterdir() if "checkpoint" in p.name)
    assert cks == ["checkpoint-000002", "checkpoint-000004"]        # written once, none half-written
    state = json.loads((run_dir / "training" / "checkpoint-000004" / "state.json").read_text())
    assert state["num_processes"] == 2 and state["step"] == 4
    adam = load_file(str(run_dir / "training" / "checkpoint-000004" / "optimizer.safetensors"))
    assert {float(v) for k, v in adam.items() if k.endswith(".step")} == {4.0}   # continued from step 2
    assert json.loads((run_dir / "training_state.json").read_text())["training_processes"] == 2
    log = [json.loads(x) for x in (run_dir / "training" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [2, 4]                        # one line per log step
    assert load_upsampler(out / "upsampler").config.low_res_size == [16, 32]   # the pipeline folder is complete


def _augment_args(root, model, keys):
    return ["augment", str(root), "--model", str(model), "--layouts", "2", "--samples", "1", "--steps", "2",
            "--no-progress", "--frames", ",".join(keys), "--duplicate-threshold", "0"]


def _done_items(root):
    from engine.augment.plan import DoneLog

    items = []
    for path in sorted((DoneLog(root).folder).glob("done-*.jsonl")):
        items += [json.loads(x)["item"] for x in path.read_text().splitlines() if x.strip()]
    return items


def test_augment_in_two_processes_makes_every_pair_once(tmp_path, tiny_model_dir):
    from engine.augment.plan import plan_items
    from engine.project import Project

    roots = []
    for name in ("one", "two"):
        project = make_project(tmp_path / name, videos=1, frames=4)
        roots.append((project.root, project.frame_keys()))
        project.close()
    (one, keys), (two, _) = roots
    assert main(_augment_args(one, tiny_model_dir, keys) + ["--device", "cpu"]) == 0
    proc = launch(_augment_args(two, tiny_model_dir, keys))
    assert "shard 1/2" in proc.stdout and "shard 2/2" in proc.stdout
    done_one, done_two = _done_items(one), _done_items(two)
    with Project.open_or_create(one) as p:
        model_id = p.pairs(source="augment")[0].provenance["model"]
    planned = {it.id for it in plan_items(keys, 2, 1, 0, model_id, "repaint")}  # the CLI's default mode
    assert len(planned) == 8 and len(done_two) == 8 and set(done_two) == planned == set(done_one)  # none missing
    with Project.open_or_create(two) as p:
        stored = [pair.provenance["item"] for pair in p.pairs(source="augment")]
    with Project.open_or_create(one) as p:
        stored_one = [pair.provenance["item"] for pair in p.pairs(source="augment")]
    assert len(stored) == len(set(stored)) and sorted(stored) == sorted(stored_one)     # none made twice


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("model") / "tiny")
