"""Training the SPADE diffusion model with Hugging Face `accelerate`, in one process or N.

DDPM training of an epsilon- (min-SNR-gamma weighted) or x0-predicting UNet with mask dropout (a share of
samples get the null mask, so one model gives conditional and unconditional predictions for
classifier-free guidance), optional class-frequency loss weighting for rare classes, diffusers `EMAModel`
weights, gradient accumulation, a diffusers LR schedule, safetensors checkpoints with resume, a grid of
samples from held-out masks every N steps, and progress/cancel through an `engine.jobs.JobContext`.

Under `accelerate launch --num_processes N` each process decodes and draws from its own share of the
training pairs (`processes.shard`), the LR schedule covers the run for any N, the main process alone writes
the log, samples, model folder and checkpoints, and a cancel on any process stops all of them at the same step.

Output folder `out_dir`:
    config.json, diffusion_pytorch_model.safetensors, ...   the model folder (EMA weights), refreshed at
                                                            every checkpoint, so it is usable mid-run
    training/train_config.json                              the run's settings (resume reads them)
    training/shards.json                                    which pairs each process trained on
    training/checkpoint-NNNNNN/                             safetensors + JSON state (engine.training.checkpoint)
    training/samples/step-NNNNNN.png, latest.png            held-out masks | real frames | samples
    training/log.jsonl                                      step, loss (mean over processes), lr, images/s

Every random draw of step N comes from a generator seeded with (seed, N, process, micro-step), so a resumed
run continues exactly as an uninterrupted one would.
"""
from __future__ import annotations

import copy
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

import torch
import torch.nn.functional as F

from engine.jobs import JobCancelled, JobContext
from engine.models.model_dir import DEFAULT_SCHEDULER_CONFIG, save_synthesis_model
from engine.models.segmap import one_hot
from engine.training.folder_lock import hold_model_folder
from engine.models.trained_on import TRAINED_ON
from engine.training.checkpoint import checkpoint_folder, load_checkpoint, prune_checkpoints, save_checkpoint
from engine.training.config import TRAINING_DIR, TrainConfig, TrainResult, build_model, resolve_config
from engine.training.data import (SynthesisDataset, class_weights_from_counts, collect_pairs, data_fingerprint,
                                  split_holdout, trained_on_record)
from engine.training.processes import (MainLog, any_process, make_accelerator, make_lr_scheduler,
                                       mean_over_processes, place_lr_schedule, shard,
                                       write_run_files)
from engine.training.samples import sample_grid

DTYPES = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}


def _step_generator(seed: int, step: int, process: int = 0, micro: int = 0) -> torch.Generator:
    value = int(seed) * 1_000_003 + int(step) * 7919 + process * 104_729 + micro * 15_485_863
    return torch.Generator("cpu").manual_seed(value % (2**63))


@dataclass
class _Run:
    """Everything one training run holds, built by `_setup`."""

    cfg: TrainConfig
    accelerator: Any
    out: Path
    dataset: SynthesisDataset                 # this process's share of the training pairs
    holdout: Optional[SynthesisDataset]       # held-out masks for sample grids (main process only)
    model: Any
    optimizer: Any
    lr_sched: Any
    ema: Any                                  # diffusers EMAModel of the model's parameters
    ema_model: Optional[torch.nn.Module]      # a module the EMA weights are copied into (main process only)
    noise_sched: Any
    class_weights: Optional[torch.Tensor]
    sched_cfg: dict
    card: dict
    ctx: JobContext
    emit: Callable[[dict], None]
    grids: list[Path] = field(default_factory=list)

    @property
    def train_dir(self) -> Path:
        return self.out / TRAINING_DIR

    @property
    def main(self) -> bool:
        return self.accelerator.is_main_process


# ---- set-up -------------------------------------------------------------------------------------------------

def _load_data(data, cfg: TrainConfig, accelerator, ctx: JobContext):
    """(this process's dataset, held-out set or None, card facts); each process decodes only its share."""
    from accelerate.utils import gather_object

    ctx.report(0.0, "reading training data")
    train_pairs, holdout_pairs = split_holdout(collect_pairs(data), cfg.num_holdout)
    mine = shard(train_pairs, accelerator)
    dataset = SynthesisDataset(mine, cfg.resolution, cfg.class_set, ctx=ctx.sub(0.0, 0.02))
    holdout = None
    if holdout_pairs and accelerator.is_main_process:
        holdout = SynthesisDataset(holdout_pairs, cfg.resolution, cfg.class_set)
    digests = gather_object(dataset.pair_digests())
    shards = gather_object([dataset.names])
    weights = None
    if cfg.class_weighting > 0:
        counts = torch.from_numpy(dataset.class_counts()).to(accelerator.device)
        if accelerator.num_processes > 1:
            counts = accelerator.reduce(counts, reduction="sum")
        weights = class_weights_from_counts(counts.cpu().numpy(), cfg.class_weighting)
    facts = {"training_data_fingerprint": data_fingerprint(digests), "training_frames": len(digests),
             "training_data": str(data) if isinstance(data, (str, os.PathLike)) else "in-memory pairs",
             "training_processes": accelerator.num_processes}
    if accelerator.is_main_process:
        facts[TRAINED_ON] = trained_on_record(data, train_pairs, cfg.resolution)
    return dataset, holdout, weights, facts, shards


def _setup(data, out: Path, cfg: TrainConfig, ctx: JobContext, emit) -> _Run:
    from diffusers import DDPMScheduler
    from diffusers.training_utils import EMAModel

    accelerator = make_accelerator(cfg.device, cfg.mixed_precision, cfg.gradient_accumulation_steps)
    if not accelerator.is_main_process:  # one progress bar and event stream: the main process's
        ctx, emit = JobContext(cancelled=ctx.is_cancelled), (lambda e: None)
    dataset, holdout, weights, facts, shards = _load_data(data, cfg, accelerator, ctx)

    torch.manual_seed(cfg.seed)
    model = build_model(cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=0.0)
    lr_sched = make_lr_scheduler(optimizer, cfg.lr_schedule, cfg.warmup_steps, cfg.max_steps,
                                 accelerator.num_processes)
    model, optimizer, lr_sched = accelerator.prepare(model, optimizer, lr_sched)
    unwrapped = accelerator.unwrap_model(model)
    ema = EMAModel(unwrapped.parameters(), decay=cfg.ema_decay)
    ema_model = copy.deepcopy(unwrapped).eval().requires_grad_(False) if accelerator.is_main_process else None
    sched_cfg = dict(DEFAULT_SCHEDULER_CONFIG, prediction_type=cfg.prediction_type)
    noise_sched = DDPMScheduler(**{k: v for k, v in sched_cfg.items() if k != "timestep_spacing"})
    card = dict(facts, train_config=asdict(cfg))
    run = _Run(cfg, accelerator, out, dataset, holdout, model, optimizer, lr_sched, ema, ema_model, noise_sched,
               weights, sched_cfg, card, ctx, emit)
    write_run_files(accelerator, run.train_dir, "train_config.json", asdict(cfg), shards)
    return run


def _resume(run: _Run, checkpoint: Optional[Path]) -> int:
    """Restore model, optimizer, LR schedule, EMA and RNG from `checkpoint`; the step to continue from."""
    if checkpoint is None:
        return 0
    state = load_checkpoint(run.accelerator, checkpoint, models={"model": run.model}, optimizer=run.optimizer,
                            lr_scheduler=run.lr_sched, emas={"ema": run.ema})
    step = int(state["step"])
    # always re-placed: right for another process count and for another --max-steps (the saved optimizer
    # holds the old schedule's learning rate)
    place_lr_schedule(run.lr_sched, run.optimizer, step, run.accelerator.num_processes)
    return step


# ---- one step -----------------------------------------------------------------------------------------------

def _diffusion_loss(run: _Run, g: torch.Generator) -> torch.Tensor:
    """The (weighted) denoising loss of one micro-batch drawn with generator `g`."""
    cfg, dev, n = run.cfg, run.accelerator.device, run.cfg.batch_size
    idx = torch.randint(0, len(run.dataset), (n,), generator=g)
    flips = torch.rand(n, generator=g) < 0.5
    images, labels = run.dataset.batch(idx, flips)
    drop = torch.rand(n, generator=g) < cfg.mask_dropout
    noise = torch.randn(images.shape, generator=g)
    t = torch.randint(0, run.noise_sched.config.num_train_timesteps, (n,), generator=g)
    images, labels, noise, t, drop = (v.to(dev) for v in (images, labels, noise, t, drop))
    segmap = one_hot(labels, run.dataset.class_set.num_classes) * (~drop).float()[:, None, None, None]
    a = run.noise_sched.alphas_cumprod.to(dev)[t][:, None, None, None]
    noisy = a.sqrt() * images + (1 - a).sqrt() * noise
    with run.accelerator.autocast():
        pred = run.model(noisy, t, segmap=segmap)
    target = noise if cfg.prediction_type == "epsilon" else images
    err = F.mse_loss(pred.float(), target, reduction="none").mean(1)
    if cfg.snr_gamma > 0 and cfg.prediction_type == "epsilon":
        snr = a / (1 - a)  # min-SNR-gamma (Hang et al., 2023): less weight on the near-noiseless steps
        err = err * (snr.clamp(max=cfg.snr_gamma) / snr)[:, 0]
    if run.class_weights is not None:
        w = torch.ones_like(err)
        valid = labels < len(run.class_weights)
        w[valid] = run.class_weights.to(err.device)[labels[valid]]
        err = err * w
    return err.mean()


def _optimizer_step(run: _Run, step: int) -> torch.Tensor:
    """One optimizer step over `gradient_accumulation_steps` micro-batches; their mean loss."""
    acc, losses = run.accelerator, []
    for micro in range(run.cfg.gradient_accumulation_steps):
        with acc.accumulate(run.model):
            loss = _diffusion_loss(run, _step_generator(run.cfg.seed, step, acc.process_index, micro))
            acc.backward(loss)
            if acc.sync_gradients and run.cfg.grad_clip:
                acc.clip_grad_norm_(run.model.parameters(), run.cfg.grad_clip)
            run.optimizer.step()
            run.lr_sched.step()
            run.optimizer.zero_grad(set_to_none=True)
        losses.append(loss.detach())
    run.ema.step(acc.unwrap_model(run.model).parameters())
    return torch.stack(losses).mean()


# ---- outputs ------------------------------------------------------------------------------------------------

def _ema_module(run: _Run) -> torch.nn.Module:
    """The main process's module holding the current EMA weights (buffers from the live model)."""
    run.ema.copy_to(run.ema_model.parameters())
    live = run.accelerator.unwrap_model(run.model)
    for mine, theirs in zip(run.ema_model.buffers(), live.buffers()):
        mine.copy_(theirs)
    return run.ema_model


def _save(run: _Run, step: int) -> None:
    """Every process calls this at the same step: one checkpoint, the model folder, old checkpoints pruned."""
    save_checkpoint(run.accelerator, checkpoint_folder(run.train_dir, step), step=step, models={"model": run.model},
                    optimizer=run.optimizer, lr_scheduler=run.lr_sched, emas={"ema": run.ema},
                    extra={"data_fingerprint": run.card["training_data_fingerprint"]})
    if run.main:
        save_synthesis_model(_ema_module(run), run.out, run.sched_cfg, dict(run.card, steps=step),
                             dtype=DTYPES.get(run.cfg.weights_dtype))
        prune_checkpoints(run.accelerator, run.train_dir, run.cfg.keep_checkpoints)
    run.accelerator.wait_for_everyone()


def _samples(run: _Run, step: int) -> None:
    if run.holdout is None or not run.main:
        return
    folder = run.train_dir / "samples"
    path = sample_grid(_ema_module(run), run.holdout, folder / f"step-{step:06d}.png", steps=run.cfg.sample_steps,
                       scheduler_config=run.sched_cfg)
    shutil.copyfile(path, folder / "latest.png")
    run.grids.append(path)
    run.emit({"kind": "samples", "step": step, "path": str(path)})


class _Throughput:
    def __init__(self):
        self.t, self.n = time.perf_counter(), 0

    def add(self, images: int) -> None:
        self.n += images

    def rate(self) -> float:
        now = time.perf_counter()
        ips = self.n / max(1e-9, now - self.t)
        self.t, self.n = now, 0
        return ips


def _log(run: _Run, log: MainLog, step: int, loss: torch.Tensor, ips: float) -> float:
    value = mean_over_processes(run.accelerator, loss)   # every process reaches the same log steps
    lr = float(run.lr_sched.get_last_lr()[0])
    if run.main:
        log.write({"step": step, "loss": round(value, 5), "lr": lr, "images_per_s": round(ips, 2)})
        run.emit({"kind": "log", "step": step, "loss": value, "images_per_s": ips, "lr": lr})
    run.ctx.report(0.02 + 0.98 * step / max(1, run.cfg.max_steps),
                   f"step {step}/{run.cfg.max_steps} loss {value:.4f} {ips:.1f} img/s")
    return value


def _loop(run: _Run, start: int) -> tuple[int, float]:
    """Optimizer steps from `start` to max_steps with logs, checkpoints and samples; (last step, last loss)."""
    cfg, step, loss_v = run.cfg, start, float("nan")
    per_step = cfg.batch_size * cfg.gradient_accumulation_steps * run.accelerator.num_processes
    log, speed = MainLog(run.train_dir / "log.jsonl", run.accelerator), _Throughput()
    try:
        run.model.train()
        while step < cfg.max_steps:
            if any_process(run.accelerator, run.ctx.is_cancelled()):
                if step > start:
                    _save(run, step)
                raise JobCancelled("training cancelled; resume it with --resume")
            loss = _optimizer_step(run, step)
            step += 1
            speed.add(per_step)
            last = step == cfg.max_steps
            if step % cfg.log_every == 0 or last:
                loss_v = _log(run, log, step, loss, speed.rate())
            if step % cfg.checkpoint_every == 0 or last:
                _save(run, step)
            if cfg.sample_every and (step % cfg.sample_every == 0 or last):
                _samples(run, step)
    finally:
        log.close()
    return step, loss_v


def train_synthesis(data: Union[str, os.PathLike, Sequence], out_dir: Union[str, os.PathLike],
                    config: Optional[TrainConfig] = None, resume: bool = False, ctx: Optional[JobContext] = None,
                    on_event: Optional[Callable[[dict], None]] = None) -> TrainResult:
    """Train (or resume training) a synthesis model on `data`; writes the model folder `out_dir`.

    `data`: a CaDIS dataset, project or pair folder, or a list of (image, label) pairs (see
    `engine.training.data`). `on_event(dict)` receives {"kind": "log", "step", "loss", "lr", "images_per_s"}
    and {"kind": "samples", "step", "path"} for a live loss curve and sample grid. Cancelling through `ctx`
    saves a checkpoint first, then raises JobCancelled; `resume=True` continues from it.
    """
    out = Path(out_dir)
    with hold_model_folder(out, "cadis train-model"):  # one run writes a model folder; leftovers cleared
        cfg, checkpoint = resolve_config(out, config or TrainConfig(), resume)
        cfg.check()
        run = _setup(data, out, cfg, ctx or JobContext(), on_event or (lambda e: None))
        start = _resume(run, checkpoint)
        step, loss_v = _loop(run, start)
        if step == start and not (out / "config.json").exists():
            _save(run, step)   # nothing to train (max_steps reached): still leave a usable model folder
    run.ctx.report(1.0, f"done: step {step}")
    return TrainResult(model_dir=out, step=step, start_step=start, last_loss=loss_v,
                       data_fingerprint=run.card["training_data_fingerprint"], sample_grids=run.grids)
