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
    assert pick_device("cpu:0").type == "cpu" and pick_device(torch.device("cpu", 0)).type == "cpu"  # accelerate's
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


def test_runs_with_other_precisions_follow_each_other_in_one_process(tmp_path):
    """accelerate refuses a second Accelerator with another mixed precision ("restart your runtime"); the app
    and gpu-check train one run after another in one process."""
    for i, precision in enumerate(("no", "bf16", "no")):
        res = train_synthesis(training_pairs(), tmp_path / f"m{i}", train_config(max_steps=1, mixed_precision=precision))
        assert res.step == 1
    from accelerate.state import AcceleratorState

    assert AcceleratorState().mixed_precision == "no" and AcceleratorState().device.type == "cpu"


def test_trainings_in_one_process_keep_every_reference_to_none_true_and_false(tmp_path):
    """A GUI session died of "none_dealloc": on Python 3.11 None/True/False are counted objects, and a
    C extension that drops one reference per call kills the process after enough calls. Consecutive
    trainings in one process (with accelerate's state dropped between them, as the app does when the
    device or precision changes) must not lose any: a loss per step or per run would show here."""
    import gc
    import sys

    from engine.training.processes import reset_accelerate_state

    def counts():
        gc.collect()
        return [sys.getrefcount(x) for x in (None, True, False)]

    for i in range(4):
        if i == 1:                   # after a first run has done its imports and filled its caches
            before = counts()
        train_synthesis(training_pairs(), tmp_path / f"m{i}", train_config(max_steps=3, checkpoint_every=3))
        reset_accelerate_state()
    lost = [b - a for b, a in zip(before, counts())]
    assert max(lost) < 5, f"references lost over 3 runs x 3 steps (None, True, False): {lost}"
