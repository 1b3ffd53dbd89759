"""Train the mask-conditioned upsampler (`MaskUpsampler2DModel`) on a user's frames at their own resolution.

Each training example is a random crop of a real frame at a random output scale (between `min_scale` and 1
of the frame's size): the target is the real crop, the input is the same frame squeezed to the synthesis
model's low resolution (area) and brought back up (bicubic), lightly blurred and noised so that it looks
like a diffusion sample, plus the one-hot mask at the output scale. L1 loss, AdamW, a cosine LR schedule
over the whole run. Runs on `accelerate` (CPU, one GPU, several with `accelerate launch --num_processes N`,
with the helpers of `engine.training.processes`): each process crops only its share of the frames, draws
step N's batch from a generator seeded with (seed, N, process), and the schedule covers the run for any N;
`batch_size` is per process.

Output folder `out_dir`: the model folder (`save_pretrained`, safetensors) with `training_state.json` (step,
loss, settings), refreshed every `save_every` steps and at the end, and `training/` with `log.jsonl`
(written by the main process) and `checkpoint-NNNNNN/` (weights, optimizer, LR schedule, RNG states as
safetensors + JSON, `engine.training.checkpoint`: nothing is unpickled). `resume=True` continues from the
newest checkpoint exactly where the run stopped; a cancel saves one first (on the same path as the regular
saves), and a run cut by `max_minutes` stops on every process at the same step.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

import cv2
import numpy as np
import torch

from engine.atomic import atomic_write_text
from engine.jobs import JobCancelled, JobContext
from engine.taxonomy import get_class_set
from engine.training.folder_lock import hold_model_folder
from engine.training.checkpoint import (CheckpointError, checkpoint_folder, latest_checkpoint, load_checkpoint,
                                        prune_checkpoints, save_checkpoint)
from engine.training.processes import (MainLog, any_process, make_accelerator, make_lr_scheduler,
                                       mean_over_processes, place_lr_schedule, shard)

STATE_NAME = "training_state.json"
TRAINING_DIR = "training"


@dataclass
class UpsamplerTrainConfig:
    low_res: tuple[int, int] = (72, 128)          # (H, W) of the synthesis model the upsampler follows
    class_set: str = "1"
    block_out_channels: tuple[int, ...] = (16, 32, 48, 64)
    crop: int = 128
    batch_size: int = 8                          # per process
    min_scale: float = 0.5
    max_steps: int = 2000
    max_minutes: float = 0.0                     # stop (and save) after this long; 0 = no limit
    learning_rate: float = 1e-3
    warmup_steps: int = 50
    save_every: int = 200                        # model folder and checkpoint every N steps (and at the end)
    keep_checkpoints: int = 2
    log_every: int = 10
    seed: int = 0
    device: str = "auto"


def _degrade(frame: np.ndarray, low_res: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """What the upsampler sees for `frame`: area-down to `low_res`, light blur/noise, bicubic back up."""
    h, w = frame.shape[:2]
    small = cv2.resize(frame, (low_res[1], low_res[0]), interpolation=cv2.INTER_AREA).astype(np.float32)
    if rng.random() < 0.5:
        small = cv2.GaussianBlur(small, (3, 3), float(rng.uniform(0.3, 0.8)))
    small += rng.normal(0, rng.uniform(0, 4), small.shape).astype(np.float32)
    return cv2.resize(np.clip(small, 0, 255), (w, h), interpolation=cv2.INTER_CUBIC)


class CropSampler:
    """Random (input, mask, target) crops from frames at a few output scales, prepared once in memory."""

    def __init__(self, pairs: Sequence[tuple[np.ndarray, np.ndarray]], cfg: UpsamplerTrainConfig, scales=None):
        self.cfg = cfg
        self.cs = get_class_set(cfg.class_set)
        rng = np.random.default_rng(cfg.seed)
        scales = scales or sorted({cfg.min_scale, (cfg.min_scale + 1) / 2, 1.0})
        self.items = []
        for image, label in pairs:
            h, w = label.shape
            for s in scales:
                sh, sw = max(cfg.crop, round(h * s)), max(cfg.crop, round(w * s))
                img = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA) if (sh, sw) != (h, w) else image
                lab = cv2.resize(label, (sw, sh), interpolation=cv2.INTER_NEAREST) if (sh, sw) != (h, w) else label
                self.items.append((img, self.cs.lut[lab], _degrade(img, cfg.low_res, rng).astype(np.uint8)))

    def batch(self, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(degraded input, one-hot mask, real target) crops of one batch, drawn with `rng`."""
        from engine.models.segmap import one_hot

        c = self.cfg.crop
        xs, ms, ys = [], [], []
        for _ in range(self.cfg.batch_size):
            img, lab, low = self.items[int(rng.integers(len(self.items)))]
            y0 = int(rng.integers(img.shape[0] - c + 1))
            x0 = int(rng.integers(img.shape[1] - c + 1))
            sl = (slice(y0, y0 + c), slice(x0, x0 + c))
            flip = rng.random() < 0.5
            parts = [img[sl], lab[sl], low[sl]]
            if flip:
                parts = [p[:, ::-1] for p in parts]
            ys.append(np.ascontiguousarray(parts[0]))
            ms.append(np.ascontiguousarray(parts[1]))
            xs.append(np.ascontiguousarray(parts[2]))

        def rgb(a):
            return torch.from_numpy(np.stack(a)).permute(0, 3, 1, 2).float() / 127.5 - 1

        return rgb(xs), one_hot(torch.from_numpy(np.stack(ms)), self.cs.num_classes), rgb(ys)


@dataclass
class UpsamplerTrainResult:
    model_dir: Path
    step: int
    last_loss: float
    minutes: float
    start_step: int = 0


def _step_rng(seed: int, step: int, process: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(step), int(process)])


def _checkpoint_to_resume(out: Path, resume: bool) -> Optional[Path]:
    if not resume:
        return None
    checkpoint = latest_checkpoint(out / TRAINING_DIR)
    if checkpoint is None and (out / STATE_NAME).is_file():
        raise CheckpointError(f"{out} was trained by an older version that kept no checkpoint to continue from; "
                              "train into a new folder (without --resume)")
    return checkpoint


def _save(acc, out: Path, step: int, loss: float, model, opt, sched, cfg: UpsamplerTrainConfig) -> None:
    """Every process calls this at the same step: one checkpoint, the model folder, old checkpoints pruned."""
    save_checkpoint(acc, checkpoint_folder(out / TRAINING_DIR, step), step=step, models={"model": model},
                    optimizer=opt, lr_scheduler=sched, extra={"loss": loss})
    if acc.is_main_process:
        acc.unwrap_model(model).save_pretrained(out, safe_serialization=True)
        state = {"step": step, "loss": loss, "training_processes": acc.num_processes, "config": asdict(cfg)}
        atomic_write_text(out / STATE_NAME, json.dumps(state, indent=2))
        prune_checkpoints(acc, out / TRAINING_DIR, cfg.keep_checkpoints)
    acc.wait_for_everyone()


def _optimizer_step(acc, model, opt, sched, sampler: CropSampler, rng) -> torch.Tensor:
    x, m, y = (t.to(acc.device) for t in sampler.batch(rng))
    loss = (model(x, m) - y).abs().mean()
    acc.backward(loss)
    acc.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    opt.zero_grad(set_to_none=True)
    return loss.detach()


def _prepare(acc, cfg: UpsamplerTrainConfig, checkpoint: Optional[Path]):
    """(model, optimizer, LR schedule, start step), prepared by accelerate and restored from `checkpoint`."""
    from engine.models.mask_upsampler import MaskUpsampler2DModel

    torch.manual_seed(cfg.seed)
    cs = get_class_set(cfg.class_set)
    model = MaskUpsampler2DModel(num_classes=cs.num_classes, class_set=cs.key,
                                 block_out_channels=tuple(cfg.block_out_channels), low_res_size=tuple(cfg.low_res))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=0.0)
    sched = make_lr_scheduler(opt, "cosine", cfg.warmup_steps, cfg.max_steps, acc.num_processes)
    model, opt, sched = acc.prepare(model, opt, sched)
    if checkpoint is None:
        return model, opt, sched, 0
    start = int(load_checkpoint(acc, checkpoint, models={"model": model}, optimizer=opt, lr_scheduler=sched)["step"])
    place_lr_schedule(sched, opt, start, acc.num_processes)  # also right for another N or another --max-steps
    return model, opt, sched, start


def _loop(acc, out: Path, cfg: UpsamplerTrainConfig, ctx: JobContext, model, opt, sched, sampler: CropSampler,
          start: int) -> tuple[int, float]:
    """Steps from `start` to max_steps (or max_minutes) with logs and saves; (last step, last logged loss)."""
    (out / TRAINING_DIR).mkdir(parents=True, exist_ok=True)
    log, t0 = MainLog(out / TRAINING_DIR / "log.jsonl", acc), time.monotonic()
    step, loss_v = start, math.nan
    try:
        model.train()
        while step < cfg.max_steps:
            if any_process(acc, ctx.is_cancelled()):
                if step > start:
                    _save(acc, out, step, loss_v, model, opt, sched, cfg)
                raise JobCancelled("upsampler training cancelled; continue it with --resume")
            loss = _optimizer_step(acc, model, opt, sched, sampler, _step_rng(cfg.seed, step, acc.process_index))
            step += 1
            late = bool(cfg.max_minutes) and any_process(acc, (time.monotonic() - t0) / 60 > cfg.max_minutes)
            last = late or step == cfg.max_steps
            if step % cfg.log_every == 0 or last:
                loss_v = mean_over_processes(acc, loss)   # every process reaches the same log steps
                log.write({"step": step, "loss": round(loss_v, 5), "lr": float(sched.get_last_lr()[0])})
            ctx.report(step / cfg.max_steps, f"step {step}/{cfg.max_steps} loss {float(loss):.4f}")
            if step % cfg.save_every == 0 or last:
                _save(acc, out, step, loss_v, model, opt, sched, cfg)
            if late:
                break
    finally:
        log.close()
    return step, loss_v


def train_upsampler(pairs: Sequence[tuple[np.ndarray, np.ndarray]], out_dir: Union[str, os.PathLike],
                    cfg: UpsamplerTrainConfig, resume: bool = False,
                    ctx: Optional[JobContext] = None) -> UpsamplerTrainResult:
    """Train on `pairs` [(RGB frame, label of original CaDIS IDs)] and write the model folder to `out_dir`."""
    ctx, out, t0 = ctx or JobContext(), Path(out_dir), time.monotonic()
    if not pairs:
        raise ValueError("the upsampler needs at least one labelled frame to train on")
    if any(min(lab.shape) < cfg.crop for _, lab in pairs):
        raise ValueError(f"frames must be at least {cfg.crop} pixels on each side")
    with hold_model_folder(out, "cadis train-upsampler"):  # one run writes the folder; leftovers cleared
        checkpoint = _checkpoint_to_resume(out, resume)
        acc = make_accelerator(cfg.device)
        if not acc.is_main_process:   # one progress stream: the main process's
            ctx = JobContext(cancelled=ctx.is_cancelled)
        sampler = CropSampler(shard(list(pairs), acc), cfg)
        model, opt, sched, start = _prepare(acc, cfg, checkpoint)
        step, loss_v = _loop(acc, out, cfg, ctx, model, opt, sched, sampler, start)
        if step == start and not (out / "config.json").exists():
            _save(acc, out, step, loss_v, model, opt, sched, cfg)   # nothing to train: still a usable folder
    return UpsamplerTrainResult(out, step, loss_v, (time.monotonic() - t0) / 60, start_step=start)


def load_training_pairs(root: Union[str, os.PathLike], splits=("train", "unassigned")) -> list[tuple[np.ndarray, np.ndarray]]:
    """(frame, label) arrays of a dataset/project/folder's pairs in `splits`."""
    from engine.imageio import read_image, read_label
    from engine.training.data import collect_pairs

    out = []
    for p in collect_pairs(root):
        if p.split in splits:
            img = p.image if isinstance(p.image, np.ndarray) else read_image(p.image)
            lab = p.label if isinstance(p.label, np.ndarray) else read_label(p.label)
            out.append((img, lab))
    return out


__all__ = ["UpsamplerTrainConfig", "UpsamplerTrainResult", "CropSampler", "load_training_pairs", "train_upsampler"]
