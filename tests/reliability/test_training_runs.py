"""Training runs under faults: a full disk at the first checkpoint, a foreign lr_scheduler.json on --resume,
two runs into one --out, leftovers of killed saves, and workers whose launcher is killed with -9."""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from engine.training.folder_lock import LOCK_NAME, ModelFolderLock, remove_leftovers
from tests.reliability import tally
from tests.reliability.data_loss_helpers import one_clear_line, run_cli

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _args(data, out, steps=1, *extra):
    return ["train-model", data, "--out", out, "--resolution", "32x16", "--classes", "1", "--channels", "8",
            "--max-steps", str(steps), "--batch-size", "1", "--sample-every", "0", "--checkpoint-every", "1",
            "--device", "cpu", "--quiet", *extra]


def test_a_full_disk_at_the_first_checkpoint_is_one_line_and_leaves_no_partial(phantom_root, tmp_path, capsys,
                                                                               monkeypatch):
    import safetensors.torch

    real = safetensors.torch.save_file

    def full_disk(tensors, filename, *a, **kw):
        with open(filename, "wb") as fh:
            fh.write(b"\0" * 100)  # part of the file, then the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(safetensors.torch, "save_file", full_disk)
    out = tmp_path / "model"
    code, _o, err = run_cli(capsys, *_args(phantom_root, out))
    monkeypatch.setattr(safetensors.torch, "save_file", real)
    tally.add("fuzz_cases")
    line = one_clear_line(err)
    assert code == 2 and "No space left on device" in line and "--resume" in line
    assert not [p for p in out.rglob("*") if "partial" in p.name], "a .partial checkpoint was left"
    tally.add("fuzz_refused")


def test_an_lr_scheduler_json_with_wrong_keys_is_refused_on_resume(phantom_root, tmp_path, capsys):
    out = tmp_path / "model"
    assert run_cli(capsys, *_args(phantom_root, out))[0] == 0
    (ck,) = sorted((out / "training").glob("checkpoint-*"))
    (ck / "lr_scheduler.json").write_text(json.dumps({"banana": 1, "last_epoch": "x"}))
    code, _o, err = run_cli(capsys, *_args(phantom_root, out, 2, "--resume"))
    tally.add("fuzz_cases")
    assert code == 2 and "does not hold this run's LR schedule" in one_clear_line(err)
    (ck / "lr_scheduler.json").write_text("[" * 100_000 + "]" * 100_000)
    code, _o, err = run_cli(capsys, *_args(phantom_root, out, 2, "--resume"))
    assert code == 2 and "nests deeper" in one_clear_line(err)
    tally.add("fuzz_refused")


def test_a_second_run_into_the_same_folder_is_refused_and_leftovers_are_cleared(phantom_root, tmp_path, capsys):
    out = tmp_path / "model"
    out.mkdir()
    (out / "training").mkdir()
    leftovers = [out / ".config.json.ab12cd.tmp", out / "training" / ".log.jsonl.x1y2.tmp"]
    for p in leftovers:
        p.write_bytes(b"\0" * 1000)
    (out / "training" / ".checkpoint-000004.partial").mkdir()
    victim = tmp_path / "mine.tmp"
    victim.write_text("not a leftover")
    (out / ".linked.tmp").symlink_to(victim)
    holder = ModelFolderLock(out, app="the other run")  # another run is writing this folder
    try:
        code, _o, err = run_cli(capsys, *_args(phantom_root, out))
        tally.add("fuzz_cases")
        line = one_clear_line(err)
        assert code == 2 and "is being written by the other run" in line and f"pid {os.getpid()}" in line
        assert all(p.exists() for p in leftovers), "a refused run touched the folder"
    finally:
        holder.release()
    assert run_cli(capsys, *_args(phantom_root, out))[0] == 0
    assert not any(p.exists() for p in leftovers) and not (out / "training" / ".checkpoint-000004.partial").exists()
    assert victim.read_text() == "not a leftover" and (out / ".linked.tmp").is_symlink()  # links never followed
    assert remove_leftovers(out) == []
    tally.add("fuzz_refused")


def test_the_lock_file_linked_elsewhere_is_never_truncated(tmp_path):
    victim = tmp_path / "thesis.txt"
    victim.write_text("precious")
    out = tmp_path / "model"
    out.mkdir()
    (out / LOCK_NAME).symlink_to(victim)
    with pytest.raises(ValueError, match="symbolic link"):
        ModelFolderLock(out)
    assert victim.read_text() == "precious"


WORKER = "import time\nfrom engine.training.folder_lock import die_with_launcher\nassert die_with_launcher()\n" \
         "print('ready', flush=True)\ntime.sleep(60)\n"
LAUNCHER = (  # a stand-in for `accelerate launch`: starts one worker with the environment it sets, then waits
    "import os, subprocess, sys, time\n"
    "env = dict(os.environ, LOCAL_RANK='0', WORLD_SIZE='2', RANK='1')\n"
    f"child = subprocess.Popen([sys.executable, '-c', {WORKER!r}], env=env, stdout=subprocess.PIPE, text=True)\n"
    "assert child.stdout.readline().strip() == 'ready'\n"
    "print(child.pid, flush=True)\n"
    "time.sleep(60)\n")


def test_a_worker_dies_with_its_launcher_killed_by_sigkill(tmp_path):
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER], stdout=subprocess.PIPE, text=True,
                                cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    try:
        worker = int(launcher.stdout.readline())
        os.kill(launcher.pid, signal.SIGKILL)
        launcher.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                break
            try:  # reap it if it became our child's orphan adopted by us (it is not: init adopts it)
                os.waitpid(worker, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.1)
        else:
            os.kill(worker, signal.SIGKILL)
            pytest.fail("the worker kept running after its launcher was killed")
    finally:
        if launcher.poll() is None:
            launcher.kill()


def test_a_training_log_linked_elsewhere_is_never_written_through(phantom_root, tmp_path, capsys):
    victim = tmp_path / "thesis.txt"
    victim.write_text("precious")
    out = tmp_path / "model"
    (out / "training").mkdir(parents=True)
    (out / "training" / "log.jsonl").symlink_to(victim)
    code, _o, err = run_cli(capsys, *_args(phantom_root, out))
    tally.add("fuzz_cases")
    assert code == 2 and "symbolic link" in one_clear_line(err)
    assert victim.read_text() == "precious"
    tally.add("fuzz_refused")
