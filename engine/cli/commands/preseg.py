"""`cadis preseg`: propose labels for frames with a trained pre-segmentation head.

    cadis preseg --model MODEL_DIR --head HEAD_DIR IMAGE_OR_DIR... --out-dir DIR [--uncertainty]

Writes one CaDIS-style label PNG per image, with the image's file name and at the image's own size.
Label IDs: for a head of the full class set these are the ORIGINAL CaDIS IDs 0..35; for a head of a
merged class set (experiment 1/2/3) they are that experiment's class-set IDs (e.g. 7 = Instrument in
experiment 1) -- evaluate them with `cadis eval-seg --experiment N --pred-remapped`. The choice is
recorded in DIR/preseg.json. With --uncertainty, NAME.uncertainty.png is a grey map of the per-pixel
Jensen-Shannon divergence across the ensemble (0 = all members agree, 255 = largest possible).
Images under a folder keep their relative paths below DIR.

With --report FILE.json, the file lists every frame's uncertainty (frame score), distribution-shift score
(1.0 = at the limit), the respect that decides it and whether it is out of distribution:
{"frames": [{"image": NAME, "uncertainty": u, "shift": s, "shift_part": "features" | "colour" | "balance" | "sharpness",
"out_of_distribution": bool}, ...]}. Frames out of distribution are also named in a warning on stderr:
the head was not made for them and their proposals deserve little trust.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.cli import CliError

NAME = "preseg"
HELP = "pre-segment frames with a trained head: label PNGs (+ uncertainty maps)"
DESCRIPTION = HELP + "."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="MODEL_DIR", help="diffusion model folder")
    parser.add_argument("--head", required=True, metavar="HEAD_DIR", help="head folder from train-preseg")
    parser.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR", help="image files or folders of images")
    parser.add_argument("--out-dir", required=True, metavar="DIR", help="where to write the label PNGs")
    parser.add_argument("--uncertainty", action="store_true", help="also write NAME.uncertainty.png grey maps")
    parser.add_argument("--area-gate", type=float, default=None, metavar="G",
                        help="drop a class proposed over less than G x its smallest area in the training labels "
                             "(default: the head's, 0.5; 0 keeps every class)")
    parser.add_argument("--report", metavar="FILE.json", default=None,
                        help="write per-frame uncertainty, shift score and out-of-distribution flag to this file")
    parser.add_argument("--flip-average", action="store_true",
                        help="also classify the mirrored frame and average (slower)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _targets(inputs: list[str]) -> list[tuple[Path, Path]]:
    """(image path, output path relative to DIR) for every input image; entries that cannot be listed
    (link loops, unreadable folders) are reported on stderr and skipped."""
    import sys

    from engine.preseg import image_paths

    out = []
    for item in inputs:
        p = Path(item)
        problems: list = []
        images = image_paths([p], problems)
        for problem in problems:
            print(f"problem {problem.path}: {problem.reason}", file=sys.stderr)
        for img in images:
            rel = img.relative_to(p) if p.is_dir() else Path(img.name)
            out.append((img, rel.with_suffix(".png")))
    return out


def run(args: argparse.Namespace) -> int:
    from engine.atomic import atomic_write_text
    from engine.cli.progress import tqdm_context
    from engine.imageio import read_image, write_label, write_png
    from engine.jobs import JobContext
    from engine.preseg import uncertainty_to_grey
    from engine.safety import Read, Write, check_writes
    from engine.services.preseg import PresegRequest, Presegmenters, propose

    targets = _targets(args.inputs)
    out_dir = Path(args.out_dir)
    check_writes([Write(out_dir, "folder", "--out-dir")],
                 [Read(p, "input") for p in args.inputs] + [Read(args.model, "model folder"),
                                                            Read(args.head, "head folder")])
    if args.report:
        check_writes([Write(args.report, what="--report")], [Read(p, "input") for p in args.inputs])
    if args.area_gate is not None and args.area_gate < 0:
        raise CliError("--area-gate must be 0 or more")
    request = PresegRequest(args.model, args.head, args.device, args.area_gate, bool(args.flip_average))
    heads = Presegmenters(cache_size=0)
    pre = heads.use(JobContext(), request, lambda pre: pre)  # model and head checked before the progress bar
    ctx, bar = tqdm_context("preseg", disable=args.quiet)
    scores = {}
    report = []
    try:
        for i, (img_path, rel) in enumerate(targets):
            ctx.check()
            res = propose(ctx.sub(i / len(targets), (i + 1) / len(targets)), heads, request, read_image(img_path),
                          rel.as_posix()).result  # the key names the video
            write_label(out_dir / rel, res.label)
            if args.uncertainty:
                grey = uncertainty_to_grey(res.uncertainty, pre.head.ensemble.num_members, res.class_set.num_classes)
                write_png(out_dir / rel.with_name(rel.stem + ".uncertainty.png"), grey)
            scores[rel.as_posix()] = round(res.score, 6)
            report.append({"image": rel.as_posix(), "uncertainty": round(res.score, 6), "shift": res.shift,
                           "shift_part": res.shift_part, "out_of_distribution": bool(res.out_of_distribution),
                           "warnings": list(res.warnings)})
            ctx.report((i + 1) / len(targets), img_path.name)
    finally:
        bar.close()
    cs = pre.head.class_set
    record = {
        "class_set": cs.key,
        "label_ids": "original CaDIS IDs" if cs.key == "full" else f"experiment {cs.key} class-set IDs",
        "class_names": list(cs.names),
        "head": str(Path(args.head).resolve()),
        "model_fingerprint": pre.head.model_fingerprint,
        "area_gate": pre.area_gate,
        "frame_uncertainty": scores,
    }
    atomic_write_text(out_dir / "preseg.json", json.dumps(record, indent=2))
    if args.report:
        atomic_write_text(Path(args.report), json.dumps({"frames": report}, indent=2))
    warned: dict[str, list[str]] = {}
    for r in report:
        for w in r["warnings"]:
            warned.setdefault(w, []).append(r["image"])
    for w, images in warned.items():  # every proposal's warnings, each said once with its frames
        shown = ", ".join(images[:5]) + (f" and {len(images) - 5} more" if len(images) > 5 else "")
        print(f"cadis preseg: warning: {w} ({len(images)} of {len(report)} frame(s): {shown})", file=sys.stderr)
    ood = [r["image"] for r in report if r["out_of_distribution"]]
    if ood:
        shown = ", ".join(ood[:10]) + (f" and {len(ood) - 10} more" if len(ood) > 10 else "")
        print(f"cadis preseg: warning: {len(ood)} of {len(report)} frame(s) are unlike the frames the head was "
              f"trained on (out of distribution), check their proposals with care: {shown}", file=sys.stderr)
    elif pre.head.shift is None:
        print("cadis preseg: note: this head was saved before shift statistics existed; it cannot tell when a "
              "frame is out of distribution (retrain it to get the check)", file=sys.stderr)
    print(f"{len(targets)} label(s) written to {out_dir} "
          f"({'original CaDIS IDs' if cs.key == 'full' else 'experiment ' + cs.key + ' IDs'})")
    return 0
