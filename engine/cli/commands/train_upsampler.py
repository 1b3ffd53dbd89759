"""`cadis train-upsampler DATA --model MODEL --out NEW`: the full-resolution stage, trained on DATA's frames."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

NAME = "train-upsampler"
HELP = "train the mask-conditioned upsampler (full-resolution stage) on your frames at their own size"
DESCRIPTION = (
    "Trains a MaskUpsampler2DModel on the labelled frames of DATA (a CaDIS dataset, project or folder; the "
    "train split) at their own resolution, for the diffusion UNet of MODEL (its class set and working size), and "
    "writes NEW as a pipeline folder (MODEL's UNet and schedule + the new upsampler). Runs on accelerate (CPU, "
    "one or several GPUs with `accelerate launch --num_processes N`: each process trains on its share of the frames, "
    "--batch-size crops each per step); run it again with --resume to continue from the last checkpoint.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", type=Path, metavar="DATA", help="dataset, project or folder with labelled frames")
    parser.add_argument("--model", type=Path, default=None, help="synthesis model folder (default: the starter model)")
    parser.add_argument("--out", type=Path, required=True, help="pipeline folder to write")
    parser.add_argument("--max-steps", type=int, default=2000)
    parser.add_argument("--max-minutes", type=float, default=0.0, help="stop after this long (0: no limit)")
    parser.add_argument("--batch-size", type=int, default=8, help="crops per step and process (8)")
    parser.add_argument("--crop", type=int, default=128, help="training crop side in pixels (128)")
    parser.add_argument("--save-every", type=int, default=200, help="checkpoint and model folder every N steps")
    parser.add_argument("--resume", action="store_true", help="continue the run in OUT/upsampler-run")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from engine.cli import CliError
    from engine.cli.progress import tqdm_context
    from engine.models.model_dir import starter_model_dir
    from engine.pipelines import SynthesisPipeline
    from engine.pipelines.folder import load_upsampler, save_half
    from engine.safety import Read, Write, check_writes
    from engine.training.train_upsampler import UpsamplerTrainConfig, load_training_pairs, train_upsampler

    for name in ("max_steps", "batch_size", "save_every"):
        if getattr(args, name) < 1:
            raise CliError(f"--{name.replace('_', '-')} must be at least 1")
    model_dir = args.model or starter_model_dir()
    check_writes([Write(args.out, "folder", "pipeline folder")],
                 [Read(args.data, "training data"), Read(model_dir, "model")])
    pipe = SynthesisPipeline.from_pretrained(model_dir, device="cpu")
    pairs = load_training_pairs(args.data)
    if not pairs:
        raise CliError(f"{args.data} has no labelled frames in its train split")
    cfg = UpsamplerTrainConfig(low_res=pipe.size, class_set=pipe.class_set, max_steps=args.max_steps,
                               max_minutes=args.max_minutes, batch_size=args.batch_size, crop=args.crop,
                               save_every=args.save_every, device=args.device)
    run_dir = args.out / "upsampler-run"
    main_process = int(os.environ.get("RANK", "0")) == 0   # under accelerate launch: one bar, one folder
    ctx, bar = tqdm_context("train-upsampler", disable=args.quiet or not main_process)
    try:
        res = train_upsampler(pairs, run_dir, cfg, resume=args.resume, ctx=ctx)
    finally:
        bar.close()
    if not main_process:
        return 0
    full = SynthesisPipeline(pipe.unet, pipe.scheduler, load_upsampler(run_dir))
    card = {k: v for k, v in pipe.card.items() if k not in ("weights_sha256", "note")}
    card.update(upsampler_steps=res.step, upsampler_frames=len(pairs), upsampler_data=str(args.data))
    save_half(full, args.out, card=card)
    where = f"continued from step {res.start_step} to" if res.start_step else "trained to"
    print(f"upsampler {where} step {res.step} ({res.minutes:.1f} min, last L1 {res.last_loss:.4f}); "
          f"pipeline folder {args.out}")
    return 0
