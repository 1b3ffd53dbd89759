"""`cadis remap LABEL_IN LABEL_OUT --experiment {1,2,3}`: remap one label to an experiment's classes."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from engine.cli import CliError
from engine.histogram import label_histogram
from engine.imageio import read_label, write_label
from engine.safety import Read, Write, check_writes
from engine.taxonomy import IGNORE, NUM_CLASSES, get_class_set

NAME = "remap"
HELP = "remap a label PNG (original CaDIS IDs) to the class IDs of experiment 1, 2 or 3"
DESCRIPTION = (HELP + ". Ignored classes become 255. The input must hold IDs 0..35 (or 255); the output is "
               "written atomically as a single-channel PNG.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("label_in", metavar="LABEL_IN", help="label PNG with original CaDIS IDs 0..35")
    parser.add_argument("label_out", metavar="LABEL_OUT", help="where to write the remapped label PNG")
    parser.add_argument("--experiment", required=True, choices=("1", "2", "3"), help="benchmark class set")


def run(args: argparse.Namespace) -> int:
    src = Path(args.label_in)
    if not src.is_file():
        raise CliError(f"{src} is not a file")
    check_writes([Write(args.label_out, what="LABEL_OUT")], [Read(src, "LABEL_IN")])
    label = read_label(src)
    hist = label_histogram(label)
    bad = [i for i in np.flatnonzero(hist) if i >= NUM_CLASSES and i != IGNORE]
    if bad:
        raise CliError(f"{src} has class IDs outside 0..{NUM_CLASSES - 1}: {', '.join(map(str, bad[:12]))}")
    out = get_class_set(args.experiment).remap(label)
    dst = Path(args.label_out)
    if dst.is_dir():
        raise CliError(f"{dst} is a folder; give the output file name")
    write_label(dst, out)
    return 0
