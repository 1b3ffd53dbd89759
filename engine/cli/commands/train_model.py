"""`cadis train-model DATA --out MODEL_DIR`: train a mask-to-image synthesis model."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from engine.device import DEVICE_CHOICES, DEVICE_HELP

NAME = "train-model"
HELP = "train a mask-to-image synthesis model (SPADE diffusion) on labelled frames"
DESCRIPTION = (
    "Train a SPADE-conditioned diffusion model on DATA: a CaDIS dataset, a project (its frames marked done) "
    "or a folder of NAME.png + NAME.mask.png pairs. MODEL_DIR becomes a model folder for `cadis synth "
    "--model`; training state, sample grids and the loss log go to MODEL_DIR/training/. Interrupted runs "
    "continue with --resume. Several GPUs: `accelerate launch --num_processes N -m engine.cli train-model ...` "
    "(each process trains on its share of the pairs with --batch-size images a step; the LR schedule, logs and "
    "checkpoints are the same as in one process)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", metavar="DATA", type=Path, help="CaDIS dataset, project, or folder of pairs")
    parser.add_argument("--out", type=Path, required=True, metavar="MODEL_DIR", help="model folder to write")
    parser.add_argument("--resolution", default="256x144", help="WIDTHxHEIGHT, sides divisible by 8 (default 256x144)")
    parser.add_argument("--classes", default="full", choices=("full", "1", "2", "3"), help="class set (default full)")
    parser.add_argument("--max-steps", type=int, default=2000, help="training steps (default 2000)")
    parser.add_argument("--batch-size", type=int, default=8, help="images per step (default 8)")
    parser.add_argument("--lr", type=float, default=2e-4, help="learning rate (default 2e-4)")
    parser.add_argument("--lr-schedule", choices=("constant", "cosine", "linear"), default="constant",
                        help="after warmup: constant, or cosine/linear decay to 0 at --max-steps (default constant)")
    parser.add_argument("--warmup-steps", type=int, default=100, help="LR warmup in optimizer steps (default 100)")
    parser.add_argument("--gradient-accumulation", type=int, default=1, metavar="K",
                        help="micro-batches per optimizer step (default 1); a step sees batch-size x K x processes "
                             "images")
    parser.add_argument("--channels", default="32,64,96,128",
                        help="UNet widths per level, comma-separated (default 32,64,96,128)")
    parser.add_argument("--layers-per-block", type=int, default=1, help="residual blocks per level (default 1)")
    parser.add_argument("--class-weighting", type=float, default=0.0,
                        help="weight rare classes by frequency**-X in the loss; 0 = off, 0.3-0.5 helps instruments")
    parser.add_argument("--prediction", choices=("epsilon", "sample"), default="epsilon",
                        help="what the UNet predicts: the noise (default) or the clean image, which gives clean "
                             "samples sooner on short CPU runs")
    parser.add_argument("--mask-dropout", type=float, default=0.2, help="share of null-mask samples (default 0.2)")
    parser.add_argument("--mixed-precision", choices=("no", "fp16", "bf16"), default="no",
                        help="mixed precision (GPU: fp16 or bf16; default no)")
    parser.add_argument("--checkpoint-every", type=int, default=250, help="steps between checkpoints (default 250)")
    parser.add_argument("--sample-every", type=int, default=250,
                        help="steps between sample grids from held-out masks; 0 = only at the end (default 250)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--log-every", type=int, default=10, help="steps between loss log lines (default 10)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in MODEL_DIR from its last checkpoint with that run's settings "
                             "(only --max-steps, --checkpoint-every, --sample-every and --device apply)")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help=DEVICE_HELP)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def build_config(args: argparse.Namespace):
    from engine.cli import CliError
    from engine.models.model_dir import parse_height_width
    from engine.training import TrainConfig

    try:
        channels = tuple(int(c) for c in args.channels.split(","))
    except ValueError:
        raise CliError(f"--channels {args.channels!r}: give comma-separated integers such as 32,64,96,128") from None
    h, w = parse_height_width(args.resolution)
    factor = 2 ** (len(channels) - 1)
    if h % factor or w % factor:
        raise CliError(f"--resolution {args.resolution}: both sides must divide by {factor} for {len(channels)} levels "
                       "(e.g. 128x72, 256x144)")
    for name in ("max_steps", "batch_size", "gradient_accumulation", "log_every"):
        if getattr(args, name) < 1:
            raise CliError(f"--{name.replace('_', '-')} must be at least 1")
    return TrainConfig(
        resolution=(h, w), class_set=args.classes, block_out_channels=channels, layers_per_block=args.layers_per_block,
        max_steps=args.max_steps, batch_size=args.batch_size, learning_rate=args.lr,
        lr_schedule=args.lr_schedule, warmup_steps=max(0, args.warmup_steps),
        gradient_accumulation_steps=args.gradient_accumulation,
        class_weighting=args.class_weighting, mask_dropout=args.mask_dropout, prediction_type=args.prediction,
        mixed_precision=args.mixed_precision,
        checkpoint_every=args.checkpoint_every, sample_every=args.sample_every, seed=args.seed, device=args.device,
        log_every=args.log_every,
    )


def run(args: argparse.Namespace) -> int:
    from engine.cli.progress import tqdm_context
    from engine.training import train_synthesis

    from engine.safety import Read, Write, check_writes

    config = build_config(args)  # bad options first: they need no file system
    check_writes([Write(args.out, "folder", "model folder")], [Read(args.data, "training data")])
    main_process = int(os.environ.get("RANK", "0")) == 0   # under accelerate launch: one bar, one summary
    ctx, bar = tqdm_context("train-model", disable=args.quiet or not main_process)
    try:
        result = train_synthesis(args.data, args.out, config, resume=args.resume, ctx=ctx)
    finally:
        bar.close()
    if not args.quiet and main_process:
        print(f"model at step {result.step} written to {result.model_dir} (last loss {result.last_loss:.4f})")
        if result.sample_grids:
            print(f"latest sample grid: {result.sample_grids[-1]}")
    return 0
