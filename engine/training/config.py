"""Settings of a synthesis training run, its result, the model it builds, and which settings a resume keeps."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Optional

from engine.models.spade_unet import SpadeUNet2DModel
from engine.training.checkpoint import latest_checkpoint

TRAINING_DIR = "training"
# what a resumed run may change; everything else (architecture, data size, schedule) comes from the saved run
RESUMABLE = ("max_steps", "checkpoint_every", "sample_every", "device", "log_every", "keep_checkpoints")


@dataclass
class TrainConfig:
    """Settings of a training run (saved with it; resume reuses them).

    `batch_size` is per process and per micro-step: one optimizer step sees
    batch_size x gradient_accumulation_steps x processes images. `warmup_steps` and `max_steps` count
    optimizer steps, whatever the number of processes."""

    resolution: tuple[int, int] = (144, 256)          # (H, W)
    class_set: str = "full"
    block_out_channels: tuple[int, ...] = (32, 64, 96, 128)
    layers_per_block: int = 1
    attention_levels: Optional[tuple[int, ...]] = None  # None: the lowest level only
    spade_hidden: int = 32
    spade_kernel: int = 1                              # gamma/beta conv size (1 is ~25% cheaper than SDM's 3)
    max_steps: int = 2000
    batch_size: int = 8
    gradient_accumulation_steps: int = 1
    learning_rate: float = 2e-4
    lr_schedule: str = "constant"                      # after warmup: constant, cosine or linear decay to 0
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

    def check(self) -> None:
        if self.prediction_type not in ("epsilon", "sample"):
            raise ValueError(f"prediction_type {self.prediction_type!r}: use epsilon or sample")
        if self.gradient_accumulation_steps < 1 or self.batch_size < 1 or self.max_steps < 0:
            raise ValueError("batch_size and gradient_accumulation_steps must be at least 1, max_steps at least 0")


@dataclass
class TrainResult:
    model_dir: Path
    step: int
    start_step: int
    last_loss: float
    data_fingerprint: str
    sample_grids: list[Path] = field(default_factory=list)


def build_model(cfg: TrainConfig) -> SpadeUNet2DModel:
    from engine.taxonomy import get_class_set

    cs = get_class_set(cfg.class_set)
    return SpadeUNet2DModel(
        sample_size=tuple(cfg.resolution), num_classes=cs.num_classes, class_set=cs.key,
        block_out_channels=tuple(cfg.block_out_channels), layers_per_block=cfg.layers_per_block,
        attention_levels=None if cfg.attention_levels is None else tuple(cfg.attention_levels),
        spade_hidden=cfg.spade_hidden, spade_kernel=cfg.spade_kernel,
    )


def resolve_config(out: Path, config: TrainConfig, resume: bool) -> tuple[TrainConfig, Optional[Path]]:
    """(the run's config, the checkpoint to resume from or None); refuses to start over an existing run."""
    train_dir = out / TRAINING_DIR
    saved = train_dir / "train_config.json"
    if resume and saved.exists():
        from engine.files import read_json

        old = TrainConfig.from_dict(read_json(saved, what="saved training settings", follow_links=False, expect=dict))
        for k in RESUMABLE:
            setattr(old, k, getattr(config, k))
        return old, latest_checkpoint(train_dir)
    if (out / "config.json").exists() and not resume and latest_checkpoint(train_dir) is not None:
        raise ValueError(f"{out} already holds a training run; pass --resume to continue it or choose another --out")
    return config, None
