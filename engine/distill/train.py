"""Consistency distillation of a synthesis model into a 1-2 step student (the latent-consistency recipe,
here on whatever space the teacher works in).

Per step, for a batch of training frames x0 and their masks:
  1. pick a point n of the skipped-step schedule t_n = 20(n+1) - 1 (50 points over 1000 steps) and a
     guidance scale w ~ U[w_min, w_max]; noise x0 to x_{t_n};
  2. the teacher (conditional and unconditional in one batched forward, guidance w) takes ONE DDIM step
     from t_n to t_{n-1};
  3. the student at (x_{t_n}, t_n, w) and the EMA target at (x_{t_{n-1}}, t_{n-1}, w), each with the
     boundary condition c_skip x + c_out x0_pred, must agree: pseudo-Huber loss;
  4. the target follows the student by EMA.
Runs on `accelerate`, in one process or N (`accelerate launch --num_processes N`): each process reads only its
share of the frames (`processes.shard`) and draws its batches from a generator seeded with (seed, step,
process), so a resumed run continues exactly as an uninterrupted one; the LR warm-up covers the same optimizer
steps for any N; the main process alone writes the log, the student folder and the checkpoints
(`engine.training.checkpoint`: safetensors + JSON, written on one path after every process has arrived, at
the regular cadence and on cancel alike); a cancel on any process stops all of them at the same step.

MODEL_DIR/student/training/ holds distill_config.json (the run's settings; a resume keeps them),
shards.json (which frames each process trained on), log.jsonl and checkpoint-NNNNNN/ (student, EMA target,
optimizer, LR schedule, RNG states).
"""
from __future__ import annotations

import copy
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import torch

from engine.distill.student import STUDENT_DIR, ConsistencyStudent, save_student, student_dir
from engine.jobs import JobCancelled, JobContext
from engine.training.checkpoint import (CheckpointError, checkpoint_folder, latest_checkpoint, load_checkpoint,
                                        prune_checkpoints, save_checkpoint)
from engine.training.processes import (MainLog, any_process, make_accelerator, make_lr_scheduler,
                                       mean_over_processes, place_lr_schedule, shard,
                                       write_run_files)

TIMESTEP_SCALING = 10.0  # LCM's boundary-condition scaling (as diffusers' LCMScheduler)
SIGMA_DATA = 0.5


@dataclass
class DistillConfig:
    max_steps: int = 1500
    batch_size: int = 8               # per process: a step sees batch_size x processes frames
    learning_rate: float = 1e-4
    warmup_steps: int = 50
    num_ddim_steps: int = 50          # the skipped-step schedule (LCMScheduler's original_inference_steps)
    guidance_min: float = 1.0
    guidance_max: float = 3.0
    default_guidance: float = 2.0
    default_steps: int = 2
    ema_decay: float = 0.95           # EMA of the target network
    huber_c: float = 0.0              # 0: 0.00054 * sqrt(dimensions), as in improved consistency training
    mixed_precision: str = "auto"     # "auto" (bf16 where the device computes it natively), "no", "bf16"
    grad_clip: float = 1.0
    checkpoint_every: int = 100
    keep_checkpoints: int = 2
    log_every: int = 10
    seed: int = 0
    device: str = "auto"

    @classmethod
    def from_dict(cls, data: dict) -> "DistillConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class DistillResult:
    student_dir: Path
    step: int
    start_step: int
    last_loss: float


def boundary_scalings(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(c_skip, c_out) of the consistency parameterisation at integer timesteps t (c_skip(0) = 1, c_out(0) = 0)."""
    s = t.float() * TIMESTEP_SCALING
    c_skip = SIGMA_DATA ** 2 / (s ** 2 + SIGMA_DATA ** 2)
    c_out = s / (s ** 2 + SIGMA_DATA ** 2).sqrt()
    return c_skip, c_out


def x0_and_eps(pred: torch.Tensor, x: torch.Tensor, a: torch.Tensor, prediction_type: str):
    """Model output -> (clean image estimate, noise estimate) at alpha_bar `a` (B,1,1,1)."""
    if prediction_type == "epsilon":
        return (x - (1 - a).sqrt() * pred) / a.sqrt(), pred
    if prediction_type == "sample":
        return pred, (x - a.sqrt() * pred) / (1 - a).sqrt()
    if prediction_type == "v_prediction":
        return a.sqrt() * x - (1 - a).sqrt() * pred, a.sqrt() * pred + (1 - a).sqrt() * x
    raise ValueError(f"unknown prediction type {prediction_type!r}")


HOLDOUT = 4   # val/test frames (the ones the teacher's sample grids came from) are not distilled on
RESUMABLE = ("max_steps", "checkpoint_every", "log_every", "device", "keep_checkpoints")  # what a resume may change
RECIPE = ("consistency distillation (LCM): one DDIM teacher step over a 50-point skipped schedule, pseudo-Huber "
          "loss, EMA target")


def _generator(seed: int, step: int, process: int = 0) -> torch.Generator:
    value = int(seed) * 1_000_003 + int(step) * 7919 + 17 + int(process) * 104_729
    return torch.Generator("cpu").manual_seed(value % (2**63))


def _mixed_precision(cfg: DistillConfig, cpu: bool) -> str:
    if cfg.mixed_precision != "auto":
        return cfg.mixed_precision
    if cpu:
        from engine.pipelines.synthesis import cpu_has_bf16

        return "bf16" if cpu_has_bf16() else "no"
    return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"


def _resolve(run_dir: Path, cfg: DistillConfig) -> tuple[DistillConfig, Optional[Path]]:
    """(the run's settings, the checkpoint to continue from or None). A resumed run keeps its saved settings
    except those in RESUMABLE."""
    checkpoint = latest_checkpoint(run_dir)
    if checkpoint is None:
        if any(run_dir.glob("state-*")):
            raise CheckpointError(f"{run_dir} holds distillation state of an older version (state-NNNNNN), which "
                                  "this version does not continue; move that folder away to start a new run")
        return cfg, None
    saved = run_dir / "distill_config.json"
    if not saved.is_file():
        return cfg, checkpoint
    from engine.files import read_json

    old = DistillConfig.from_dict(read_json(saved, what="saved distillation settings", follow_links=False,
                                            expect=dict))
    for k in RESUMABLE:
        setattr(old, k, getattr(cfg, k))
    return old, checkpoint


@dataclass
class _Run:
    """Everything one distillation run holds, built by `_setup`."""

    cfg: DistillConfig
    accelerator: Any
    model_dir: Path
    dataset: Any                   # this process's share of the training frames (a SynthesisDataset)
    teacher: torch.nn.Module
    student: Any                   # prepared by accelerate (wrapped for several processes)
    target: torch.nn.Module        # EMA of the student: the consistency target, and what is published
    optimizer: Any
    lr_sched: Any
    prediction_type: str
    sched_cfg: dict
    alphas: torch.Tensor
    schedule: torch.Tensor         # the skipped-step timesteps 19, 39, ..., 999
    skip: int
    huber_c: float
    card: dict
    ctx: JobContext

    @property
    def run_dir(self) -> Path:
        return student_dir(self.model_dir) / "training"

    @property
    def main(self) -> bool:
        return self.accelerator.is_main_process


# ---- set-up -------------------------------------------------------------------------------------------------

def _load_data(data, size: tuple[int, int], class_set: str, accelerator, ctx: JobContext):
    """(this process's dataset, card facts over all processes, every process's frame names)."""
    from accelerate.utils import gather_object

    from engine.training.data import SynthesisDataset, collect_pairs, data_fingerprint, split_holdout

    ctx.report(0.0, "reading training frames")
    train_pairs, _held = split_holdout(collect_pairs(data), HOLDOUT)
    dataset = SynthesisDataset(shard(train_pairs, accelerator), size, class_set, ctx=ctx.sub(0.0, 0.02))
    digests = gather_object(dataset.pair_digests())
    shards = gather_object([dataset.names])
    facts = {"training_data_fingerprint": data_fingerprint(digests), "training_frames": len(digests),
             "training_processes": accelerator.num_processes}
    if accelerator.is_main_process:
        from engine.models.trained_on import TRAINED_ON
        from engine.training.data import trained_on_record

        facts[TRAINED_ON] = trained_on_record(data, train_pairs, size)
    return dataset, facts, shards


def _setup(model_dir: Path, data, cfg: DistillConfig, ctx: JobContext) -> _Run:
    from diffusers import DDPMScheduler

    from engine.device import check_device, pick_device
    from engine.distill.student import teacher_sha256
    from engine.models.model_dir import load_synthesis_model

    cpu = pick_device(check_device(cfg.device)).type == "cpu"
    accelerator = make_accelerator(cfg.device, _mixed_precision(cfg, cpu))
    if not accelerator.is_main_process:   # one progress stream: the main process's
        ctx = JobContext(cancelled=ctx.is_cancelled)
    device = accelerator.device
    ctx.report(0.0, "loading the teacher")
    teacher, sched_cfg, _card = load_synthesis_model(model_dir, device=device)
    teacher.requires_grad_(False).eval()
    h, w = (int(v) for v in teacher.config.sample_size)
    dataset, facts, shards = _load_data(data, (h, w), str(teacher.config.class_set), accelerator, ctx)

    torch.manual_seed(cfg.seed)
    student = ConsistencyStudent.from_teacher(
        teacher, guidance_min=cfg.guidance_min, guidance_max=cfg.guidance_max,
        default_guidance=cfg.default_guidance, default_steps=cfg.default_steps,
        original_inference_steps=cfg.num_ddim_steps).to(device)
    target = copy.deepcopy(student).requires_grad_(False).eval()
    optimizer = torch.optim.AdamW(student.parameters(), lr=cfg.learning_rate, weight_decay=0.0)
    lr_sched = make_lr_scheduler(optimizer, "constant", cfg.warmup_steps, cfg.max_steps, accelerator.num_processes)
    student, optimizer, lr_sched = accelerator.prepare(student, optimizer, lr_sched)

    noise_sched = DDPMScheduler(**{k: v for k, v in sched_cfg.items()
                                   if k in ("num_train_timesteps", "beta_start", "beta_end", "beta_schedule")})
    skip = int(noise_sched.config.num_train_timesteps) // cfg.num_ddim_steps
    schedule = torch.arange(1, cfg.num_ddim_steps + 1, device=device) * skip - 1
    card = dict(facts, teacher_weights_sha256=teacher_sha256(model_dir), distill_config=asdict(cfg), recipe=RECIPE)
    run = _Run(cfg, accelerator, model_dir, dataset, teacher, student, target, optimizer, lr_sched,
               sched_cfg.get("prediction_type", "epsilon"), sched_cfg, noise_sched.alphas_cumprod.to(device),
               schedule, skip, cfg.huber_c or 0.00054 * math.sqrt(3 * h * w), card, ctx)
    write_run_files(accelerator, run.run_dir, "distill_config.json", asdict(cfg), shards)
    return run


def _resume(run: _Run, checkpoint: Optional[Path]) -> int:
    """Restore student, target, optimizer, LR schedule and RNG from `checkpoint`; the step to continue from."""
    if checkpoint is None:
        return 0
    state = load_checkpoint(run.accelerator, checkpoint, models={"student": run.student, "target": run.target},
                            optimizer=run.optimizer, lr_scheduler=run.lr_sched)
    step = int(state["step"])
    if int(state.get("num_processes", 1)) != run.accelerator.num_processes:   # same optimizer step, new count
        place_lr_schedule(run.lr_sched, run.optimizer, step, run.accelerator.num_processes)
    return step


# ---- one step -----------------------------------------------------------------------------------------------

def _consistency_loss(run: _Run, g: torch.Generator) -> torch.Tensor:
    """Pseudo-Huber distance between the student's consistency output at t_n and the target's at t_{n-1},
    for one batch drawn with generator `g`."""
    from engine.models.segmap import one_hot

    cfg, dev, b = run.cfg, run.accelerator.device, run.cfg.batch_size
    idx = torch.randint(0, len(run.dataset), (b,), generator=g)
    x0, labels = run.dataset.batch(idx, torch.rand(b, generator=g) < 0.5)
    noise = torch.randn(x0.shape, generator=g)
    n = torch.randint(0, cfg.num_ddim_steps, (b,), generator=g)
    wg = cfg.guidance_min + (cfg.guidance_max - cfg.guidance_min) * torch.rand(b, generator=g)
    x0, labels, noise, n, wg = (v.to(dev) for v in (x0, labels, noise, n, wg))
    segmap = one_hot(labels, run.dataset.class_set.num_classes)
    t_start = run.schedule[n]
    t_end = (t_start - run.skip).clamp(min=0)
    a_s = run.alphas[t_start][:, None, None, None]
    a_e = torch.where(t_start - run.skip >= 0, run.alphas[t_end], torch.ones_like(run.alphas[t_end]))
    x_t = a_s.sqrt() * x0 + (1 - a_s).sqrt() * noise
    cs, co = (v[:, None, None, None] for v in boundary_scalings(t_start))
    with run.accelerator.autocast():
        pred = run.student(x_t, t_start, guidance=wg, segmap=segmap)
    x0_s, _ = x0_and_eps(pred.float(), x_t, a_s, run.prediction_type)
    online = cs * x_t + co * x0_s
    aim = _target_output(run, x_t, t_start, t_end, a_s, a_e[:, None, None, None], wg, segmap)
    diff = (online - aim).flatten(1)
    return ((diff.pow(2).sum(1) + run.huber_c ** 2).sqrt() - run.huber_c).mean()


@torch.no_grad()
def _target_output(run: _Run, x_t, t_start, t_end, a_s, a_e, wg, segmap) -> torch.Tensor:
    """The teacher's guided DDIM step t_n -> t_{n-1} (conditional and unconditional in one batched forward),
    then the EMA target's consistency output there: what the student must match."""
    acc, kind, b = run.accelerator, run.prediction_type, x_t.shape[0]
    with acc.autocast():
        both = run.teacher(torch.cat([x_t, x_t]), torch.cat([t_start, t_start]),
                           segmap=torch.cat([torch.zeros_like(segmap), segmap])).float()
    x0_u, eps_u = x0_and_eps(both[:b], x_t, a_s, kind)
    x0_c, eps_c = x0_and_eps(both[b:], x_t, a_s, kind)
    gw = wg[:, None, None, None]
    x0_g = (x0_u + gw * (x0_c - x0_u)).clamp(-1, 1)
    eps_g = eps_u + gw * (eps_c - eps_u)
    x_prev = a_e.sqrt() * x0_g + (1 - a_e).sqrt() * eps_g
    with acc.autocast():
        tp = run.target(x_prev, t_end, guidance=wg, segmap=segmap).float()
    x0_t, _ = x0_and_eps(tp, x_prev, a_e, kind)
    ce_skip, ce_out = (v[:, None, None, None] for v in boundary_scalings(t_end))
    return ce_skip * x_prev + ce_out * x0_t


def _optimizer_step(run: _Run, step: int) -> torch.Tensor:
    """One optimizer step of the student, then the target follows it by EMA; the step's loss."""
    acc = run.accelerator
    loss = _consistency_loss(run, _generator(run.cfg.seed, step, acc.process_index))
    acc.backward(loss)
    if run.cfg.grad_clip:
        acc.clip_grad_norm_(run.student.parameters(), run.cfg.grad_clip)
    run.optimizer.step()
    run.lr_sched.step()
    run.optimizer.zero_grad(set_to_none=True)
    with torch.no_grad():
        for pt, ps in zip(run.target.parameters(), acc.unwrap_model(run.student).parameters()):
            pt.lerp_(ps.detach(), 1.0 - run.cfg.ema_decay)
    return loss.detach()


# ---- outputs and the loop -----------------------------------------------------------------------------------

def _save(run: _Run, step: int, loss: float) -> None:
    """Every process calls this at the same step: one checkpoint, the student folder, old checkpoints pruned."""
    save_checkpoint(run.accelerator, checkpoint_folder(run.run_dir, step), step=step,
                    models={"student": run.student, "target": run.target}, optimizer=run.optimizer,
                    lr_scheduler=run.lr_sched, extra={"loss": loss})
    if run.main:  # the EMA target is the smoother network; LCM ships it as the student
        save_student(run.target, run.model_dir, run.sched_cfg, dict(run.card, steps=step))
        prune_checkpoints(run.accelerator, run.run_dir, run.cfg.keep_checkpoints)
    run.accelerator.wait_for_everyone()


def _loop(run: _Run, start: int) -> tuple[int, float]:
    """Steps from `start` to max_steps with logs and checkpoints; (last step, last logged loss)."""
    cfg, acc, step, loss_v = run.cfg, run.accelerator, start, float("nan")
    log, t0 = MainLog(run.run_dir / "log.jsonl", acc), time.perf_counter()
    try:
        run.student.train()
        while step < cfg.max_steps:
            if any_process(acc, run.ctx.is_cancelled()):
                if step > start:
                    _save(run, step, loss_v)
                raise JobCancelled("distillation cancelled; run it again to continue")
            loss = _optimizer_step(run, step)
            step += 1
            last = step == cfg.max_steps
            if step % cfg.log_every == 0 or last:
                loss_v = mean_over_processes(acc, loss)   # every process reaches the same log steps
                rate = (step - start) / max(1e-9, time.perf_counter() - t0)
                lr = float(run.lr_sched.get_last_lr()[0])
                log.write({"step": step, "loss": round(loss_v, 5), "lr": lr, "steps_per_s": round(rate, 3)})
                run.ctx.report(0.02 + 0.98 * step / cfg.max_steps,
                               f"step {step}/{cfg.max_steps} loss {loss_v:.4f} {rate:.2f} steps/s")
            if step % cfg.checkpoint_every == 0 or last:
                _save(run, step, loss_v)
    finally:
        log.close()
    return step, loss_v


def distill(model_dir: Union[str, os.PathLike], data: Union[str, os.PathLike, Sequence],
            config: Optional[DistillConfig] = None, ctx: Optional[JobContext] = None) -> DistillResult:
    """Distil the model folder `model_dir` on training frames `data` (dataset, project, pair folder or pairs)
    into MODEL_DIR/student/. Continues a run found in MODEL_DIR/student/training/ (same settings, new length).
    Cancelling saves a checkpoint first, then raises JobCancelled."""
    from engine.training.folder_lock import hold_model_folder

    model_dir = Path(model_dir)
    with hold_model_folder(student_dir(model_dir), "cadis distill"):  # one run writes a student; leftovers cleared
        partial = model_dir / (STUDENT_DIR + ".partial")   # the half-written student of a killed save
        if partial.is_dir() and not partial.is_symlink() and int(os.environ.get("RANK", "0")) == 0:
            shutil.rmtree(partial, ignore_errors=True)
        cfg, checkpoint = _resolve(student_dir(model_dir) / "training", config or DistillConfig())
        run = _setup(model_dir, data, cfg, ctx or JobContext())
        start = _resume(run, checkpoint)
        step, loss_v = _loop(run, start)
        if step == start and not (student_dir(model_dir) / "config.json").exists():
            _save(run, step, loss_v)   # nothing to train (max_steps reached): still leave a usable student
    run.ctx.report(1.0, f"done: step {step}")
    return DistillResult(student_dir=student_dir(model_dir), step=step, start_step=start, last_loss=loss_v)
