"""The augment job: pairs stored with provenance, filters, sharding, resume after a kill."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from augment_helpers import fake_generate, make_project
from engine.augment.batch import AugmentSettings, apply_uncertainty_filter, run_augment, run_key
from engine.augment.plan import DoneLog, WorkItem, plan_items, shard
from engine.jobs import JobCancelled, JobContext

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path):
    p = make_project(tmp_path)
    yield p
    p.close()


def _items(project):
    return [p.provenance["item"] for p in project.pairs(source="augment")]


def test_plan_ids_are_deterministic_and_shards_are_disjoint():
    items = plan_items(["a", "b", "c"], 2, 3, 7, "m")
    assert len(items) == 18 and len({i.id for i in items}) == 18
    assert items[0] == WorkItem("a", 0, 0, 7, "m") and items[0].sample_seed == WorkItem("a", 0, 0, 7, "m").sample_seed
    assert len({i.sample_seed for i in items}) == 18
    parts = [shard(items, i, 2) for i in range(2)]
    assert sorted(i.id for p in parts for i in p) == sorted(i.id for i in items)
    assert not {i.frame for i in parts[0]} & {i.frame for i in parts[1]}
    with pytest.raises(ValueError):
        shard(items, 2, 2)
    with pytest.raises(ValueError):
        plan_items(["a"], 0, 1, 0)


def test_a_repaint_run_is_not_taken_for_a_done_full_run():
    """A repaint run after a full run with the same model and seed makes its own pairs (items of another mode)."""
    full = plan_items(["a", "b"], 2, 1, 7, "m")
    repaint = plan_items(["a", "b"], 2, 1, 7, "m", "repaint")
    assert not {i.id for i in full} & {i.id for i in repaint}
    assert full[0].id == "a|v0|s0|seed7|m"  # full-mode ids (and so their seeds) are those of earlier versions


def test_augment_stores_pairs_with_provenance_and_resumes_without_duplicates(project):
    settings = AugmentSettings(layouts=2, samples=2, seed=3)
    progress = []
    res = run_augment(project, fake_generate, settings, ctx=JobContext(lambda f, m: progress.append(f)))
    assert res.planned == 6 * 2 * 2
    assert len(res.stored) + sum(res.dropped.values()) == res.planned
    assert len(res.stored) >= res.planned // 2
    assert progress[-1] == pytest.approx(1.0)
    pairs = project.pairs(source="augment")
    assert [p.id for p in pairs] == res.stored
    for p in pairs:
        image, label = project.load_pair(p.id)
        assert image.shape[:2] == label.shape == (68, 120)
        prov = p.provenance
        assert prov["frame"] == p.parent_key and prov["ops"] and prov["run"] == run_key("custom", 3)
        # the stored label is the layout variant of the parent at the image size, and differs from the parent
        parent = project.load_label(p.parent_key)
        assert set(np.unique(label).tolist()) <= set(range(36)) | {255}
        assert not np.array_equal(label, parent[::2, ::2])
    again = run_augment(project, fake_generate, settings)
    assert again.stored == [] and again.already_done == res.planned
    assert len(_items(project)) == len(set(_items(project))) == len(res.stored)


def test_consistency_filter_and_missing_scorer(project):
    with pytest.raises(ValueError, match="--head"):
        run_augment(project, fake_generate, AugmentSettings(layouts=1, samples=1, min_consistency=0.5))
    keys = project.frame_keys()[:2]

    def score(image, label):  # a stand-in scorer: agrees with about half of the images
        return {"consistency": 0.9 if image[0, 0, 0] % 2 == 0 else 0.1}

    res = run_augment(project, fake_generate, AugmentSettings(layouts=2, samples=2, min_consistency=0.5),
                      frames=keys, score=score)
    stored = [project.load_pair(i)[0][0, 0, 0] % 2 for i in res.stored]
    assert all(v == 0 for v in stored)
    assert res.dropped["low consistency"] >= 1
    assert all(p.provenance["scores"]["consistency"] == 0.9 for p in project.pairs(source="augment"))


def test_drop_uncertain_rejects_the_top_fraction_once(project):
    def score(image, label):
        return {"consistency": 1.0, "uncertainty": float(image.mean())}

    settings = AugmentSettings(layouts=2, samples=2, drop_uncertain=0.25)
    run_augment(project, fake_generate, settings, score=score)
    run = run_key("custom", 0)
    rejected = apply_uncertainty_filter(project, 0.25, run)
    pairs = project.pairs(source="augment")
    assert len(rejected) == round(0.25 * len(pairs))
    worst = sorted(pairs, key=lambda p: -p.provenance["scores"]["uncertainty"])[:len(rejected)]
    assert {p.id for p in worst} == set(rejected)
    assert apply_uncertainty_filter(project, 0.25, run) == []


def test_shards_together_do_the_whole_run(tmp_path):
    project = make_project(tmp_path)
    try:
        s = AugmentSettings(layouts=1, samples=2, seed=1)
        a = run_augment(project, fake_generate, s, shard_index=0, shard_count=2)
        b = run_augment(project, fake_generate, s, shard_index=1, shard_count=2)
        assert a.planned + b.planned == 6 * 2
        frames_a = {project.pair(i).parent_key for i in a.stored}
        frames_b = {project.pair(i).parent_key for i in b.stored}
        assert not frames_a & frames_b
        assert Path(project.root, "augment", "done-1.jsonl").is_file()
        assert run_augment(project, fake_generate, s).already_done == 12
    finally:
        project.close()


def test_cancel_stops_between_items(project):
    calls = []

    def cancelled():
        return len(calls) >= 3

    def gen(label, seed):
        calls.append(seed)
        return fake_generate(label, seed)

    with pytest.raises(JobCancelled):
        run_augment(project, gen, AugmentSettings(layouts=2, samples=2), ctx=JobContext(None, cancelled))
    assert len(calls) == 3
    assert len(DoneLog(project.root).read_all()) == 3


SCRIPT = textwrap.dedent("""
    import sys
    sys.path[:0] = [{root!r}, {tests!r}]
    from augment_helpers import fake_generate
    from engine.augment.batch import AugmentSettings, run_augment
    from engine.project import Project
    project = Project.open_or_create({proj!r})
    run_augment(project, lambda lab, seed: fake_generate(lab, seed, sleep=0.15),
                AugmentSettings(layouts=2, samples=2, seed=4))
""")


def test_killed_augment_resumes_without_duplicates_or_torn_files(tmp_path):
    project = make_project(tmp_path / "a")
    proj_dir = project.root
    project.close()
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(root=str(ROOT), tests=str(ROOT / "tests"), proj=str(proj_dir)))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, stderr=subprocess.PIPE)
    log = proj_dir / "augment" / "done-0.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if log.is_file() and log.read_bytes().count(b"\n") >= 5:
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    time.sleep(0.07)  # land somewhere inside the next item
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    from engine.project import Project

    project = Project.open_or_create(proj_dir)
    try:
        before = len(project.pairs(source="augment"))
        assert 0 < before < 24
        res = run_augment(project, fake_generate, AugmentSettings(layouts=2, samples=2, seed=4))
        assert res.already_done >= before
        items = _items(project)
        assert len(items) == len(set(items)), "an item was stored twice"
        for p in project.pairs(source="augment"):
            image, label = project.load_pair(p.id)  # every stored file is complete
            assert image.shape[:2] == label.shape
        leftovers = [f for f in (proj_dir / "pairs").rglob("*") if f.name.endswith(".tmp")]
        assert not leftovers
        # the same run without a kill gives the same items and the same images
        ref = make_project(tmp_path / "b")
        try:
            run_augment(ref, fake_generate, AugmentSettings(layouts=2, samples=2, seed=4))
            assert sorted(_items(ref)) == sorted(items)
            ref_images = {p.provenance["item"]: ref.load_pair(p.id)[0] for p in ref.pairs(source="augment")}
            for p in project.pairs(source="augment"):
                assert np.array_equal(project.load_pair(p.id)[0], ref_images[p.provenance["item"]])
        finally:
            ref.close()
        counts = Counter(rec["result"] for rec in DoneLog(proj_dir).read_all().values())
        assert counts["stored"] + counts["dropped"] == 24
    finally:
        project.close()


def test_done_log_skips_a_torn_line_and_keeps_appending(tmp_path):
    log = DoneLog(tmp_path, 0)
    log.append({"item": "a", "result": "stored", "pair": 1})
    with open(log.path, "ab") as fh:
        fh.write(b'{"item": "b", "res')  # a kill in the middle of a line
    log.append({"item": "c", "result": "dropped", "reason": "near-duplicate"})
    DoneLog(tmp_path, 1).append({"item": "d", "result": "stored", "pair": 2})
    assert sorted(DoneLog(tmp_path).read_all()) == ["a", "c", "d"]
