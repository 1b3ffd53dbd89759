"""Training checkpoints: safetensors + JSON only, nothing unpickled on resume, crafted pickles never run."""
import json
import pickle

import numpy as np
import pytest
import torch

from engine.training import train_synthesis
from engine.training.checkpoint import (CheckpointError, join_state, latest_checkpoint, load_checkpoint,
                                        read_checkpoint_state, split_state)
from tests.synthesis_helpers import model_weights as _weights, train_config as _cfg, training_pairs as _pairs

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class _Payload:
    """Unpickling this creates `marker`: proof that a pickle was loaded (and would have run code)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _plant_pickles(folder, marker):
    data = pickle.dumps(_Payload(marker))
    for name in ("optimizer.bin", "scheduler.bin", "random_states_0.pkl", "pytorch_model.bin", "ema.pt"):
        (folder / name).write_bytes(data)


def test_split_and_join_round_trip_an_optimizer_and_rng_state():
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.8, 0.95))
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    state = {"opt": opt.state_dict(), "np": np.random.get_state(), "t": (1, 2.5, None, "x")}
    meta, tensors = split_state(state)
    json.dumps(meta)                                    # everything that is not a tensor is plain JSON
    back = join_state(json.loads(json.dumps(meta)), tensors)
    assert back["t"] == (1, 2.5, None, "x") and back["opt"]["param_groups"][0]["betas"] == (0.8, 0.95)
    assert set(back["opt"]["state"]) == {0, 1}          # integer parameter ids come back as integers
    assert torch.equal(back["opt"]["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    assert back["np"][1].dtype == np.uint32 and np.array_equal(back["np"][1], state["np"][1])
    with pytest.raises(CheckpointError, match="cannot store"):
        split_state({"f": object()})


def test_checkpoint_holds_only_safetensors_and_json(tmp_path):
    train_synthesis(_pairs(), tmp_path / "m", _cfg(max_steps=2, checkpoint_every=2))
    ck = latest_checkpoint(tmp_path / "m" / "training")
    names = sorted(p.name for p in ck.iterdir())
    assert names and all(n.endswith((".safetensors", ".json")) for n in names)
    assert {"model.safetensors", "optimizer.safetensors", "optimizer.json", "lr_scheduler.json", "ema.safetensors",
            "ema.json", "rng.safetensors", "rng.json", "state.json"} == set(names)
    state = read_checkpoint_state(ck)
    assert state["step"] == 2 and state["num_processes"] == 1 and sorted(state["files"]) == sorted(
        n for n in names if n != "state.json")


def test_resume_never_unpickles_and_planted_pickles_do_not_run(tmp_path, monkeypatch):
    pairs = _pairs()
    train_synthesis(pairs, tmp_path / "a", _cfg(max_steps=4))
    train_synthesis(pairs, tmp_path / "b", _cfg(max_steps=2))
    ck = latest_checkpoint(tmp_path / "b" / "training")
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(_Payload(control))).close()
    assert control.exists()                             # positive control: unpickling the payload does run it
    marker = tmp_path / "pwned"
    _plant_pickles(ck, marker)

    def refuse(*a, **k):
        raise AssertionError("something was unpickled during resume")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    res = train_synthesis(pairs, tmp_path / "b", _cfg(max_steps=4), resume=True)
    assert res.start_step == 2 and res.step == 4
    assert not marker.exists()                          # the crafted pickles were never opened
    wa, wb = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)   # and the resume is still exact


def test_a_pickle_under_an_expected_name_is_refused(tmp_path):
    train_synthesis(_pairs(), tmp_path / "m", _cfg(max_steps=2))
    ck = latest_checkpoint(tmp_path / "m" / "training")
    marker = tmp_path / "pwned"
    (ck / "optimizer.safetensors").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        train_synthesis(_pairs(), tmp_path / "m", _cfg(max_steps=3), resume=True)
    assert not marker.exists()
    (ck / "optimizer.safetensors").unlink()
    with pytest.raises(CheckpointError, match="missing"):
        train_synthesis(_pairs(), tmp_path / "m", _cfg(max_steps=3), resume=True)


def test_an_accelerate_pickle_checkpoint_is_refused_with_a_clear_message(tmp_path):
    from accelerate import Accelerator

    folder = tmp_path / "checkpoint-000002"
    folder.mkdir()
    _plant_pickles(folder, tmp_path / "pwned")
    with pytest.raises(CheckpointError, match="pickle files"):
        load_checkpoint(Accelerator(cpu=True), folder, models={})
    assert not (tmp_path / "pwned").exists()
    (folder / "state.json").write_text(json.dumps({"step": 2}))  # accelerate-era marker without our format
    with pytest.raises(CheckpointError, match="not a cadis-checkpoint"):
        read_checkpoint_state(folder)


def test_a_cancelled_run_saves_one_complete_checkpoint(tmp_path):
    from engine.jobs import JobCancelled, JobContext

    steps = []
    with pytest.raises(JobCancelled):
        train_synthesis(_pairs(), tmp_path / "c", _cfg(max_steps=50, checkpoint_every=100),
                        ctx=JobContext(cancelled=lambda: len(steps) >= 3),
                        on_event=lambda e: steps.append(e["step"]) if e["kind"] == "log" else None)
    train_dir = tmp_path / "c" / "training"
    assert [p.name for p in train_dir.iterdir() if p.name.startswith(("checkpoint", ".checkpoint"))] == [
        "checkpoint-000003"]
    assert read_checkpoint_state(train_dir / "checkpoint-000003")["step"] == 3


def test_the_fp16_loss_scale_survives_a_checkpoint(tmp_path):
    from types import SimpleNamespace

    from engine.training.checkpoint import save_checkpoint

    def accel(scale):
        scaler = torch.amp.GradScaler("cpu", init_scale=scale)
        return SimpleNamespace(scaler=scaler, wait_for_everyone=lambda: None, is_main_process=True, num_processes=1,
                               process_index=0, unwrap_model=lambda m: m)

    model = torch.nn.Linear(2, 2)
    save_checkpoint(accel(1024.0), tmp_path / "ck", step=1, models={"model": model})
    assert json.loads((tmp_path / "ck" / "grad_scaler.json").read_text())["scale"] == 1024.0
    other = accel(65536.0)
    load_checkpoint(other, tmp_path / "ck", models={"model": torch.nn.Linear(2, 2)})
    assert other.scaler.state_dict()["scale"] == 1024.0
