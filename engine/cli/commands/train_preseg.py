"""`cadis train-preseg`: train a pre-segmentation head on a diffusion model's features.

    cadis train-preseg --model MODEL_DIR --data PROJECT_OR_DATASET [--frames FILE_LIST]
                       [--classes full|1|2|3] --out HEAD_DIR [--members 10] [--device auto|cpu|cuda]

Without --frames, all labelled frames of a dataset (or all done frames of a project) are used.
"""
from __future__ import annotations

import argparse
import sys

from engine.cli import CliError

NAME = "train-preseg"
HELP = "train a pixel-MLP ensemble on diffusion features of a few labelled frames"
DESCRIPTION = (HELP + ". The head is saved as safetensors + JSON and only runs on features of the "
               "diffusion model it was trained on.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="MODEL_DIR", help="diffusion (synthesis) model folder")
    parser.add_argument("--data", required=True, metavar="PROJECT_OR_DATASET",
                        help="CaDIS dataset root (labelled frames) or project folder (done frames)")
    parser.add_argument("--frames", metavar="FILE_LIST", default=None,
                        help="text file, one frame a line (Video01/Images/Video1_frame000090.png)")
    parser.add_argument("--classes", choices=("full", "1", "2", "3"), default="full",
                        help="class set: all 36 classes or benchmark experiment 1/2/3 (default full)")
    parser.add_argument("--out", required=True, metavar="HEAD_DIR", help="folder to write the head to")
    parser.add_argument("--members", type=int, default=10, help="ensemble members (default 10)")
    parser.add_argument("--timesteps", default=None, help="comma-separated noise timesteps (default 50)")
    parser.add_argument("--blocks", default=None,
                        help="comma-separated decoder block indices, negative ones counting from the finest, "
                             "or 'all' (default -3,-2,-1: the three finest)")
    parser.add_argument("--no-rgb", action="store_true", help="diffusion features only, without the pixel's colour")
    parser.add_argument("--area-gate", type=float, default=0.5, metavar="G",
                        help="default for preseg: drop a class proposed over less than G x its smallest area in "
                             "the training labels (default 0.5; 0 keeps every class)")
    parser.add_argument("--pixels-per-frame", type=int, default=6000,
                        help="class-balanced training pixels kept per frame (default 6000)")
    parser.add_argument("--max-epochs", type=int, default=30, help="epoch limit per member (early stopping)")
    parser.add_argument("--seed", type=int, default=0, help="noise and training seed (default 0)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from engine.cli.progress import tqdm_context
    from engine.device import pick_device
    from engine.preseg import (
        DEFAULT_BLOCKS, DEFAULT_TIMESTEPS, EnsembleSettings, FeatureConfig, PresegSettings, train_preseg, training_frames,
    )
    from engine.preseg.features import parse_ints

    if args.members < 1:
        raise CliError("--members must be at least 1")
    if args.pixels_per_frame < 1:
        raise CliError("--pixels-per-frame must be at least 1")
    if args.area_gate < 0:
        raise CliError("--area-gate must be 0 or more")
    try:
        blocks = None if (args.blocks or "").strip().lower() == "all" else (parse_ints(args.blocks) or DEFAULT_BLOCKS)
        timesteps = parse_ints(args.timesteps) or DEFAULT_TIMESTEPS
    except ValueError as exc:
        raise CliError(f"--blocks/--timesteps: {exc}") from None
    from engine.safety import Read, Write, check_writes

    check_writes([Write(args.out, "folder", "head folder")],
                 [Read(args.model, "model folder"), Read(args.data, "training data"), Read(args.frames, "frame list")])
    problems: list = []
    frames = training_frames(args.data, args.frames, problems)
    for problem in problems:
        print(f"problem {problem.path}: {problem.reason}", file=sys.stderr)
    settings = PresegSettings(
        features=FeatureConfig(timesteps=timesteps, blocks=blocks, seed=args.seed, include_rgb=not args.no_rgb),
        ensemble=EnsembleSettings(members=args.members, max_epochs=args.max_epochs, seed=args.seed),
        pixels_per_frame=args.pixels_per_frame, seed=args.seed, area_gate=args.area_gate,
    )
    device = pick_device(args.device)
    ctx, bar = tqdm_context("train-preseg", disable=args.quiet)
    try:
        head = train_preseg(args.model, frames, args.classes, args.out, settings, device=str(device), ctx=ctx)
    finally:
        bar.close()
    m = head.meta
    print(f"head for class set {head.class_set.key} ({head.class_set.num_classes} classes) trained on "
          f"{len(frames)} frames, {m['training_pixels']} pixels x {m['feature_channels']} features; "
          f"saved to {args.out}")
    return 0
