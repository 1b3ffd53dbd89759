"""Training the SPADE diffusion model with Hugging Face `accelerate`.

DDPM training of an epsilon- (min-SNR-gamma weighted) or x0-predicting UNet with mask dropout (a share of
samples get the null mask, so one model gives conditional and unconditional predictions for
classifier-free guidance), optional class-frequency
loss weighting for rare classes, EMA weights, checkpoints (`accelerator.save_state`) with resume, a grid of
samples from held-out masks every N steps, and progress/cancel through an `engine.jobs.JobContext`.

Output folder `out_dir`:
    config.json, diffusion_pytorch_model.safetensors, ...   the model folder (EMA weights), refreshed at
                                                            every checkpoint, so it is usable mid-run
    training/train_config.json                              the run's settings (resume reads them)
    training/checkpoint-NNNNNN/                             accelerate state + ema.safetensors + state.json
    training/samples/step-NNNNNN.png, latest.png            held-out masks | real frames | samples
    training/log.jsonl                                      step, loss, images/s

Every random draw of step N comes from a generator seeded with (seed, N), so a resumed run continues
exactly as an uninterrupted one would.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import torch
import torch.nn.functional as F

from engine.atomic import atomic_write_text
from engine.jobs import JobCancelled, JobContext
from engine.models.model_dir import DEFAULT_SCHEDULER_CONFIG, save_synthesis_model
from engine.models.segmap import one_hot
from engine.models.spade_unet import SpadeUNet2DModel
from engine.training.data import SynthesisDataset, collect_pairs, split_holdout
from engine.training.samples import sample_grid

TRAINING_DIR = "training"


@dataclass
class TrainConfig:
    """Settings of a training run (saved with it; resume reuses them)."""

    resolution: tuple[int, int] = (144, 256)          # (H, W)
    class_set: str = "full"
    block_out_channels: tuple[int, ...] = (32, 64, 96, 128)
    layers_per_block: int = 1
    attention_levels: Optional[tuple[int, ...]] = None  # None: the lowest level only
    spade_hidden: int = 32
    spade_kernel: int = 1                              # gamma/beta conv size (1 is ~25% cheaper than SDM's 3)
    max_steps: int = 2000
    batch_size: int = 8
    learning_rate: float = 2e-4
    warmup_steps: int = 100
    mask_dropout: float = 0.2
    class_weighting: float = 0.0                       # exponent of frequency**-x; 0 = off (0.5 is a good start)
    snr_gamma: float = 5.0                             # min-SNR loss weighting (epsilon targets); 0 = plain MSE
    prediction_type: str = "epsilon"                   # what the UNet predicts: "epsilon" or "sample" (x0)
    ema_decay: float = 0.999
    mixed_precision: str = "no"                        # "no", "fp16", "bf16"
    checkpoint_every: int = 250
    sample_every: int = 250
    sample_steps: int = 20
    num_holdout: int = 4
    keep_checkpoints: int = 2
    grad_clip: float = 1.0
    seed: int = 0
    device: str = "auto"
    log_every: int = 10
    weights_dtype: str = "fp32"                        # dtype of the saved model weights: fp32, fp16, bf16

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in data.items() if k in names}
        for k in ("resolution", "block_out_channels", "attention_levels"):
            if kw.get(k) is not None:
                kw[k] = tuple(int(v) for v in kw[k])
        return cls(**kw)


@dataclass
class TrainResult:
    model_dir: Path
    step: int
    start_step: int
    last_loss: float
    data_fingerprint: str
    sample_grids: list[Path] = field(default_factory=list)


def _step_generator(seed: int, step: int, process: int = 0) -> torch.Generator:
    return torch.Generator("cpu").manual_seed((int(seed) * 1_000_003 + int(step) * 7919 + process * 104_729) % (2**63))


def build_model(cfg: TrainConfig) -> SpadeUNet2DModel:
    from engine.taxonomy import get_class_set

    cs = get_class_set(cfg.class_set)
    return SpadeUNet2DModel(
        sample_size=tuple(cfg.resolution), num_classes=cs.num_classes, class_set=cs.key,
        block_out_channels=tuple(cfg.block_out_channels), layers_per_block=cfg.layers_per_block,
        attention_levels=None if cfg.attention_levels is None else tuple(cfg.attention_levels),
        spade_hidden=cfg.spade_hidden, spade_kernel=cfg.spade_kernel,
    )


def _latest_checkpoint(train_dir: Path) -> Optional[Path]:
    cks = sorted(p for p in train_dir.glob("checkpoint-*") if (p / "state.json").exists())
    return cks[-1] if cks else None


@torch.no_grad()
def _ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for pe, pm in zip(ema.parameters(), model.parameters()):
        pe.lerp_(pm.detach().to(pe.dtype), 1.0 - decay)


def _resolve_config(out: Path, config: TrainConfig, resume: bool) -> tuple[TrainConfig, Optional[Path]]:
    train_dir = out / TRAINING_DIR
    saved = train_dir / "train_config.json"
    if resume and saved.exists():
        old = TrainConfig.from_dict(json.loads(saved.read_text()))
        # the architecture, data size and schedule come from the run being resumed; only length/cadence change
        for k in ("max_steps", "checkpoint_every", "sample_every", "device", "log_every", "keep_checkpoints"):
            setattr(old, k, getattr(config, k))
        return old, _latest_checkpoint(train_dir)
    if (out / "config.json").exists() and not resume and _latest_checkpoint(train_dir) is not None:
        raise ValueError(f"{out} already holds a training run; pass --resume to continue it or choose another --out")
    return config, None


def train_synthesis(data: Union[str, os.PathLike, Sequence], out_dir: Union[str, os.PathLike],
                    config: Optional[TrainConfig] = None, resume: bool = False, ctx: Optional[JobContext] = None,
                    on_event: Optional[Callable[[dict], None]] = None) -> TrainResult:
    """Train (or resume training) a synthesis model on `data`; writes the model folder `out_dir`.

    `data`: a CaDIS dataset, project or pair folder, or a list of (image, label) pairs (see
    `engine.training.data`). `on_event(dict)` receives {"kind": "log", "step", "loss", "images_per_s"} and
    {"kind": "samples", "step", "path"} for a live loss curve and sample grid. Cancelling through `ctx`
    saves a checkpoint first, then raises JobCancelled; `resume=True` continues from it.
    """
    from accelerate import Accelerator
    from diffusers import DDPMScheduler

    ctx = ctx or JobContext()
    out = Path(out_dir)
    cfg, checkpoint = _resolve_config(out, config or TrainConfig(), resume)
    if cfg.prediction_type not in ("epsilon", "sample"):
        raise ValueError(f"prediction_type {cfg.prediction_type!r}: use epsilon or sample")
    sched_cfg = dict(DEFAULT_SCHEDULER_CONFIG, prediction_type=cfg.prediction_type)
    train_dir = out / TRAINING_DIR
    cpu = cfg.device == "cpu"
    if cfg.device.startswith("cuda"):
        from engine.device import pick_device

        pick_device(cfg.device)  # clear error when no GPU
    accelerator = Accelerator(mixed_precision=cfg.mixed_precision, cpu=cpu)
    emit = on_event or (lambda e: None)

    ctx.report(0.0, "reading training data")
    pairs = collect_pairs(data)
    train_pairs, holdout_pairs = split_holdout(pairs, cfg.num_holdout)
    dataset = SynthesisDataset(train_pairs, cfg.resolution, cfg.class_set, ctx=ctx.sub(0.0, 0.02))
    holdout = SynthesisDataset(holdout_pairs, cfg.resolution, cfg.class_set) if holdout_pairs else None
    weights = dataset.class_weights(cfg.class_weighting) if cfg.class_weighting > 0 else None

    torch.manual_seed(cfg.seed)
    model = build_model(cfg)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=0.0)
    lr_sched = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / max(1, cfg.warmup_steps)))
    model, optimizer, lr_sched = accelerator.prepare(model, optimizer, lr_sched)
    ema.to(accelerator.device)
    noise_sched = DDPMScheduler(**{k: v for k, v in sched_cfg.items() if k not in ("timestep_spacing",)})

    start = 0
    if checkpoint is not None:
        from safetensors.torch import load_file

        accelerator.load_state(str(checkpoint))
        ema.load_state_dict(load_file(str(checkpoint / "ema.safetensors"), device=str(accelerator.device)))
        start = int(json.loads((checkpoint / "state.json").read_text())["step"])
    train_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(train_dir / "train_config.json", json.dumps(asdict(cfg), indent=2))
    fingerprint = dataset.fingerprint()
    card = {"training_data_fingerprint": fingerprint, "training_frames": len(dataset),
            "training_data": str(data) if isinstance(data, (str, os.PathLike)) else "in-memory pairs",
            "train_config": asdict(cfg)}
    alphas = noise_sched.alphas_cumprod.to(accelerator.device)
    dtype_map = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}

    def save_all(step: int) -> None:
        ck = train_dir / f"checkpoint-{step:06d}"
        accelerator.save_state(str(ck), safe_serialization=True)
        from safetensors.torch import save_file

        save_file({k: v.detach().cpu().contiguous() for k, v in ema.state_dict().items()}, str(ck / "ema.safetensors"))
        atomic_write_text(ck / "state.json", json.dumps({"step": step}))
        save_synthesis_model(ema, out, sched_cfg, dict(card, steps=step),
                             dtype=dtype_map.get(cfg.weights_dtype))
        old = sorted(p for p in train_dir.glob("checkpoint-*") if p != ck)
        for p in old[: max(0, len(old) - cfg.keep_checkpoints + 1)]:
            shutil.rmtree(p, ignore_errors=True)

    grids: list[Path] = []

    def samples(step: int) -> None:
        if holdout is None or not accelerator.is_main_process:
            return
        path = sample_grid(ema, holdout, train_dir / "samples" / f"step-{step:06d}.png", steps=cfg.sample_steps,
                           scheduler_config=sched_cfg)
        shutil.copyfile(path, train_dir / "samples" / "latest.png")
        grids.append(path)
        emit({"kind": "samples", "step": step, "path": str(path)})

    log_f = open(train_dir / "log.jsonl", "a", encoding="utf-8")
    step, loss_v, t_last, n_last = start, float("nan"), time.perf_counter(), 0
    try:
        model.train()
        while step < cfg.max_steps:
            if ctx.is_cancelled():
                if step > start:
                    save_all(step)
                raise JobCancelled("training cancelled; resume it with --resume")
            g = _step_generator(cfg.seed, step, accelerator.process_index)
            idx = torch.randint(0, len(dataset), (cfg.batch_size,), generator=g)
            flips = torch.rand(cfg.batch_size, generator=g) < 0.5
            images, labels = dataset.batch(idx, flips)
            drop = torch.rand(cfg.batch_size, generator=g) < cfg.mask_dropout
            noise = torch.randn(images.shape, generator=g)
            t = torch.randint(0, noise_sched.config.num_train_timesteps, (cfg.batch_size,), generator=g)
            images, labels, noise, t, drop = (v.to(accelerator.device) for v in (images, labels, noise, t, drop))
            segmap = one_hot(labels, dataset.class_set.num_classes) * (~drop).float()[:, None, None, None]
            a = alphas[t][:, None, None, None]
            noisy = a.sqrt() * images + (1 - a).sqrt() * noise
            with accelerator.autocast():
                pred = model(noisy, t, segmap=segmap)
            target = noise if cfg.prediction_type == "epsilon" else images
            err = F.mse_loss(pred.float(), target, reduction="none").mean(1)
            if cfg.snr_gamma > 0 and cfg.prediction_type == "epsilon":
                snr = a / (1 - a)  # min-SNR-gamma (Hang et al., 2023): less weight on the near-noiseless steps
                err = err * (snr.clamp(max=cfg.snr_gamma) / snr)[:, 0]
            if weights is not None:
                w = torch.ones_like(err)
                valid = labels < len(weights)
                w[valid] = weights.to(err.device)[labels[valid]]
                err = err * w
            loss = err.mean()
            accelerator.backward(loss)
            if cfg.grad_clip:
                accelerator.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            lr_sched.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            _ema_update(ema, accelerator.unwrap_model(model), min(cfg.ema_decay, (1 + step) / (10 + step)))
            loss_v = float(loss.detach())
            n_last += cfg.batch_size * accelerator.num_processes
            if step % cfg.log_every == 0 or step == cfg.max_steps:
                now = time.perf_counter()
                ips = n_last / max(1e-9, now - t_last)
                t_last, n_last = now, 0
                log_f.write(json.dumps({"step": step, "loss": round(loss_v, 5), "images_per_s": round(ips, 2)}) + "\n")
                log_f.flush()
                emit({"kind": "log", "step": step, "loss": loss_v, "images_per_s": ips})
                ctx.report(0.02 + 0.98 * step / cfg.max_steps, f"step {step}/{cfg.max_steps} loss {loss_v:.4f} {ips:.1f} img/s")
            if accelerator.is_main_process and (step % cfg.checkpoint_every == 0 or step == cfg.max_steps):
                save_all(step)
            if cfg.sample_every and (step % cfg.sample_every == 0 or step == cfg.max_steps):
                samples(step)
    finally:
        log_f.close()
    if step == start and not (out / "config.json").exists():
        save_all(step)
    ctx.report(1.0, f"done: step {step}")
    return TrainResult(model_dir=out, step=step, start_step=start, last_loss=loss_v, data_fingerprint=fingerprint,
                       sample_grids=grids)
