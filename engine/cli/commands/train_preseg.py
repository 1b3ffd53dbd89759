"""`cadis train-preseg`: train a pre-segmentation head on a diffusion model's features.

    cadis train-preseg --model MODEL_DIR --data PROJECT_OR_DATASET [--frames FILE_LIST]
                       [--classes full|1|2|3] --out HEAD_DIR [--head-kind conv|pixel-mlp] [--members N]
                       [--device auto|cpu|cuda] [--replace]

A head belongs to the data it was trained from: a head of another project in --out is never written over
unless --replace is given. Fewer labelled frames than the head needs print a warning.

Without --frames, all labelled frames of a dataset (or all done frames of a project) are used.
"""
from __future__ import annotations

import argparse
import sys

from engine.cli import CliError

NAME = "train-preseg"
HELP = "train a pre-segmentation head (ensemble) on diffusion features of a few labelled frames"
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
    parser.add_argument("--head-kind", choices=("conv", "pixel-mlp"), default=None,
                        help="pixel-mlp: the reference's per-pixel MLPs (default); conv: small convolutional "
                             "members over the feature maps")
    parser.add_argument("--members", type=int, default=None, help="ensemble members (default 5 pixel-mlp, 4 conv)")
    parser.add_argument("--steps", type=int, default=None, help="training steps per conv member (default 200)")
    parser.add_argument("--timesteps", default=None, help="comma-separated noise timesteps (default 50)")
    parser.add_argument("--blocks", default=None,
                        help="comma-separated decoder block indices, negative ones counting from the finest, "
                             "or 'all' (default -3,-2,-1: the three finest)")
    parser.add_argument("--no-rgb", action="store_true", help="diffusion features only, without the pixel's colour")
    parser.add_argument("--no-image-filters", action="store_true",
                        help="without the image-filter channels (fine structure from the frame itself)")
    parser.add_argument("--augment-copies", type=int, default=None, metavar="N",
                        help="jittered copies of every labelled frame to train on too (default: "
                             "the engine's, PresegSettings.augment_copies; 0 = none)")
    parser.add_argument("--area-gate", type=float, default=0.5, metavar="G",
                        help="default for preseg: drop a class proposed over less than G x its smallest area in "
                             "the training labels (default 0.5; 0 keeps every class)")
    parser.add_argument("--pixels-per-frame", type=int, default=4000,
                        help="pixel-mlp: class-balanced training pixels kept per frame (default 4000)")
    parser.add_argument("--max-epochs", type=int, default=15,
                        help="pixel-mlp: epoch limit per member (early stopping; default 15)")
    parser.add_argument("--seed", type=int, default=0, help="noise and training seed (default 0)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--replace", action="store_true",
                        help="replace a head of another project (or of an unknown owner) in --out; without it "
                             "such a head is never written over")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from engine.cli.progress import tqdm_context

    from engine.preseg import DEFAULT_BLOCKS, DEFAULT_TIMESTEPS, ConvSettings, EnsembleSettings, PresegSettings
    from engine.services.preseg import TrainRequest, train, training_frames
    from engine.preseg.features import parse_ints

    if args.members is not None and args.members < 1:
        raise CliError("--members must be at least 1")
    if args.steps is not None and args.steps < 1:
        raise CliError("--steps must be at least 1")
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
    defaults = PresegSettings()
    ens = EnsembleSettings(max_epochs=args.max_epochs, seed=args.seed)
    conv = ConvSettings(seed=args.seed)
    if args.members is not None:
        ens, conv = replace(ens, members=args.members), replace(conv, members=args.members)
    if args.steps is not None:
        conv = replace(conv, steps=args.steps)
    if args.augment_copies is not None and args.augment_copies < 0:
        print("cadis train-preseg: --augment-copies must be 0 or more", file=sys.stderr)
        return 2
    features = replace(defaults.features, timesteps=timesteps, blocks=blocks, seed=args.seed,
                       include_rgb=not args.no_rgb, image_filters=defaults.features.image_filters and not args.no_image_filters)
    settings = PresegSettings(
        features=features, head=args.head_kind or defaults.head, ensemble=ens, conv=conv,
        pixels_per_frame=args.pixels_per_frame, seed=args.seed, area_gate=args.area_gate,
        augment_copies=defaults.augment_copies if args.augment_copies is None else args.augment_copies,
    )
    from engine.preseg import HeadOwnershipError, check_head_target, few_frames_warning

    try:
        check_head_target(args.out, args.data, args.replace)  # before the frames are read or the model loads
    except HeadOwnershipError as exc:
        raise CliError(str(exc)) from None
    warning = few_frames_warning(len(frames))
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    ctx, bar = tqdm_context("train-preseg", disable=args.quiet)
    try:
        head = train(ctx, TrainRequest(args.model, args.out, args.classes, settings, args.device, args.data,
                                       args.replace), frames)
    finally:
        bar.close()
    m = head.meta
    print(f"{head.kind} head for class set {head.class_set.key} ({head.class_set.num_classes} classes) trained on "
          f"{len(frames)} frames, {m['training_pixels']} pixels x {m['feature_channels']} features; "
          f"saved to {args.out}")
    return 0
