"""`cadis propagate DATA --from FRAME[,FRAME...] [--to FRAME | --until-labelled] --out-dir DIR`."""
from __future__ import annotations

import argparse

NAME = "propagate"
HELP = "carry the whole label map of labelled frames to the frames before, between and after them (optical flow)"
DESCRIPTION = " ".join((
    "Propagate the labels of the --from frames of one video of the CaDIS-layout dataset DATA to other frames of",
    "that video: up to --to, forward until the next labelled frame (--until-labelled), or, with neither, to the",
    "frames between the --from frames. Every class at once, with a per-pixel confidence.",
    "Writes proposals to DIR/VideoKK/Labels/, confidences (x255) to DIR/VideoKK/Confidence/ and DIR/propagation.json;",
    "DATA is only read. A chain stops at the first frame whose mean confidence falls below --min-confidence and says",
    "why. Frames are named Video1_frame000090 or 1:90. With --sam DIR (a SAM 2 folder with the video model's weights)",
    "SAM 2 tracks each class region of the key frames as an object instead of optical flow.",
))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from engine.propagate.chain import DEFAULT_MIN_CONFIDENCE

    parser.add_argument("data", metavar="DATA", help="CaDIS-layout dataset (e.g. made by cadis import-video)")
    parser.add_argument("--from", dest="from_frames", required=True, metavar="FRAME[,FRAME...]",
                        help="labelled frame(s) to start from")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--to", default=None, metavar="FRAME", help="propagate up to this frame (before or after)")
    target.add_argument("--until-labelled", action="store_true",
                        help="from each --from frame forward up to the next frame that has a label")
    parser.add_argument("--out-dir", required=True, metavar="DIR", help="folder for the proposals (new, empty, or an "
                                                                        "earlier propagation output)")
    parser.add_argument("--report", default=None, metavar="FILE.json", help="also write the report here")
    parser.add_argument("--min-confidence", type=float, default=DEFAULT_MIN_CONFIDENCE,
                        help=f"stop a chain at a frame whose mean confidence is below this (default "
                             f"{DEFAULT_MIN_CONFIDENCE})")
    parser.add_argument("--sam", default=None, metavar="DIR",
                        help="propagate with this SAM 2 folder's video model (each class of the key frames an object) "
                             "instead of optical flow")
    parser.add_argument("--device", default="auto", help="for --sam: auto, cpu or cuda (default auto)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from engine.cli.progress import tqdm_context
    from engine.propagate.job import run_propagation

    frames = [f for f in args.from_frames.split(",") if f.strip()]
    propagator = None
    if args.sam:
        from engine.segment.video import Sam2Propagator

        propagator = Sam2Propagator.open(args.sam, args.device)
    ctx, bar = tqdm_context("propagate", disable=args.quiet)
    try:
        report = run_propagation(args.data, frames, args.out_dir, to=args.to, until_labelled=args.until_labelled,
                                 min_confidence=args.min_confidence, report_path=args.report, ctx=ctx,
                                 propagator=propagator)
    finally:
        bar.close()
    for line in report["stopped"]:
        print(f"cadis propagate: {line}")
    if not args.quiet:
        print(f"propagated {len(report['frames'])} frames to {args.out_dir} "
              f"({report['seconds_per_frame']:.2f} s per frame)")
    return 0
