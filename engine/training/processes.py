"""What every training loop needs to behave the same in 1 or N processes (`accelerate launch --num_processes N`).

- `make_accelerator`: one meaning of `device` ("auto" = CUDA when present, the process's own GPU under
  `accelerate launch`; "cpu"; "cuda" = error without a GPU), mixed precision, gradient accumulation.
- `make_lr_scheduler`: a diffusers LR schedule sized for the run. accelerate steps a prepared scheduler once
  per process for every optimizer step (it assumes the global batch grew N times), so warmup and decay are
  given in optimizer steps and multiplied by N here: the LR at optimizer step k is the same for any N.
- `place_lr_schedule`: put that schedule at an optimizer step, for a checkpoint saved with another N.
- `shard`: this process's share of a list (every k-th item), so each rank reads only its own data.
- `any_process`: a flag (cancel) that is true on any process becomes true on all, so they stop together.
- `MainLog`: a JSON-lines log written by the main process only.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence, TypeVar

import torch

T = TypeVar("T")

LR_SCHEDULES = {"constant": "constant_with_warmup", "cosine": "cosine", "linear": "linear"}


def make_accelerator(device: str = "auto", mixed_precision: str = "no", gradient_accumulation_steps: int = 1):
    from accelerate import Accelerator

    from engine.device import check_device, pick_device

    from engine.training.folder_lock import die_with_launcher

    die_with_launcher()  # a worker of `accelerate launch` ends with its launcher (kill -9 included)
    pref = check_device(device)  # a clear error for "cuda" without a GPU or an unknown name
    on_cpu = pick_device(pref).type == "cpu"  # also "auto" without a GPU: several processes then talk over gloo
    if pref.startswith("cuda:"):
        torch.cuda.set_device(int(pref[5:]))  # one process on a chosen GPU
    if gradient_accumulation_steps < 1:
        raise ValueError("gradient_accumulation_steps must be at least 1")
    _release_other_state(on_cpu, mixed_precision)
    return Accelerator(mixed_precision=mixed_precision, cpu=on_cpu,
                       gradient_accumulation_steps=int(gradient_accumulation_steps))


def _release_other_state(cpu: bool, mixed_precision: str) -> None:
    """accelerate keeps one device/precision per process and refuses another ("restart your runtime"), or with
    cpu=False after a CPU run silently stays on the CPU. A process that is not one of a launched group (the
    app, gpu-check) trains one run after another, each with its own settings: drop a state that disagrees."""
    from accelerate.state import AcceleratorState

    if int(os.environ.get("WORLD_SIZE", "1")) > 1 or not AcceleratorState._shared_state:
        return
    state = AcceleratorState()
    if cpu != (state.device.type == "cpu") or state._mixed_precision != mixed_precision:
        reset_accelerate_state()


def reset_accelerate_state() -> None:
    """Forget accelerate's per-process state, so that the next Accelerator may choose another device or
    precision. Never inside a launched group of processes (their process group lives in that state)."""
    from accelerate.state import AcceleratorState, GradientState, PartialState

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    PartialState._reset_state()


def make_lr_scheduler(optimizer, schedule: str, warmup_steps: int, total_steps: int, num_processes: int):
    """A diffusers LR scheduler ("constant" after warmup, "cosine" or "linear" decay to 0 at `total_steps`),
    in optimizer steps, for a scheduler that `accelerator.prepare` will step `num_processes` times a step."""
    from diffusers.optimization import get_scheduler

    if schedule not in LR_SCHEDULES:
        raise ValueError(f"lr schedule {schedule!r}: use one of {', '.join(LR_SCHEDULES)}")
    n = max(1, int(num_processes))
    return get_scheduler(LR_SCHEDULES[schedule], optimizer, num_warmup_steps=int(warmup_steps) * n,
                         num_training_steps=max(1, int(total_steps)) * n)


def place_lr_schedule(lr_sched, optimizer, step: int, num_processes: int) -> None:
    """Put a (prepared) schedule from `make_lr_scheduler` at optimizer step `step` for `num_processes`
    processes; for resuming a checkpoint that was saved with another number of processes."""
    inner = getattr(lr_sched, "scheduler", lr_sched)
    inner.last_epoch = int(step) * max(1, int(num_processes))
    lrs = [base * fn(inner.last_epoch) for base, fn in zip(inner.base_lrs, inner.lr_lambdas)]
    for group, lr in zip(optimizer.param_groups, lrs):
        group["lr"] = lr
    inner._last_lr = lrs


def write_run_files(accelerator, folder: Path, config_name: str, config: dict, shards) -> None:
    """On the main process: FOLDER/CONFIG_NAME (the run's settings) and FOLDER/shards.json (which items each
    process trains on), written atomically."""
    if not accelerator.is_main_process:
        return
    from engine.atomic import atomic_write_text

    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / config_name, json.dumps(config, indent=2))
    atomic_write_text(folder / "shards.json",
                      json.dumps({"num_processes": accelerator.num_processes, "shards": shards}, indent=1))


def shard(items: Sequence[T], accelerator) -> list[T]:
    """Items index, index+N, index+2N... of this process (all of them with one process)."""
    n, i = accelerator.num_processes, accelerator.process_index
    if len(items) < n:
        raise ValueError(f"{len(items)} training item(s) cannot be shared among {n} processes; "
                         "use fewer processes or more data")
    return list(items[i::n])


def any_process(accelerator, flag: bool) -> bool:
    """True on every process when `flag` is true on at least one (a collective: all processes must call it)."""
    if accelerator.num_processes == 1:
        return bool(flag)
    t = torch.tensor([1.0 if flag else 0.0], device=accelerator.device)
    return bool(accelerator.reduce(t, reduction="sum").item() > 0)


def mean_over_processes(accelerator, value: torch.Tensor) -> float:
    """The mean of a scalar over processes (a collective)."""
    if accelerator.num_processes == 1:
        return float(value)
    return float(accelerator.reduce(value.detach().float().reshape(1), reduction="mean").item())


class MainLog:
    """Appends JSON lines to `path` on the main process; the other processes write nothing."""

    def __init__(self, path: Path, accelerator):
        self._fh = None
        if accelerator.is_main_process:  # a regular file in the run folder, never written through a link or FIFO
            from engine.files import open_for_write_in

            path = Path(path)
            fd = open_for_write_in(path.parent, path.name, truncate=False)
            os.lseek(fd, 0, os.SEEK_END)
            self._fh = os.fdopen(fd, "a", encoding="utf-8")

    def write(self, record: dict) -> None:
        if self._fh is not None:
            self._fh.write(json.dumps(record) + "\n")
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
