"""`cadis merge PROJECT... --out MERGED`: the team's projects merged into one; different versions of a frame
are all kept and the frame is flagged with a proposed label."""
from __future__ import annotations

import argparse

from engine.cli import CliError
from engine.cli.progress import tqdm_context
from engine.project import ProjectError
from engine.safety import Read, Write, check_writes

NAME = "merge"
HELP = "merge annotators' projects of one dataset: labels, statuses, notes and pairs; disputes kept for review"
DESCRIPTION = (HELP + ". MERGED is created for the dataset if new, or an existing project of the same dataset. "
               "A frame labelled differently by two or more annotators keeps every version, gets a proposed "
               "label (majority vote for three or more) and is flagged for review. Merging again changes "
               "nothing that was already merged.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("projects", nargs="+", metavar="PROJECT", help="the annotators' project folders")
    parser.add_argument("--out", required=True, metavar="MERGED", help="the merged project folder (new or existing)")
    parser.add_argument("--dataset", default=None, metavar="DATA",
                        help="the dataset the merge is for (default: the first project's); others are refused")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from engine.team import merge_projects

    check_writes([Write(args.out, "project", "merged project")], [Read(p, "project") for p in args.projects])
    ctx, bar = tqdm_context("merge", disable=args.no_progress)
    try:
        result = merge_projects(args.projects, args.out, dataset=args.dataset, ctx=ctx)
    except ProjectError as exc:
        raise CliError(str(exc)) from None
    finally:
        bar.close()
    print(result.summary())
    for key in result.disputed[:20]:
        print(f"  disputed: {key}")
    if len(result.disputed) > 20:
        print(f"  ... and {len(result.disputed) - 20} more (open the merged project to review them)")
    return 0
