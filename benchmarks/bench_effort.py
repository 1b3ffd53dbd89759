"""The labelling-effort benchmark: how many actions a robot annotator needs to bring a frame to 98 % pixel
accuracy from each starting point, on phantom version-2 ("surgery" motion) videos.

Starts (the frame `gap` video frames after a labelled one):
- empty: nothing labelled;
- copy: the labelled frame's label copied;
- propagation: the labelled frame's label carried by `engine.propagate` (all pixels);
- propagation, confident: only the pixels with confidence >= 0.5 accepted (the app's "accept confident"),
  the rest left unlabelled.
The pre-segmentation proposal is not a start here (see docs/benchmarks/effort.md).

Per start and gap: experiment-1 mIoU and pixel accuracy of the start, robot actions (flood fills, polygons,
brush strokes; benchmarks/robot_annotator.py), painted pixels, actions as a share of the empty frame's; instruments
and retractors IoU separately. Means ± sample std over the cases.

Run: ``python -m benchmarks.bench_effort [--seeds 31 32 33] [--videos 1] [--styles plain realistic]
[--gaps 1 5 10 30 90] [--json FILE]``. Reported draws: seeds 41-43, used for nothing else (the phantom motion was
tuned on seeds 0 and 5, the robot's brush model on seeds 0 and 31-33).
"""
from __future__ import annotations

import argparse
import json
import time

import cv2
import numpy as np

from benchmarks.robot_annotator import correct
from benchmarks.video_cases import GAPS, cases, scores
from engine.taxonomy import IGNORE

STARTS = ("empty", "copy", "propagation", "propagation, confident")
MIN_CONFIDENCE = 0.5


def _starts(case, gap):
    key = case.frame(case.start)[1]
    label, conf = case.propagate(gap)
    confident = np.where(conf >= MIN_CONFIDENCE, label, IGNORE).astype(np.uint8)
    return {"empty": np.full_like(key, IGNORE), "copy": key, "propagation": label, "propagation, confident": confident}


def _ms(values) -> str:
    x = np.array(values, float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return "-"
    sd = float(np.std(x, ddof=1)) if x.size > 1 else 0.0
    return f"{x.mean():.3g} ± {sd:.2g}" if abs(x.mean()) >= 10 else f"{x.mean():.3f} ± {sd:.3f}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[41, 42, 43])
    p.add_argument("--videos", type=int, nargs="+", default=[1])
    p.add_argument("--starts", type=int, nargs="+", default=[40])
    p.add_argument("--styles", nargs="+", default=["plain", "realistic"])
    p.add_argument("--gaps", type=int, nargs="+", default=list(GAPS))
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    cv2.setNumThreads(1)
    rows: dict = {}
    t0 = time.perf_counter()
    for case in cases(args.seeds, args.videos, args.starts, args.styles):
        for g in args.gaps:
            truth = case.frame(case.start + g)[1]
            for name, start in _starts(case, g).items():
                robot = correct(start, truth)
                s = scores(start, truth)
                s.update(actions=robot.actions, painted=robot.painted, clicks=robot.clicks, reached=robot.reached,
                         **{f"n_{k}": v for k, v in robot.by_tool.items()})
                rows.setdefault((case.style, g, name), []).append(s)
            empty = rows[(case.style, g, "empty")][-1]["actions"]
            for name in STARTS:
                r = rows[(case.style, g, name)][-1]
                r["share_of_empty"] = r["actions"] / max(1, empty)
        print(f"done seed {case.seed} video {case.video} {case.style} ({time.perf_counter() - t0:.0f} s)", flush=True)
    print("\n| style | gap | start | mIoU | pixel acc | instruments IoU | retractors IoU | actions | share of empty "
          "| clicks | flood / polygon / brush | painted px | reached 98 % |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    out = []
    for (style, g, name), vals in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1], STARTS.index(kv[0][2]))):
        col = {k: [v[k] for v in vals] for k in vals[0]}
        tools = " / ".join(f"{np.mean(col['n_' + t]):.1f}" for t in ("flood", "polygon", "brush"))
        print(f"| {style} | {g} | {name} | {_ms(col['miou'])} | {_ms(col['acc'])} | {_ms(col['instruments'])} | "
              f"{_ms(col['retractors'])} | {_ms(col['actions'])} | {_ms(col['share_of_empty'])} | {np.mean(col['clicks']):.0f} | "
              f"{tools} | "
              f"{np.mean(col['painted']):.0f} | {sum(col['reached'])}/{len(vals)} |")
        out.append({"style": style, "gap": g, "start": name, **{k: [float(x) for x in v] for k, v in col.items()}})
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"args": vars(args), "rows": out}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
