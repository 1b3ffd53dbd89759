"""How much a phantom label changes between video frames: label copy at gaps of 10, 30 and 90 frames.

The same measure as the real CaDIS figures in shared/cadis_reference.md: the label of frame f copied onto frame
f + gap, experiment-1 classes (0..6, instruments merged into 7), pixel accuracy and mIoU over the classes present
in either label; plus how far the pupil's centroid moves. Means over videos and start frames.

Run: ``python -m benchmarks.phantom_motion [--seed 0] [--videos 8] [--starts 6] [--motion surgery] [--width 480]``
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from engine.phantom import VideoRenderer

GAPS = (10, 30, 90)
REAL = {10: (0.87, 0.68), 30: (0.64, 0.36), 90: (0.70, 0.37)}  # shared/cadis_reference.md (90: the 40-90 row)


def exp1(label: np.ndarray) -> np.ndarray:
    return np.where(label >= 7, 7, label).astype(np.uint8)


def copy_scores(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(pixel accuracy, mIoU over the experiment-1 classes present in either) of label `a` copied onto `b`."""
    a, b = exp1(a), exp1(b)
    acc = float((a == b).mean())
    ious = []
    for c in np.union1d(np.unique(a), np.unique(b)):
        inter = np.count_nonzero((a == c) & (b == c))
        union = np.count_nonzero((a == c) | (b == c))
        ious.append(inter / union)
    return acc, float(np.mean(ious))


def pupil_centroid(label: np.ndarray) -> np.ndarray | None:
    ys, xs = np.nonzero(label == 0)
    return None if xs.size == 0 else np.array([xs.mean(), ys.mean()])


def measure(seed: int, videos: int, starts: int, motion: str, width: int, height: int) -> dict:
    rows = {g: [] for g in GAPS}
    for v in range(1, videos + 1):
        r = VideoRenderer(seed, v, width, height, motion=motion)
        for s in range(starts):
            f0 = 37 * s + 11 * v
            a = r.video_label(f0)
            for g in GAPS:
                b = r.video_label(f0 + g)
                acc, miou = copy_scores(a, b)
                ca, cb = pupil_centroid(a), pupil_centroid(b)
                move = float(np.hypot(*(cb - ca)) * 960 / width) if ca is not None and cb is not None else float("nan")
                rows[g].append((acc, miou, move))
    out = {}
    for g, vals in rows.items():
        arr = np.array(vals)
        out[g] = {"pixel_accuracy": float(arr[:, 0].mean()), "miou": float(arr[:, 1].mean()),
                  "acc_range": [float(arr[:, 0].min()), float(arr[:, 0].max())],
                  "pupil_move_px_960": [float(np.nanpercentile(arr[:, 2], 10)), float(np.nanpercentile(arr[:, 2], 90))],
                  "pairs": len(vals)}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--videos", type=int, default=8)
    p.add_argument("--starts", type=int, default=6)
    p.add_argument("--motion", default="surgery")
    p.add_argument("--width", type=int, default=480)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    res = measure(args.seed, args.videos, args.starts, args.motion, args.width, args.width * 9 // 16)
    print(f"phantom motion {args.motion}, seed {args.seed}, {args.videos} videos x {args.starts} starts, {args.width} px")
    print("gap | pixel acc (real) | mIoU (real) | acc range | pupil moves (10-90th pct, px at 960)")
    for g in GAPS:
        r = res[g]
        print(f"{g:3d} | {r['pixel_accuracy']:.3f} ({REAL[g][0]:.2f}) | {r['miou']:.3f} ({REAL[g][1]:.2f}) | "
              f"{r['acc_range'][0]:.2f}-{r['acc_range'][1]:.2f} | {r['pupil_move_px_960'][0]:.0f}-{r['pupil_move_px_960'][1]:.0f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"args": vars(args), "gaps": {str(k): v for k, v in res.items()}}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
