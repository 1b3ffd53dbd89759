"""Training behaves the same in 1 or N processes: LR schedule length, shards, gradient accumulation, --device."""
import json
from types import SimpleNamespace

import pytest
import torch

from engine.training import train_synthesis
from engine.training.checkpoint import latest_checkpoint, read_checkpoint_state
from engine.training.processes import make_lr_scheduler, shard
from tests.synthesis_helpers import train_config, training_pairs

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _lrs(schedule, n, warmup=3, total=10):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = make_lr_scheduler(opt, schedule, warmup, total, n)
    out = []
    for _ in range(total):
        opt.step()
        for _ in range(n):           # what accelerate's prepared scheduler does per optimizer step
            sched.step()
        out.append(opt.param_groups[0]["lr"])
    return out


@pytest.mark.parametrize("schedule", ["constant", "cosine", "linear"])
def test_lr_schedule_covers_the_run_for_any_number_of_processes(schedule):
    one = _lrs(schedule, 1)
    for n in (2, 3, 8):
        assert _lrs(schedule, n) == pytest.approx(one)
    assert one[2] == pytest.approx(1.0)                  # warmup over after 3 optimizer steps
    if schedule != "constant":
        assert one[-1] == pytest.approx(0.0, abs=1e-9)   # decayed to 0 at the last step, not at a 1/N of the run
        assert one[5] > 0.3


def test_shards_are_disjoint_and_cover_everything():
    items = list(range(11))
    parts = [shard(items, SimpleNamespace(num_processes=3, process_index=i)) for i in range(3)]
    assert sorted(sum(parts, [])) == items and sum(map(len, parts)) == len(items)
    with pytest.raises(ValueError, match="cannot be shared"):
        shard([1], SimpleNamespace(num_processes=2, process_index=0))


def test_gradient_accumulation_counts_optimizer_steps(tmp_path):
    res = train_synthesis(training_pairs(), tmp_path / "m",
                          train_config(max_steps=3, gradient_accumulation_steps=2, checkpoint_every=3,
                                       lr_schedule="linear", warmup_steps=1))
    assert res.step == 3
    ck = latest_checkpoint(tmp_path / "m" / "training")
    assert read_checkpoint_state(ck)["step"] == 3
    opt = json.loads((ck / "optimizer.json").read_text())
    from safetensors.torch import load_file

    steps = load_file(str(ck / "optimizer.safetensors"))
    assert {float(v) for k, v in steps.items() if k.endswith(".step")} == {3.0}   # 3 optimizer steps, 6 micro
    assert json.loads((ck / "ema.json").read_text())["optimization_step"] == 3
    assert opt["param_groups"][0]["lr"] == pytest.approx(0.0)                      # linear decay reached 0
    log = [json.loads(x) for x in (tmp_path / "m" / "training" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3] and log[0]["lr"] > log[1]["lr"] > log[2]["lr"] == 0.0


def test_device_auto_has_one_meaning(monkeypatch):
    from engine.device import check_device, pick_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto").type == "cpu" and pick_device("CPU").type == "cpu"
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        pick_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        check_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert pick_device("auto") == torch.device("cuda", 1)        # each launched process its own GPU
    monkeypatch.setenv("ACCELERATE_USE_CPU", "True")
    assert pick_device("auto").type == "cpu"                     # accelerate launch --cpu
    assert pick_device("cuda") == torch.device("cuda", 1)
