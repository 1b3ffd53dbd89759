"""`cadis phantom OUT_DIR`: write a procedural sample dataset in the CaDIS layout."""
from __future__ import annotations

import argparse

NAME = "phantom"
HELP = "generate a procedural phantom sample dataset in the CaDIS layout"
DESCRIPTION = (
    "Write a deterministic cartoon cataract-surgery dataset (exact labels, real CaDIS file layout) to OUT_DIR. "
    "The same --seed always gives byte-identical files. OUT_DIR must be empty, new, or a previous phantom output."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", metavar="OUT_DIR", help="folder to write (created if missing)")
    parser.add_argument("--videos", type=int, default=3, help="number of videos, 1..99 (default 3)")
    parser.add_argument("--frames-per-video", type=int, default=8, help="frames per video (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--width", type=int, default=960, help="frame width in pixels (default 960)")
    parser.add_argument("--height", type=int, default=540, help="frame height in pixels (default 540)")
    parser.add_argument("--style", choices=("plain", "realistic"), default="plain",
                        help="plain cartoon, or realistic: per-video exposure, white balance, tissue colour, blur, "
                             "noise, JPEG artefacts and specular highlights on top (same labels; default plain)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from engine.cli.progress import tqdm_context
    from engine.phantom import generate_dataset
    from engine.phantom.dataset import check_request

    from engine.safety import Write, check_writes

    check_writes([Write(args.out_dir, "folder", "phantom folder")], [])
    check_request(args.out_dir, args.videos, args.frames_per_video, args.seed, width=args.width,
                  height=args.height)  # refuse before the progress bar appears
    ctx, bar = tqdm_context("phantom", disable=args.quiet)
    try:
        paths = generate_dataset(args.out_dir, videos=args.videos, frames_per_video=args.frames_per_video,
                                 seed=args.seed, ctx=ctx, width=args.width, height=args.height,
                                 style=args.style)
    finally:
        bar.close()
    if not args.quiet:
        print(f"wrote {len(paths)} frames ({args.videos} videos) to {args.out_dir}")
    return 0
