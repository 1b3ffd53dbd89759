"""Model and head folders with hostile configs or special files: a clear error naming the file, before
anything is built, never a traceback, never gigabytes, never a hang.

The loads run in one child process under a 3 GB address-space limit, so a loader that would build a
huge model fails there (and this test with it) instead of exhausting the shared machine.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from tests.reliability import tally

WEIGHTS = "diffusion_pytorch_model.safetensors"
HEAD_JSON = "preseg_head.json"

CHILD = r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
from engine.models import load_synthesis_model
from engine.preseg import load_head
for kind, folder in json.loads(sys.argv[1]):
    try:
        load_synthesis_model(folder, device="cpu") if kind == "model" else load_head(folder)
        out = {"error": None}
    except BaseException as exc:
        out = {"error": type(exc).__name__, "message": str(exc)}
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, so it would report the pytest parent's peak
    out["peak_mb"] = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
    print(json.dumps(out), flush=True)
"""


def _edit_json(name: str, **changes):
    def edit(d: Path) -> None:
        cfg = json.loads((d / name).read_text())
        for key, value in changes.items():
            section, _, field = key.partition("__")
            (cfg[section] if field else cfg)[field or section] = value
        (d / name).write_text(json.dumps(cfg))
    return edit


def _raw(name: str, text: str):
    return lambda d: (d / name).write_text(text)


def _cut_header(d: Path) -> None:
    data = (d / WEIGHTS).read_bytes()
    (d / WEIGHTS).write_bytes(data[:8 + int.from_bytes(data[:8], "little") // 2])


def _retype(name: str, old: bytes = b'"F32"', new: bytes = b'"I32"'):
    """Declare the file's float tensors as integers of the same width (the header keeps its length)."""
    def edit(d: Path) -> None:
        data = bytearray((d / name).read_bytes())
        n = int.from_bytes(data[:8], "little")
        data[8:8 + n] = bytes(data[8:8 + n]).replace(old, new)
        (d / name).write_bytes(bytes(data))
    return edit


BIG = "1" + "0" * 5000
MODEL_CASES = {  # case -> (edit, file the message must name, words it must hold)
    "huge but allocatable channels": (_edit_json("config.json", block_out_channels=[1024, 1024], layers_per_block=4),
                                      WEIGHTS, "does not match"),
    "channels beyond bounds": (_edit_json("config.json", block_out_channels=[100000, 16]), "config.json",
                               "block_out_channels"),
    "deeply nested config": (_raw("config.json", "[" * 100000 + "]" * 100000), "config.json", "nests deeper than"),
    "nested object": (_raw("config.json", json.dumps({"a": json.loads("[" * 30 + "]" * 30)})), "config.json",
                      "nests deeper than"),
    "5000-digit layers": (_raw("config.json", '{"layers_per_block": ' + BIG + "}"), "config.json", "number"),
    "float layers": (_edit_json("config.json", layers_per_block=1.5), "config.json", "layers_per_block"),
    "string channels": (_edit_json("config.json", in_channels="3"), "config.json", "in_channels"),
    "bool classes": (_edit_json("config.json", num_classes=True), "config.json", "num_classes"),
    "classes against class set": (_edit_json("config.json", num_classes=36), "config.json", "num_classes"),
    "NaN dropout": (_raw("config.json", '{"dropout": NaN}'), "config.json", "number"),
    "1e5000 dropout": (_raw("config.json", '{"dropout": 1e5000}'), "config.json", "dropout"),
    "attention level out of range": (_edit_json("config.json", attention_levels=[5]), "config.json",
                                     "attention_levels"),
    "huge sample size": (_edit_json("config.json", sample_size=[65536, 65536]), "config.json", "sample_size"),
    "a billion train timesteps": (_edit_json("scheduler_config.json", num_train_timesteps=10 ** 9),
                                  "scheduler_config.json", "num_train_timesteps"),
    "5000-digit timesteps": (_raw("scheduler_config.json", '{"num_train_timesteps": ' + BIG + "}"),
                             "scheduler_config.json", "number"),
    "beta over 1": (_edit_json("scheduler_config.json", beta_end=5.0), "scheduler_config.json", "beta_end"),
    "betas reversed": (_edit_json("scheduler_config.json", beta_start=0.02, beta_end=0.001),
                       "scheduler_config.json", "beta_start"),
    "unknown prediction type": (_edit_json("scheduler_config.json", prediction_type="banana"),
                                "scheduler_config.json", "prediction_type"),
    "weights cut inside the header": (_cut_header, WEIGHTS, "truncated"),
    "float weights declared I32": (_retype(WEIGHTS), WEIGHTS, "stored as I32"),
    "trained_betas of 7 values": (_edit_json("scheduler_config.json", trained_betas=[0.01] * 7),
                                  "scheduler_config.json", "trained_betas"),
    "weights of 5 bytes": (lambda d: (d / WEIGHTS).write_bytes(b"\x80\x02\x00\x00\x00"), WEIGHTS, "truncated"),
}
HEAD_CASES = {
    "enormous layers": (_edit_json(HEAD_JSON, ensemble__members=64, ensemble__hidden=[4096, 4096, 4096]),
                        "preseg_head.safetensors", "does not match"),
    "layers beyond bounds": (_edit_json(HEAD_JSON, ensemble__hidden=[10 ** 9]), HEAD_JSON, "ensemble.hidden"),
    "members as text": (_edit_json(HEAD_JSON, ensemble__members="2"), HEAD_JSON, "ensemble.members"),
    "5000-digit channels": (lambda d: (d / HEAD_JSON).write_text(
        (d / HEAD_JSON).read_text().replace('"in_channels": 4', '"in_channels": ' + BIG)), HEAD_JSON, "number"),
    "deep head json": (_raw(HEAD_JSON, '{"format": "cadis-preseg-head/1", "meta": ' + "[" * 50000 + "]" * 50000
                            + "}"), HEAD_JSON, "nests deeper than"),
    "huge work size": (_edit_json(HEAD_JSON, features__work_size=[100000, 100000]), HEAD_JSON, "work_size"),
    "classes against class set": (_edit_json(HEAD_JSON, ensemble__num_classes=36), HEAD_JSON, "num_classes"),
    "head float weights declared I32": (_retype("preseg_head.safetensors"), "preseg_head.safetensors",
                                        "stored as I32"),
    "head shift as a string": (_edit_json(HEAD_JSON, shift="abc"), HEAD_JSON, "shift"),
    "head weights cut inside the header": (lambda d: (d / "preseg_head.safetensors").write_bytes(
        (d / "preseg_head.safetensors").read_bytes()[:40]), "preseg_head.safetensors", "truncated"),
}


def test_hostile_configs_give_a_clear_error_naming_the_file(model_dir, head_dir, tmp_path):
    jobs, expect = [], []
    for kind, base, cases in (("model", model_dir, MODEL_CASES), ("head", head_dir, HEAD_CASES)):
        for i, (case, (edit, name, words)) in enumerate(sorted(cases.items())):
            d = shutil.copytree(base, tmp_path / f"{kind}{i}")
            edit(d)
            jobs.append((kind, str(d)))
            expect.append((f"{kind}: {case}", d / name, words))
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(jobs)], capture_output=True, text=True,
                          timeout=600)
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(results) == len(jobs), proc.stderr[-3000:]
    wrong = []
    for (case, path, words), res in zip(expect, results):
        wanted = "ModelFolderError"  # every folder kind, model or head, is refused with the one loader's error
        if res["error"] != wanted or str(path) not in res["message"] or words not in res["message"]:
            wrong.append(f"{case}: {res}")
        tally.add("fuzz_cases")
        tally.add("fuzz_refused")
    assert not wrong, "\n".join(wrong)
    assert max(r["peak_mb"] for r in results) < 1500, [r["peak_mb"] for r in results]


def _load_in_thread(load, path: Path, fifo: Path) -> BaseException | None:
    """Run `load(path)`; if it is still blocked after 20 s, release the FIFO and report a hang."""
    result: dict = {}

    def target():
        try:
            load(path)
        except BaseException as exc:  # noqa: BLE001 - the error is what the test checks
            result["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(20)
    if t.is_alive():
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # a writer unblocks the reader, EOF follows
        os.close(fd)
        t.join(20)
        pytest.fail(f"loading {path} hung on the FIFO {fifo.name}")
    return result.get("error")


@pytest.mark.parametrize("name", [WEIGHTS, "config.json", "scheduler_config.json", "model_card.json"])
def test_model_folder_with_a_fifo_does_not_hang(model_dir, tmp_path, name):
    from engine.models import ModelFolderError, load_synthesis_model

    d = shutil.copytree(model_dir, tmp_path / "m")
    (d / name).unlink()
    os.mkfifo(d / name)
    err = _load_in_thread(lambda p: load_synthesis_model(p, device="cpu"), d, d / name)
    assert isinstance(err, ModelFolderError) and "regular file" in str(err) and name in str(err), err
    tally.add("fuzz_cases")
    tally.add("fuzz_refused")


@pytest.mark.parametrize("name", ["preseg_head.safetensors", HEAD_JSON])
def test_head_folder_with_a_fifo_does_not_hang(head_dir, tmp_path, name):
    from engine.preseg import load_head

    d = shutil.copytree(head_dir, tmp_path / "h")
    (d / name).unlink()
    os.mkfifo(d / name)
    err = _load_in_thread(load_head, d, d / name)
    assert isinstance(err, ValueError) and "regular file" in str(err) and name in str(err), err


def test_synth_cli_on_a_fifo_weights_file_gives_one_line(model_dir, tmp_path):
    d = shutil.copytree(model_dir, tmp_path / "m")
    (d / WEIGHTS).unlink()
    os.mkfifo(d / WEIGHTS)
    mask = tmp_path / "mask.png"
    from engine.imageio import write_label

    write_label(mask, torch.zeros(16, 32, dtype=torch.uint8).numpy())
    proc = subprocess.run([sys.executable, "-m", "engine.cli", "synth", "--model", str(d), "--mask", str(mask),
                           "--out", str(tmp_path / "o.png"), "--quiet", "--device", "cpu"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "regular file" in proc.stderr


def test_sane_folders_still_load(model_dir, head_dir):
    from engine.models import load_synthesis_model
    from engine.preseg import load_head

    model, sched, _card = load_synthesis_model(model_dir, device="cpu")
    assert model.config.num_classes == 8 and sched["num_train_timesteps"] == 1000
    assert load_head(head_dir).ensemble.num_members == 2
