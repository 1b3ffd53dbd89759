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
Runs on `accelerate`; resumable from safetensors + JSON state (engine.distill.state); progress and cancel
through a JobContext; every random draw of step N comes from a generator seeded with (seed, N).
"""
from __future__ import annotations

import copy
import json
import math
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Optional, Sequence, Union

import torch

from engine.atomic import atomic_write_text
from engine.distill.state import latest_state, load_state, save_state
from engine.distill.student import ConsistencyStudent, save_student, student_dir
from engine.jobs import JobCancelled, JobContext

TIMESTEP_SCALING = 10.0  # LCM's boundary-condition scaling (as diffusers' LCMScheduler)
SIGMA_DATA = 0.5


@dataclass
class DistillConfig:
    max_steps: int = 1500
    batch_size: int = 8
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
    keep_states: int = 2
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


def _generator(seed: int, step: int) -> torch.Generator:
    return torch.Generator("cpu").manual_seed((int(seed) * 1_000_003 + int(step) * 7919 + 17) % (2**63))


def _mixed_precision(cfg: DistillConfig, cpu: bool) -> str:
    if cfg.mixed_precision != "auto":
        return cfg.mixed_precision
    if cpu:
        from engine.pipelines.synthesis import cpu_has_bf16

        return "bf16" if cpu_has_bf16() else "no"
    return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"


def _resolve(run_dir: Path, cfg: DistillConfig) -> tuple[DistillConfig, Optional[Path]]:
    saved = run_dir / "distill_config.json"
    if saved.is_file():
        old = DistillConfig.from_dict(json.loads(saved.read_text(encoding="utf-8")))
        for k in ("max_steps", "checkpoint_every", "log_every", "device", "keep_states"):
            setattr(old, k, getattr(cfg, k))
        return old, latest_state(run_dir)
    return cfg, None


def distill(model_dir: Union[str, os.PathLike], data: Union[str, os.PathLike, Sequence],
            config: Optional[DistillConfig] = None, ctx: Optional[JobContext] = None) -> DistillResult:
    """Distil the model folder `model_dir` on training frames `data` (dataset, project, pair folder or pairs)
    into MODEL_DIR/student/. Continues a run found in MODEL_DIR/student/training/ (same settings, new length).
    Cancelling saves the state first, then raises JobCancelled."""
    from diffusers import DDPMScheduler

    from engine.distill.student import teacher_sha256
    from engine.models.model_dir import load_synthesis_model
    from engine.training.processes import make_accelerator
    from engine.training.data import SynthesisDataset, collect_pairs, split_holdout

    ctx = ctx or JobContext()
    model_dir = Path(model_dir)
    run_dir = student_dir(model_dir) / "training"
    cfg, state = _resolve(run_dir, config or DistillConfig())
    cpu = cfg.device == "cpu" or (cfg.device == "auto" and not torch.cuda.is_available())
    accelerator = make_accelerator(cfg.device, _mixed_precision(cfg, cpu))
    device = accelerator.device

    ctx.report(0.0, "loading the teacher")
    teacher, sched_cfg, _card = load_synthesis_model(model_dir, device=device)
    teacher.requires_grad_(False).eval()
    prediction_type = sched_cfg.get("prediction_type", "epsilon")
    ctx.report(0.0, "reading training frames")
    h, w = (int(v) for v in teacher.config.sample_size)
    train_pairs, _held = split_holdout(collect_pairs(data), 4)  # the frames the teacher trained on (val/test held out)
    dataset = SynthesisDataset(train_pairs, (h, w), str(teacher.config.class_set), ctx=ctx.sub(0.0, 0.02))
    num_classes = dataset.class_set.num_classes

    torch.manual_seed(cfg.seed)
    student = ConsistencyStudent.from_teacher(
        teacher, guidance_min=cfg.guidance_min, guidance_max=cfg.guidance_max,
        default_guidance=cfg.default_guidance, default_steps=cfg.default_steps,
        original_inference_steps=cfg.num_ddim_steps).to(device)
    target = copy.deepcopy(student).requires_grad_(False).eval()
    optimizer = torch.optim.AdamW(student.parameters(), lr=cfg.learning_rate, weight_decay=0.0)
    start = 0
    if state is not None:
        start = int(load_state(state, student, target, optimizer, device)["step"])
    lr_sched = torch.optim.lr_scheduler.LambdaLR(  # warm-up counted from step 0 of the run, also when resumed
        optimizer, lambda s: min(1.0, (s + start + 1) / max(1, cfg.warmup_steps)))
    student, optimizer = accelerator.prepare(student, optimizer)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "distill_config.json", json.dumps(asdict(cfg), indent=2))

    noise_sched = DDPMScheduler(**{k: v for k, v in sched_cfg.items()
                                   if k in ("num_train_timesteps", "beta_start", "beta_end", "beta_schedule")})
    alphas = noise_sched.alphas_cumprod.to(device)
    n_train = int(noise_sched.config.num_train_timesteps)
    skip = n_train // cfg.num_ddim_steps
    schedule = torch.arange(1, cfg.num_ddim_steps + 1, device=device) * skip - 1   # 19, 39, ..., 999
    huber_c = cfg.huber_c or 0.00054 * math.sqrt(3 * h * w)
    teacher_sha = teacher_sha256(model_dir)
    card = {"teacher_weights_sha256": teacher_sha, "training_data_fingerprint": dataset.fingerprint(),
            "training_frames": len(dataset), "distill_config": asdict(cfg), "recipe": "consistency distillation "
            "(LCM): one DDIM teacher step over a 50-point skipped schedule, pseudo-Huber loss, EMA target"}

    def publish(step: int) -> None:
        unwrapped = accelerator.unwrap_model(student)
        save_state(run_dir, step, unwrapped, target, optimizer, {"loss": loss_v}, keep=cfg.keep_states)
        # the EMA target is the smoother network; LCM ships it as the student
        save_student(target, model_dir, sched_cfg, dict(card, steps=step))

    log = open(run_dir / "log.jsonl", "a", encoding="utf-8")
    step, loss_v, t0 = start, float("nan"), time.perf_counter()
    try:
        student.train()
        while step < cfg.max_steps:
            if ctx.is_cancelled():
                if step > start:
                    publish(step)
                raise JobCancelled("distillation cancelled; run it again to continue")
            g = _generator(cfg.seed, step)
            b = cfg.batch_size
            idx = torch.randint(0, len(dataset), (b,), generator=g)
            x0, labels = dataset.batch(idx, torch.rand(b, generator=g) < 0.5)
            noise = torch.randn(x0.shape, generator=g)
            n = torch.randint(0, cfg.num_ddim_steps, (b,), generator=g)
            wg = cfg.guidance_min + (cfg.guidance_max - cfg.guidance_min) * torch.rand(b, generator=g)
            x0, labels, noise, n, wg = (v.to(device) for v in (x0, labels, noise, n, wg))
            from engine.models.segmap import one_hot

            segmap = one_hot(labels, num_classes)
            t_start = schedule[n]
            t_end = (t_start - skip).clamp(min=0)
            a_s = alphas[t_start][:, None, None, None]
            a_e = torch.where(t_start - skip >= 0, alphas[t_end], torch.ones_like(alphas[t_end]))[:, None, None, None]
            x_t = a_s.sqrt() * x0 + (1 - a_s).sqrt() * noise
            cs, co = (v[:, None, None, None] for v in boundary_scalings(t_start))
            ce_skip, ce_out = (v[:, None, None, None] for v in boundary_scalings(t_end))
            with accelerator.autocast():
                pred = student(x_t, t_start, guidance=wg, segmap=segmap)
            x0_s, _ = x0_and_eps(pred.float(), x_t, a_s, prediction_type)
            online = cs * x_t + co * x0_s
            with torch.no_grad():
                with accelerator.autocast():
                    both = teacher(torch.cat([x_t, x_t]), torch.cat([t_start, t_start]),
                                   segmap=torch.cat([torch.zeros_like(segmap), segmap])).float()
                x0_u, eps_u = x0_and_eps(both[:b], x_t, a_s, prediction_type)
                x0_c, eps_c = x0_and_eps(both[b:], x_t, a_s, prediction_type)
                gw = wg[:, None, None, None]
                x0_g = (x0_u + gw * (x0_c - x0_u)).clamp(-1, 1)
                eps_g = eps_u + gw * (eps_c - eps_u)
                x_prev = a_e.sqrt() * x0_g + (1 - a_e).sqrt() * eps_g          # one DDIM step t_n -> t_{n-1}
                with accelerator.autocast():
                    tp = target(x_prev, t_end, guidance=wg, segmap=segmap).float()
                x0_t, _ = x0_and_eps(tp, x_prev, a_e, prediction_type)
                aim = ce_skip * x_prev + ce_out * x0_t
            diff = (online - aim).flatten(1)
            loss = ((diff.pow(2).sum(1) + huber_c ** 2).sqrt() - huber_c).mean()
            accelerator.backward(loss)
            if cfg.grad_clip:
                accelerator.clip_grad_norm_(student.parameters(), cfg.grad_clip)
            optimizer.step()
            lr_sched.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            with torch.no_grad():
                for pt, ps in zip(target.parameters(), accelerator.unwrap_model(student).parameters()):
                    pt.lerp_(ps.detach(), 1.0 - cfg.ema_decay)
            loss_v = float(loss.detach())
            if step % cfg.log_every == 0 or step == cfg.max_steps:
                rate = (step - start) / max(1e-9, time.perf_counter() - t0)
                log.write(json.dumps({"step": step, "loss": round(loss_v, 5), "steps_per_s": round(rate, 3)}) + "\n")
                log.flush()
                ctx.report(0.02 + 0.98 * step / cfg.max_steps,
                           f"step {step}/{cfg.max_steps} loss {loss_v:.4f} {rate:.2f} steps/s")
            if accelerator.is_main_process and (step % cfg.checkpoint_every == 0 or step == cfg.max_steps):
                publish(step)
    finally:
        log.close()
    if step == start and not (student_dir(model_dir) / "config.json").exists():
        publish(step)
    ctx.report(1.0, f"done: step {step}")
    return DistillResult(student_dir=student_dir(model_dir), step=step, start_step=start, last_loss=loss_v)
