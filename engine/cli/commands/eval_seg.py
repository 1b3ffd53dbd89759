"""`cadis eval-seg PRED_DIR GT_DIR [--experiment {1,2,3}] [--json]`: mIoU the CaDIS-literature way."""
from __future__ import annotations

import argparse
import json
import math
import sys

from engine.metrics.seg import evaluate_dirs

NAME = "eval-seg"
HELP = "per-class IoU and mIoU of predicted label PNGs against ground truth"
DESCRIPTION = (HELP + ". Intersections and unions are summed over all frames, 255 is ignored, classes absent "
               "from both sides are not counted. Files are matched by relative path, else by file name; "
               "GT_DIR may be a CaDIS dataset root.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pred_dir", metavar="PRED_DIR", help="folder of predicted label PNGs (original IDs)")
    parser.add_argument("gt_dir", metavar="GT_DIR", help="folder of ground-truth label PNGs, or a CaDIS root")
    parser.add_argument("--experiment", choices=("1", "2", "3"), default=None,
                        help="remap both sides to this benchmark class set first (default: all 36 classes)")
    parser.add_argument("--pred-remapped", action="store_true",
                        help="predictions already hold the experiment's class IDs (do not remap them)")
    parser.add_argument("--json", action="store_true", help="print one JSON object with miou and per_class")


def _fmt(v: float | None) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"


def run(args: argparse.Namespace) -> int:
    result = evaluate_dirs(args.pred_dir, args.gt_dir, experiment=args.experiment,
                           remap_pred=not args.pred_remapped)
    for p in result["problems"]:
        print(f"problem {p['path']}: {p['reason']}", file=sys.stderr)
    if args.json:
        out = dict(result)
        if math.isnan(out["miou"]):
            out["miou"] = None
        print(json.dumps(out))
        return 0
    width = max(len(n) for n in result["per_class"])
    print(f"{'class':<{width}}  IoU")
    for name, iou in result["per_class"].items():
        print(f"{name:<{width}}  {_fmt(iou)}")
    print(f"{'mIoU':<{width}}  {_fmt(result['miou'])}  over {sum(v is not None for v in result['per_class'].values())}"
          f" classes, {result['frames']} frames")
    for key, what in (("unmatched_predictions", "predictions without ground truth"),
                      ("unmatched_ground_truth", "ground-truth labels without prediction")):
        if result[key]:
            print(f"note: {result[key]} {what} (not evaluated)", file=sys.stderr)
    return 0
