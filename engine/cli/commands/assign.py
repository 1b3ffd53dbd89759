"""`cadis assign DATA --annotators ana,ben,chen [--overlap 10%] [--by video|frame] --out DIR`: one work
package per annotator (a frame list and a project of the same dataset; frames are never copied)."""
from __future__ import annotations

import argparse

from engine.cli import CliError
from engine.cli.progress import tqdm_context
from engine.project import ProjectError
from engine.safety import Read, Write, check_writes

NAME = "assign"
HELP = "split a dataset into work packages, one per annotator, with an overlap set everyone labels"
DESCRIPTION = (HELP + ". Writes OUT/<name>.frames.txt and OUT/<name>.cadis-project for each annotator and "
               "OUT/team.json. Opening a package lists only its frames; every label saved in it records the "
               "annotator. Merge the packages afterwards with `cadis merge`.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", metavar="DATA", help="the CaDIS dataset root or folder of frames")
    parser.add_argument("--annotators", required=True, help="comma-separated names, e.g. ana,ben,chen")
    parser.add_argument("--overlap", default="10%",
                        help="frames every annotator labels: a share (10%%, 0.1) or a number of frames (default 10%%)")
    parser.add_argument("--by", choices=("frame", "video"), default="frame",
                        help="split the other frames frame by frame (default) or whole videos per annotator")
    parser.add_argument("--seed", type=int, default=0, help="which frames form the overlap set (default 0)")
    parser.add_argument("--out", required=True, metavar="DIR", help="a new or empty folder for the packages")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from engine.team import assign

    check_writes([Write(args.out, "folder", "packages folder")], [Read(args.data, "dataset")])
    ctx, bar = tqdm_context("assign", disable=args.no_progress)
    try:
        result = assign(args.data, args.annotators, args.out, overlap=args.overlap, by=args.by, seed=args.seed,
                        ctx=ctx)
    except ProjectError as exc:
        raise CliError(str(exc)) from None
    finally:
        bar.close()
    print(result.summary())
    return 0
