"""`cadis eval-augment` / engine.services.eval_augment: with vs without the accepted pairs, folds by video."""
from __future__ import annotations

import json

import numpy as np
import pytest

from eval_augment_helpers import project_with_pairs
from engine.baselines.augment_value import video_folds
from engine.cli import main
from engine.jobs import JobCancelled, JobContext
from engine.project import Project
from engine.project.eval_augment_file import EVAL_AUGMENT_FILE, load_eval_augment
from engine.services.eval_augment import EvalAugmentRequest, eval_augment

pytestmark = pytest.mark.usefixtures("one_torch_thread")
TINY = ["--steps", "3", "--size", "48x32", "--no-progress"]


def test_cli_prints_a_per_class_table_and_keeps_the_result(tmp_path, capsys):
    root, _ = project_with_pairs(tmp_path / "p")
    assert main(["eval-augment", str(root), "--folds", "3", *TINY]) == 0
    out = capsys.readouterr().out
    assert "Budget: small UNet, 3 steps at 48x32, folds by video" in out
    assert "| class | without | with | pairs add (± spread over folds) | folds |" in out
    assert "| 0 Pupil |" in out and "± " in out  # a spread over 3 folds
    kept = load_eval_augment(root)
    assert kept["pairs"] == 6 and len(kept["value"]["splits"]) == 3
    assert kept["value"]["sizes"] == [[4, 4, 2]] * 3  # a held-out video's 2 pairs are never trained on


def test_project_without_pairs_says_so_in_one_line(tmp_path, capsys):
    root, _ = project_with_pairs(tmp_path / "p", accepted=False)  # pairs made but none accepted
    assert main(["eval-augment", str(root), *TINY]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "no accepted synthetic pairs" in out[0]
    assert not (root / EVAL_AUGMENT_FILE).exists()


def _files(root):
    """Every file of the project but its lock (which records when it was last opened), with its bytes."""
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != ".lock"}


def test_cancel_leaves_the_project_untouched(tmp_path):
    root, _ = project_with_pairs(tmp_path / "p", videos=2)
    before = _files(root)
    calls = []

    def progress(f, m):
        calls.append(m)

    ctx = JobContext(progress, cancelled=lambda: len(calls) > 4)  # cancel during the first training
    with Project.open_or_create(root) as project, pytest.raises(JobCancelled):
        eval_augment(ctx, project, EvalAugmentRequest(folds=2, steps=200, size=(48, 32)))
    assert any("without the pairs" in m for m in calls)
    assert not (root / EVAL_AUGMENT_FILE).exists()
    assert _files(root) == before


def test_pairs_of_a_held_out_video_never_train_its_fold():
    def pair(tag):
        return np.full((2, 2, 3), tag, np.uint8), np.zeros((2, 2), np.uint8)

    real = [(v, pair(10 * v + i)) for v in (1, 2, 3) for i in range(2)]
    synthetic = [(v, pair(100 + v)) for v in (1, 2, 3)] + [(None, pair(200))]  # 200: no parent frame
    splits = video_folds(real, synthetic, k=3)
    assert [s.name for s in splits] == ["video 1", "video 2", "video 3"]
    for v, sp in zip((1, 2, 3), splits):
        tags = {int(img[0, 0, 0]) for img, _ in sp.synthetic}
        assert tags == {100 + u for u in (1, 2, 3) if u != v} | {200}
        assert {int(img[0, 0, 0]) // 10 for img, _ in sp.test} == {v}
        assert v not in {int(img[0, 0, 0]) // 10 for img, _ in sp.real}


def test_result_json_round_trips(tmp_path):
    root, _ = project_with_pairs(tmp_path / "p", videos=2)
    with Project.open_or_create(root) as project:
        result = eval_augment(JobContext(), project, EvalAugmentRequest(folds=2, steps=2, size=(48, 32)))
    data = json.loads((root / EVAL_AUGMENT_FILE).read_text())
    assert data["markdown"] == result.markdown() and data["finished_at"]
    assert data["request"] == {"folds": 2, "steps": 2, "size": [48, 32], "seed": 0}


def test_export_report_carries_the_last_result(tmp_path):
    root, _ = project_with_pairs(tmp_path / "p", videos=2)
    assert main(["export", str(root), str(tmp_path / "before"), "--no-progress"]) == 0
    assert "Not measured: run `cadis eval-augment" in (tmp_path / "before" / "class_frequency.md").read_text()
    assert main(["eval-augment", str(root), "--folds", "2", *TINY]) == 0
    assert main(["export", str(root), str(tmp_path / "out"), "--no-progress"]) == 0
    report = (tmp_path / "out" / "class_frequency.md").read_text()
    assert "## What the synthetic pairs are worth" in report
    assert "| 0 Pupil |" in report and "Budget: small UNet, 3 steps at 48x32" in report


def test_last_result_reads_back_what_was_stored(tmp_path):
    from engine.services.eval_augment import last_result

    root, _ = project_with_pairs(tmp_path / "p", videos=2)
    with Project.open_or_create(root) as project:
        assert last_result(project) is None
        result = eval_augment(JobContext(), project, EvalAugmentRequest(folds=2, steps=2, size=(48, 32)))
        back = last_result(project)
    assert back.markdown() == result.markdown() and back.rare == result.rare and back.pairs == result.pairs
