"""Special files and trees among a user's inputs: a FIFO among the images the folder guard inspects, a student
folder with hostile files, `preseg` over 1,500 nested folders, a pair journal linked to a huge file."""
from __future__ import annotations

import json
import os
import shutil
import threading

import numpy as np
import pytest
import torch

from engine.imageio import write_image
from tests.reliability import tally
from tests.reliability.data_loss_helpers import run_cli

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _in_thread(fn, timeout=20):
    """fn() in a daemon thread: (finished, result); a hang leaves the thread blocked, not the test run."""
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("r", fn()), daemon=True)
    t.start()
    t.join(timeout)
    return not t.is_alive(), box.get("r")


def test_a_fifo_among_the_images_does_not_freeze_the_folder_guard(tmp_path):
    from engine.project.folder_guard import check_folder, image_header

    for i in range(3):
        write_image(tmp_path / f"frame{i}.png", np.zeros((36, 64, 3), np.uint8))
    os.mkfifo(tmp_path / "frame9.png")
    os.mkfifo(tmp_path / "photo.jpg")
    finished, result = _in_thread(lambda: check_folder(tmp_path))
    tally.add("fuzz_cases")
    assert finished, "the folder guard hangs on a FIFO"
    assert result.images >= 3
    assert image_header(tmp_path / "frame9.png") is None
    assert image_header(tmp_path / "frame0.png") == (64, 36, "rgb")
    tally.add("fuzz_refused")


# ------------------------------------------------------------------------------------------- the student
@pytest.fixture(scope="module")
def student_model(model_dir, tmp_path_factory):
    from engine.distill.student import ConsistencyStudent, save_student
    from engine.models import load_synthesis_model

    d = tmp_path_factory.mktemp("student") / "model"
    shutil.copytree(model_dir, d)
    teacher, sched, _ = load_synthesis_model(d, device="cpu")
    torch.manual_seed(0)
    save_student(ConsistencyStudent.from_teacher(teacher), d, sched, {"note": "test"})
    return d


def _edit(name, **changes):
    def edit(d):
        p = d / "student" / name
        cfg = json.loads(p.read_text())
        for k, v in changes.items():
            section, _, field = k.partition("__")
            (cfg[section] if field else cfg)[field or section] = v
        p.write_text(json.dumps(cfg))
    return edit


def _fifo(name):
    def edit(d):
        (d / "student" / name).unlink()
        os.mkfifo(d / "student" / name)
    return edit


STUDENT_CASES = {
    "UNet of 100,000 channels": (_edit("config.json", unet_config__block_out_channels=[100000, 100000]),
                                 "block_out_channels"),
    "guidance features of a billion": (_edit("config.json", guidance_features=10 ** 9), "guidance_features"),
    "a billion train timesteps": (_edit("scheduler_config.json", num_train_timesteps=10 ** 9), "num_train_timesteps"),
    "original steps of a billion": (_edit("scheduler_config.json", original_inference_steps=10 ** 9),
                                    "original_inference_steps"),
    "a FIFO as scheduler config": (_fifo("scheduler_config.json"), "FIFO"),
    "a FIFO as config": (_fifo("config.json"), "FIFO"),
}


@pytest.mark.parametrize("case", list(STUDENT_CASES))
def test_a_hostile_student_is_one_clear_error(student_model, tmp_path, case):
    from engine.distill.student import load_student
    from engine.models import ModelFolderError

    d = tmp_path / "model"
    shutil.copytree(student_model, d)
    edit, says = STUDENT_CASES[case]
    edit(d)
    tally.add("fuzz_cases")

    def load():
        try:
            load_student(d, device="cpu")
        except ModelFolderError as exc:
            return str(exc)
        return None

    finished, message = _in_thread(load, timeout=60)
    assert finished, "loading the student hangs"
    assert message is not None and says in message and "\n" not in message
    tally.add("fuzz_refused")


def test_a_fifo_as_the_student_card_does_not_hang(student_model, tmp_path):
    from engine.distill.student import read_student_card

    d = tmp_path / "model"
    shutil.copytree(student_model, d)
    assert read_student_card(d)["note"] == "test"
    _fifo("student_card.json")(d)
    finished, card = _in_thread(lambda: read_student_card(d))
    assert finished and card == {}


# ------------------------------------------------------------------------------------------- deep trees
def test_preseg_over_1500_nested_folders_is_not_a_traceback(tmp_path, capsys):
    from engine.preseg import image_paths

    root = tmp_path / "nest"
    root.mkdir()
    write_image(root / "top.png", np.zeros((36, 64, 3), np.uint8))
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(1500):  # relative to the last folder: the whole path is longer than PATH_MAX
            os.mkdir("a", dir_fd=fd)
            new = os.open("a", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = new
        with open(os.open("deep.png", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "wb") as fh:
            fh.write((root / "top.png").read_bytes())
    finally:
        os.close(fd)
    problems: list = []
    found = image_paths([root], problems)
    assert found == [root / "top.png"]
    assert any("nested more than" in p.reason for p in problems)
    # the command: the deep branch is reported as one problem line and skipped (the model is never reached)
    code, _o, err = run_cli(capsys, "preseg", "--model", tmp_path / "no-model", "--head", tmp_path / "no-head", root,
                            "--out-dir", tmp_path / "out", "--quiet")
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "nested more than" in lines[0] and len(lines[0]) < 600
    _remove_chain(root)


def _remove_chain(root):
    """Remove the 1,500-deep chain bottom-up without recursion (shutil.rmtree recurses once per level)."""
    fds = [os.open(root, os.O_RDONLY)]
    try:
        while "a" in os.listdir(fds[-1]):
            fds.append(os.open("a", os.O_RDONLY, dir_fd=fds[-1]))
        for name in os.listdir(fds[-1]):
            os.unlink(name, dir_fd=fds[-1])
        for parent in reversed(fds[:-1]):
            os.close(fds.pop())
            os.rmdir("a", dir_fd=parent)
    finally:
        for fd in fds:
            os.close(fd)


# ------------------------------------------------------------------------------------------- pair journals
PAIR_CHILD = r"""
import json, resource, sys, warnings
from pathlib import Path
import numpy as np
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))  # reading the 6 GiB file fails here, not the machine
from engine.project.pair_journal import PairJournals
root = Path(sys.argv[1])
with warnings.catch_warnings(record=True) as notes:
    warnings.simplefilter("always")
    j = PairJournals(root)
    out = {"with": j.with_entries(), "live": len(j.live(3, np.zeros((4, 4), np.uint8))),
           "notes": [str(n.message) for n in notes]}
print(json.dumps(out))
"""


@pytest.mark.parametrize("kind", ["link to a 6 GiB file", "FIFO"])
def test_a_pair_journal_linked_to_a_huge_file_or_a_fifo_is_not_read(tmp_path, kind):
    import subprocess
    import sys
    from pathlib import Path

    pair = tmp_path / "proj" / "pairs" / "3"
    pair.mkdir(parents=True)
    if kind == "FIFO":
        os.mkfifo(pair / "journal.bin")
    else:
        big = tmp_path / "big.bin"
        with open(big, "wb") as fh:
            fh.truncate(6 << 30)  # sparse: nothing on disk
        (pair / "journal.bin").symlink_to(big)
    tally.add("fuzz_cases")
    proc = subprocess.run([sys.executable, "-c", PAIR_CHILD, str(tmp_path / "proj")], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["with"] == [] and out["live"] == 0
    assert any("pair journal" in n and "not recovered" in n for n in out["notes"])
    tally.add("fuzz_refused")
