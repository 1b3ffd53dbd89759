"""Consistency distillation: the student folder round-trips, sampling works in 1-2 steps, runs resume exactly."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.synthesis_helpers import tiny_model, two_masks

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture()
def teacher_dir(tmp_path):
    from engine.models import save_synthesis_model
    from engine.models.model_dir import DEFAULT_SCHEDULER_CONFIG

    sched = dict(DEFAULT_SCHEDULER_CONFIG, prediction_type="sample")
    return save_synthesis_model(tiny_model(), tmp_path / "teacher", sched)


def _pairs(n: int = 4):
    a, b = two_masks(32, 64)
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        lab = a if i % 2 else b
        img = rng.integers(0, 255, (32, 64, 3), dtype=np.uint8)
        out.append((img, lab))
    from engine.training.data import TrainingPair

    return [TrainingPair(img, lab, f"p{i}") for i, (img, lab) in enumerate(out)]


def test_student_folder_round_trips(teacher_dir):
    from engine.distill import ConsistencyStudent, load_student, save_student, student_problem
    from engine.models import load_synthesis_model

    teacher, sched, _ = load_synthesis_model(teacher_dir, device="cpu")
    assert student_problem(teacher_dir) is not None  # none yet
    student = ConsistencyStudent.from_teacher(teacher, default_steps=1)
    torch.nn.init.normal_(student.guidance_embedding[2].weight, std=0.1)  # a non-trivial guidance embedding
    sha = json.loads((teacher_dir / "model_card.json").read_text())["weights_sha256"]
    folder = save_student(student, teacher_dir, sched, {"teacher_weights_sha256": sha, "steps": 3})
    assert {"config.json", "diffusion_pytorch_model.safetensors", "scheduler_config.json",
            "student_card.json"} <= {p.name for p in folder.iterdir()}
    assert not any(p.suffix in (".bin", ".pt", ".ckpt") for p in folder.iterdir())
    assert student_problem(teacher_dir) is None
    loaded, lcm_cfg, card = load_student(teacher_dir, device="cpu")
    assert card["steps"] == 3 and lcm_cfg["prediction_type"] == "sample"
    assert loaded.config.default_steps == 1
    x = torch.randn(2, 3, 16, 32)
    seg = torch.zeros(2, 8, 16, 32)
    seg[:, 2] = 1
    with torch.no_grad():
        for w in (1.0, 2.5):
            assert torch.allclose(student.eval()(x, 500, guidance=w, segmap=seg), loaded(x, 500, guidance=w, segmap=seg),
                                  atol=1e-5)
        # the guidance scale is an input: another w, another prediction
        assert not torch.allclose(loaded(x, 500, guidance=1.0, segmap=seg), loaded(x, 500, guidance=3.0, segmap=seg))


def test_fresh_student_matches_teacher_until_trained(teacher_dir):
    """The guidance embedding starts at zero, so an untrained student predicts what the teacher does."""
    from engine.distill import ConsistencyStudent
    from engine.models import load_synthesis_model

    teacher, _, _ = load_synthesis_model(teacher_dir, device="cpu")
    student = ConsistencyStudent.from_teacher(teacher).eval()
    x, seg = torch.randn(1, 3, 16, 32), torch.zeros(1, 8, 16, 32)
    with torch.no_grad():
        assert torch.allclose(student(x, 300, guidance=2.0, segmap=seg), teacher(x, 300, segmap=seg), atol=1e-6)


def test_retrained_teacher_makes_the_student_stale(teacher_dir):
    from engine.distill import ConsistencyStudent, save_student, student_problem
    from engine.models import load_synthesis_model, save_synthesis_model

    teacher, sched, _ = load_synthesis_model(teacher_dir, device="cpu")
    sha = json.loads((teacher_dir / "model_card.json").read_text())["weights_sha256"]
    save_student(ConsistencyStudent.from_teacher(teacher), teacher_dir, sched, {"teacher_weights_sha256": sha})
    assert student_problem(teacher_dir) is None
    save_synthesis_model(tiny_model(seed=5), teacher_dir, sched)  # retrained in place
    assert "other weights" in student_problem(teacher_dir)


def test_distill_trains_resumes_exactly_and_samples(teacher_dir, tmp_path):
    from safetensors.torch import load_file

    from engine.distill import DistillConfig, StudentPipeline, distill, preview_pipeline

    pairs = _pairs()
    cfg = DistillConfig(max_steps=4, batch_size=2, checkpoint_every=2, log_every=1, device="cpu", mixed_precision="no")
    # interrupted after 2 steps, then resumed to 4 ...
    distill(teacher_dir, pairs, DistillConfig(**{**cfg.__dict__, "max_steps": 2}))
    res = distill(teacher_dir, pairs, cfg)
    assert (res.start_step, res.step) == (2, 4)
    resumed = load_file(str(teacher_dir / "student" / "diffusion_pytorch_model.safetensors"))
    # ... equals one uninterrupted run of 4 steps
    import shutil

    other = tmp_path / "again"
    shutil.copytree(teacher_dir, other, ignore=shutil.ignore_patterns("student"))
    distill(other, pairs, cfg)
    straight = load_file(str(other / "student" / "diffusion_pytorch_model.safetensors"))
    assert resumed.keys() == straight.keys()
    for k in resumed:
        assert torch.allclose(resumed[k], straight[k], atol=1e-6), k
    log = [json.loads(l) for l in (teacher_dir / "student" / "training" / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == [1, 2, 3, 4] and all(np.isfinite(e["loss"]) for e in log)

    pipe, why = preview_pipeline(teacher_dir, device="cpu")
    assert isinstance(pipe, StudentPipeline), why
    mask = two_masks()[0]
    for steps in (1, 2):
        r = pipe(mask, num_inference_steps=steps, seed=3)
        assert r.images[0].shape == (*mask.shape, 3) and r.images[0].dtype == np.uint8  # at the mask's size
        assert r.settings["steps"] == steps
        again = pipe(mask, num_inference_steps=steps, seed=3)
        assert np.array_equal(r.images[0], again.images[0])  # deterministic for a seed


def test_cancel_saves_one_checkpoint_that_the_next_run_continues(teacher_dir):
    from engine.distill import DistillConfig, distill
    from engine.jobs import JobCancelled, JobContext
    from engine.training.checkpoint import latest_checkpoint, read_checkpoint_state

    steps = []
    ctx = JobContext(progress=lambda f, m: steps.append(m) if m.startswith("step ") else None,
                     cancelled=lambda: len(steps) >= 3)   # the user presses cancel after step 3
    cfg = DistillConfig(max_steps=6, batch_size=2, checkpoint_every=100, log_every=1, device="cpu",
                        mixed_precision="no")
    with pytest.raises(JobCancelled, match="continue"):
        distill(teacher_dir, _pairs(), cfg, ctx=ctx)
    run_dir = teacher_dir / "student" / "training"
    ck = latest_checkpoint(run_dir)
    assert ck.name == "checkpoint-000003" and read_checkpoint_state(ck)["step"] == 3
    assert {"student.safetensors", "target.safetensors", "optimizer.safetensors", "lr_scheduler.json",
            "rng.safetensors", "state.json"} <= {p.name for p in ck.iterdir()}
    assert all(p.suffix in (".safetensors", ".json") for p in ck.iterdir())   # nothing that would be unpickled
    assert json.loads((teacher_dir / "student" / "student_card.json").read_text())["steps"] == 3
    res = distill(teacher_dir, _pairs(), cfg)
    assert (res.start_step, res.step) == (3, 6)
    assert sorted(p.name for p in run_dir.glob("checkpoint-*")) == ["checkpoint-000003", "checkpoint-000006"]


def test_state_of_the_older_format_is_refused_with_a_message(teacher_dir):
    from engine.distill import DistillConfig, distill
    from engine.training.checkpoint import CheckpointError

    old = teacher_dir / "student" / "training" / "state-000100"
    old.mkdir(parents=True)
    (old / "state.json").write_text('{"step": 100}')
    with pytest.raises(CheckpointError, match="older version"):
        distill(teacher_dir, _pairs(), DistillConfig(max_steps=1, batch_size=2, device="cpu"))
    assert (old / "state.json").read_text() == '{"step": 100}'   # left as it was
