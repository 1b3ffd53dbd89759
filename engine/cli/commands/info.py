"""`cadis info DATASET_DIR [--json]`: counts, official split, class histogram and every problem found."""
from __future__ import annotations

import argparse
import json
import sys

from engine.cli import CliError
from engine.cli.progress import tqdm_context
from engine.dataset import NotCadisError, ValidationReport, open_dataset, validate
from engine.taxonomy import CLASS_NAMES, NUM_CLASSES

NAME = "info"
HELP = "check a CaDIS dataset or frame folder: counts, split, class histogram, every problem"
DESCRIPTION = (HELP + ". Decodes every file. Only valid image+label pairs are counted; every bad file is "
               "listed. Exit code 0 even when problems are found, unless --strict.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", metavar="DATASET_DIR", help="CaDIS root (holding Video01..) or a folder of frames")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--allow-ignore", action="store_true",
                        help="accept 255 (ignore) pixels in labels, e.g. in an export remapped to an experiment")
    parser.add_argument("--strict", action="store_true", help="exit with code 1 when any problem is found")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _print_text(root: str, report: ValidationReport) -> None:
    if report.kind == "folder":
        print(f"Dataset     {root} (folder of frames, no labels)")
        print(f"Frames      {report.unlabelled} readable images to annotate")
    else:
        print(f"Dataset     {root} (CaDIS layout)")
        print(f"Videos      {report.videos}")
        print(f"Frames      {report.frames} valid image+label pairs")
        print(f"Unlabelled  {report.unlabelled} readable images without a label")
        print("Split       " + "  ".join(f"{s} {n}" for s, n in report.splits.items() if n or s != "unassigned"))
    total = sum(report.class_pixels.values())
    if total:
        print("\nClass histogram (valid pairs)")
        print(f"  {'id':>3}  {'class':<34} {'pixels':>14} {'share':>8}")
        for cid, n in sorted(report.class_pixels.items()):
            name = CLASS_NAMES[cid] if cid < NUM_CLASSES else ("ignore" if cid == 255 else "?")
            print(f"  {cid:>3}  {name:<34} {n:>14,} {100.0 * n / total:>7.3f}%")
    print(f"\nProblems    {len(report.problems)}")
    for p in report.problems:
        print(f"  {p.path}: {p.reason}")


def run(args: argparse.Namespace) -> int:
    try:
        index = open_dataset(args.dataset)
    except NotCadisError as exc:
        raise CliError(str(exc)) from None
    disable = args.no_progress or not sys.stderr.isatty()
    ctx, bar = tqdm_context("checking", disable=disable)
    try:
        report = validate(index, ctx, allow_ignore=args.allow_ignore)
    finally:
        bar.close()
    if args.json:
        out = report.to_json()
        out["root"] = str(index.root)
        print(json.dumps(out))
    else:
        _print_text(str(index.root), report)
    return 1 if args.strict and report.problems else 0
