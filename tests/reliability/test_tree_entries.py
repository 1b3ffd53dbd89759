"""Symbolic link loops, broken links and unreadable folders anywhere in a tree: every command that lists
a tree reports the entry as a problem and carries on with the rest."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.cli import main
from tests.reliability import tally
from tests.reliability.helpers import make_dataset


def _hostile_tree(root: Path) -> Path:
    """A good dataset plus a self-loop at the top, a link loop inside Images/, a link up the tree inside
    Labels/ and a broken Video link."""
    make_dataset(root)
    os.symlink("a", root / "b")
    os.symlink("b", root / "a")
    os.symlink("self", root / "Video01/Images/self")
    os.symlink("..", root / "Video01/Labels/up")
    os.symlink("Video77", root / "Video09")
    return root


@pytest.fixture
def unreadable(monkeypatch):
    """`unreadable(path)` makes listing that folder fail with EACCES (the tests run as root, where chmod
    000 would not stop anything)."""
    blocked: set[str] = set()
    real = os.scandir

    def scandir(path="."):
        if os.path.realpath(os.fspath(path)) in blocked:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    return lambda p: blocked.add(os.path.realpath(p))


def _problems(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("problem "):
            line = line[len("problem "):]
        path, sep, reason = line.partition(": ")
        if sep:
            out[path] = reason
    return out


def test_info_reports_loops_and_unreadable_folders(tmp_path, unreadable, capsys):
    root = _hostile_tree(tmp_path / "ds")
    unreadable(root / "Video05" / "Labels")
    assert main(["info", str(root), "--no-progress"]) == 0
    out = capsys.readouterr().out
    found = _problems(out)
    assert "symbolic link loop" in found["a"] and "symbolic link loop" in found["b"]
    assert "symbolic link loop" in found["Video01/Images/self"]
    assert "broken symbolic link" in found["Video09"]
    assert "permission denied" in found["Video05/Labels"]
    assert "Frames      2 valid" in out  # Video01's two frames still counted; Video05 lost only its label
    tally.add("fuzz_cases", 5)
    tally.add("fuzz_refused", 5)


def test_export_reports_and_carries_on(tmp_path, unreadable, capsys):
    root = _hostile_tree(tmp_path / "ds")
    unreadable(root / "Video05" / "Images")
    out_dir = tmp_path / "out"
    assert main(["export", str(root), str(out_dir), "--no-progress", "--no-report"]) == 0
    out = capsys.readouterr().out
    assert "exported 2 frames" in out
    found = _problems(out)
    assert "symbolic link loop" in found["a"] and "permission denied" in found["Video05/Images"]


def test_eval_seg_reports_loops_in_both_trees(tmp_path, unreadable, capsys):
    root = _hostile_tree(tmp_path / "ds")
    pred = tmp_path / "pred"
    pred.mkdir()
    for p in (root / "Video01/Labels").glob("*.png"):
        (pred / p.name).write_bytes(p.read_bytes())
    os.symlink(pred, pred / "loop")
    (pred / "locked").mkdir()
    unreadable(pred / "locked")
    assert main(["eval-seg", str(pred), str(root)]) == 0
    captured = capsys.readouterr()
    found = _problems(captured.err)
    assert "second time" in found["prediction loop"]
    assert "permission denied" in found["prediction locked"]
    assert "symbolic link loop" in found["ground truth a"]
    assert "2 frames" in captured.out


def test_train_preseg_and_preseg_list_their_inputs_with_problems(tmp_path, unreadable, capsys):
    """Both commands report the bad entries before they open the model (here a missing one, so the test
    needs no model): the listing itself never aborts."""
    root = _hostile_tree(tmp_path / "ds")
    unreadable(root / "Video05" / "Labels")
    rc = main(["train-preseg", "--model", str(tmp_path / "no-model"), "--data", str(root), "--out",
               str(tmp_path / "head"), "--quiet", "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    found = _problems(err)
    assert "symbolic link loop" in found["a"] and "permission denied" in found["Video05/Labels"]

    images = tmp_path / "imgs"
    (images / "sub").mkdir(parents=True)
    for p in (root / "Video01/Images").glob("*.png"):
        (images / "sub" / p.name).write_bytes(p.read_bytes())
    os.symlink("..", images / "sub" / "up")
    os.symlink("x", images / "x")
    (images / "locked").mkdir()
    unreadable(images / "locked")
    rc = main(["preseg", "--model", str(tmp_path / "no-model"), "--head", str(tmp_path / "no-head"), str(images),
               "--out-dir", str(tmp_path / "out"), "--quiet", "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    found = _problems(err)
    assert "symbolic link loop" in found[f"{images}/x"]
    assert "second time" in found[f"{images}/sub/up"]
    assert "permission denied" in found[f"{images}/locked"]


def test_walk_files_enters_each_real_folder_once(tmp_path):
    from engine.dataset.scan import walk_files

    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f.png").write_bytes(b"x")
    os.symlink(tmp_path / "a", tmp_path / "a" / "b" / "back")
    os.symlink(tmp_path / "a" / "b", tmp_path / "side")
    problems: list = []
    files = walk_files(tmp_path, problems)
    assert files == [tmp_path / "a" / "b" / "f.png"] or files == [tmp_path / "side" / "f.png"]
    assert len(problems) == 2 and all("second time" in p.reason for p in problems)
