"""Train the mask-conditioned upsampler (`MaskUpsampler2DModel`) on a user's frames at their own resolution.

Each training example is a random crop of a real frame at a random output scale (between `min_scale` and 1
of the frame's size): the target is the real crop, the input is the same frame squeezed to the synthesis
model's low resolution (area) and brought back up (bicubic), lightly blurred and noised so that it looks
like a diffusion sample, plus the one-hot mask at the output scale. L1 loss, AdamW, cosine schedule over
the whole run (with N processes each process sees `max_steps` steps of its own batch). Runs on `accelerate`
(CPU, one GPU, several GPUs). The run writes the model folder (`save_pretrained`, safetensors) every
`save_every` steps and at the end, with `training_state.json` (the step); `resume=True` continues from the
last saved weights and step (the optimizer restarts: nothing is unpickled).
"""
from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

import cv2
import numpy as np
import torch

from engine.jobs import JobContext
from engine.taxonomy import get_class_set

STATE_NAME = "training_state.json"


@dataclass
class UpsamplerTrainConfig:
    low_res: tuple[int, int] = (72, 128)          # (H, W) of the synthesis model the upsampler follows
    class_set: str = "1"
    block_out_channels: tuple[int, ...] = (16, 32, 48, 64)
    crop: int = 128
    batch_size: int = 8
    min_scale: float = 0.5
    max_steps: int = 2000
    max_minutes: float = 0.0                     # stop (and save) after this long; 0 = no limit
    learning_rate: float = 1e-3
    save_every: int = 200
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
        self.rng = np.random.default_rng(cfg.seed)
        scales = scales or sorted({cfg.min_scale, (cfg.min_scale + 1) / 2, 1.0})
        self.items = []
        for image, label in pairs:
            h, w = label.shape
            for s in scales:
                sh, sw = max(cfg.crop, round(h * s)), max(cfg.crop, round(w * s))
                img = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA) if (sh, sw) != (h, w) else image
                lab = cv2.resize(label, (sw, sh), interpolation=cv2.INTER_NEAREST) if (sh, sw) != (h, w) else label
                self.items.append((img, self.cs.lut[lab], _degrade(img, cfg.low_res, self.rng).astype(np.uint8)))

    def batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        from engine.models.segmap import one_hot

        c = self.cfg.crop
        xs, ms, ys = [], [], []
        for _ in range(self.cfg.batch_size):
            img, lab, low = self.items[int(self.rng.integers(len(self.items)))]
            y0 = int(self.rng.integers(img.shape[0] - c + 1))
            x0 = int(self.rng.integers(img.shape[1] - c + 1))
            sl = (slice(y0, y0 + c), slice(x0, x0 + c))
            flip = self.rng.random() < 0.5
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


def train_upsampler(pairs: Sequence[tuple[np.ndarray, np.ndarray]], out_dir: Union[str, os.PathLike],
                    cfg: UpsamplerTrainConfig, resume: bool = False,
                    ctx: Optional[JobContext] = None) -> UpsamplerTrainResult:
    """Train on `pairs` [(RGB frame, label of original CaDIS IDs)] and write the model folder to `out_dir`."""
    from accelerate import Accelerator
    from diffusers.optimization import get_cosine_schedule_with_warmup

    from engine.device import pick_device
    from engine.models.mask_upsampler import MaskUpsampler2DModel

    ctx = ctx or JobContext()
    out = Path(out_dir)
    if not pairs:
        raise ValueError("the upsampler needs at least one labelled frame to train on")
    if any(min(lab.shape) < cfg.crop for _, lab in pairs):
        raise ValueError(f"frames must be at least {cfg.crop} pixels on each side")
    torch.manual_seed(cfg.seed)
    acc = Accelerator(cpu=pick_device(cfg.device).type == "cpu")
    cs = get_class_set(cfg.class_set)
    start = 0
    if resume and (out / STATE_NAME).exists() and (out / "config.json").exists():
        model = MaskUpsampler2DModel.from_pretrained(out)
        start = int(json.loads((out / STATE_NAME).read_text())["step"])
    else:
        model = MaskUpsampler2DModel(num_classes=cs.num_classes, class_set=cs.key,
                                     block_out_channels=tuple(cfg.block_out_channels), low_res_size=tuple(cfg.low_res))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=0.0)
    sched = get_cosine_schedule_with_warmup(opt, 50, cfg.max_steps)
    with warnings.catch_warnings():  # fast-forward the schedule to the resumed step (no optimizer step yet)
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(start):
            sched.step()
    model, opt = acc.prepare(model, opt)
    sampler = CropSampler(pairs, cfg)
    sampler.rng = np.random.default_rng(cfg.seed + start + 1000 * acc.process_index)
    t0 = time.monotonic()
    loss_v, step = float("nan"), start

    def save(step_now: int) -> None:
        if acc.is_main_process:
            acc.unwrap_model(model).save_pretrained(out, safe_serialization=True)
            (out / STATE_NAME).write_text(json.dumps({"step": step_now, "loss": loss_v, "config": asdict(cfg)}, indent=2))

    model.train()
    for step in range(start + 1, cfg.max_steps + 1):
        ctx.check()
        x, m, y = (t.to(acc.device) for t in sampler.batch())
        loss = (model(x, m) - y).abs().mean()
        acc.backward(loss)
        acc.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        loss_v = float(loss.detach())
        ctx.report(step / cfg.max_steps, f"step {step}/{cfg.max_steps} loss {loss_v:.4f}")
        if step % cfg.save_every == 0:
            save(step)
        if cfg.max_minutes and (time.monotonic() - t0) / 60 > cfg.max_minutes:
            break
    save(step)
    acc.wait_for_everyone()
    return UpsamplerTrainResult(out, step, loss_v, (time.monotonic() - t0) / 60)


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
