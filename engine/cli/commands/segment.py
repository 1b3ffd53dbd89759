"""`cadis segment --sam DIR IMAGE (--point X,Y[,+|-] ... | --box X0,Y0,X1,Y1 | --text NAME) --class ID --out MASK.png`.

Segments a structure with a SAM, SAM 2 or SAM 3 folder through `engine.segment.segment_frame` (or
`find_in_frame` for --text, every instance of a name), the same entries as the app's Segment tool and Find…,
and writes a label PNG at the image's size: the mask in class ID, over `--label` (an existing label, under the
paint rules) or over an unlabelled frame.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from engine.cli import CliError
from engine.device import DEVICE_HELP
from engine.edits import PaintPolicy
from engine.imageio import read_image, read_label, write_label
from engine.safety import Read, Write, check_writes
from engine.taxonomy import CLASS_NAMES, IGNORE, NUM_CLASSES

NAME = "segment"
HELP = "segment a structure from points, a box or its name with a SAM, SAM 2 or SAM 3 model folder"
DESCRIPTION = (HELP + ". Writes a label PNG of the image's size: the mask in --class, the rest unlabelled "
               "(255) or taken from --label. --text finds every instance of a name with a SAM 3 folder.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", metavar="IMAGE", help="the frame (PNG or JPEG)")
    parser.add_argument("--sam", required=True, metavar="DIR",
                        help="SAM / SAM 2 / SAM 3 folder: config.json, model.safetensors, processor config")
    how = parser.add_mutually_exclusive_group(required=True)
    how.add_argument("--point", action="append", metavar="X,Y[,+|-]",
                     help="a point on (+, the default) or off (-) the structure; repeat for more")
    how.add_argument("--box", metavar="X0,Y0,X1,Y1", help="a box around the structure (pixels, exclusive ends)")
    how.add_argument("--text", metavar="NAME", help="a class name to find: every instance (SAM 3 folders with "
                     "the text encoder, model_type sam3)")
    parser.add_argument("--class", dest="cls", required=True, type=int, metavar="ID", help="CaDIS class ID 0..35")
    parser.add_argument("--out", required=True, metavar="MASK.png", help="the label PNG to write")
    parser.add_argument("--label", metavar="LABEL.png", help="an existing label to paint into (default: unlabelled)")
    parser.add_argument("--paint", default="over_unlabelled", choices=("over_unlabelled", "everywhere", "over_class"),
                        help="which existing pixels the mask may overwrite (default over_unlabelled)")
    parser.add_argument("--over", type=int, metavar="ID", help="the class --paint over_class may overwrite")
    parser.add_argument("--locked", default="", metavar="IDS", help="comma-separated classes never overwritten")
    parser.add_argument("--choice", type=int, default=0, metavar="N",
                        help="which of the model's masks, best score first (default 0)")
    parser.add_argument("--synonyms", default="", metavar="A,B", help="more names for --text (e.g. cannula,forceps)")
    parser.add_argument("--threshold", type=float, default=0.3, metavar="S",
                        help="the score an instance needs for --text (0..1, default 0.3)")
    parser.add_argument("--device", default="auto", help=DEVICE_HELP)


def run(args: argparse.Namespace) -> int:
    from engine.segment import Prompt, Segmenter, find_in_frame, parse_box, parse_point, segment_frame, union

    if not 0 <= args.cls < NUM_CLASSES:
        raise CliError(f"--class {args.cls} is not a CaDIS class ID (0..{NUM_CLASSES - 1})")
    policy = PaintPolicy(args.paint, target=args.over, locked=frozenset(_ids(args.locked)))
    prompt = None if args.text is not None else (
        Prompt(points=tuple(parse_point(p) for p in args.point)) if args.point else Prompt(box=parse_box(args.box)))
    reads = [Read(args.image, "IMAGE"), Read(args.sam, "--sam")] + ([Read(args.label, "--label")] if args.label else [])
    check_writes([Write(args.out, what="--out")], reads)
    if Path(args.out).is_dir():
        raise CliError(f"{args.out} is a folder; give the output file name")
    image = read_image(args.image)
    label = read_label(args.label) if args.label else np.full(image.shape[:2], IGNORE, np.uint8)
    if label.shape != image.shape[:2]:
        raise CliError(f"--label is {label.shape[1]}x{label.shape[0]} but the image is {image.shape[1]}x{image.shape[0]}")
    if prompt is not None:
        prompt.check(*image.shape[:2])
    segmenter = Segmenter.open(args.sam, args.device)
    if prompt is None:
        result = find_in_frame(segmenter, image, label, [args.text] + _synonyms(args.synonyms), args.cls, policy,
                               str(args.image), args.threshold)
        mask = union(result.candidates, label.shape)
        what = f"{len(result.candidates)} instance(s) of {args.text!r} (score >= {args.threshold})"
    else:
        result = segment_frame(segmenter, image, label, prompt, args.cls, policy, args.choice, frame=str(args.image))
        mask = result.candidates.masks[result.choice]
        what = f"mask {result.choice} of {len(result.candidates)} (score {result.candidates.scores[result.choice]:.3f})"
    write_label(args.out, label)
    written = 0 if result.record is None else int((result.record.after != result.record.before).sum())
    print(f"{segmenter.model.name}: {what}, {int(mask.sum())} pixels, {written} written as {CLASS_NAMES[args.cls]} "
          f"-> {args.out}", file=sys.stderr)
    return 0


def _synonyms(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _ids(text: str) -> list[int]:
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if not part.isdigit() or not 0 <= int(part) < NUM_CLASSES:
            raise CliError(f"--locked {text!r}: give class IDs 0..{NUM_CLASSES - 1} separated by commas")
        out.append(int(part))
    return out
