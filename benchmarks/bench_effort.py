"""The labelling-effort benchmark: how many actions a robot annotator needs to bring a frame to 98 % pixel
accuracy from each starting point, on phantom version-3 ("surgery" motion) videos.

Starts (the frame `gap` video frames after a labelled one):
- empty: nothing labelled;
- copy: the labelled frame's label copied;
- propagation: the labelled frame's label carried by `engine.propagate`, every pixel, the chain never stopped;
- propagation, stops: the engine's default chain, which stops where the mean confidence falls below
  `DEFAULT_MIN_CONFIDENCE` (0.3): such a frame gets no proposal and starts empty (what the app shows).
  "Accept confident" at its default (`DEFAULT_ACCEPT_CONFIDENCE` = 0) accepts every pixel, so it is this start;
  stricter thresholds were measured on the tuning draw (docs/benchmarks/effort.md);
- pre-seg k=K: the pre-segmentation head's proposal, the head trained on K labelled frames of four other videos of
  the draw (benchmarks/effort_preseg.py writes them first; `--preseg DIR`);
- fusion k=K: propagation (every pixel) fused per pixel with that proposal, the more confident side winning
  (`engine.propagate.fusion`);
- gated k=K: the engine's chain where it does not stop, the fusion where it does (a frame the flow has lost
  gets the head's proposal, with what propagation still holds confidently on top).

Per start and gap: experiment-1 mIoU and pixel accuracy of the start, robot actions (flood fills, polygons,
brush strokes; benchmarks/robot_annotator.py), clicks, painted pixels, actions as a share of the empty frame's;
instruments and retractors IoU separately. Means ± sample std over the cases.

Run: ``python -m benchmarks.bench_effort [--seeds 41 42 43] [--videos 1] [--styles plain realistic]
[--gaps 1 5 10 30 90] [--preseg DIR] [--json FILE]``. Reported draws: seeds 41-43, used for nothing else (the
phantom motion was tuned on seeds 0 and 21, the accept threshold and stop rule on seed 31, the robot's brush
model on seeds 0 and 31-33).
"""
from __future__ import annotations

import argparse
import json
import time

import cv2
import numpy as np

from pathlib import Path

from benchmarks.robot_annotator import correct
from benchmarks.video_cases import GAPS, cases, scores
from engine.propagate.chain import DEFAULT_MIN_CONFIDENCE
from engine.propagate.fusion import fuse_with_proposal
from engine.taxonomy import IGNORE

BASE_STARTS = ("empty", "copy", "propagation", "propagation, stops")
COUNTS = (5, 10, 20)
STARTS = BASE_STARTS + tuple(f"{s} k={k}" for s in ("pre-seg", "fusion", "gated") for k in COUNTS)


def _preseg(folder: str | None, case, k: int):
    if folder is None or case.video != 1 or case.start != 40:
        return None
    path = Path(folder) / f"{case.style}-{case.seed}-k{k}.npz"
    return np.load(path) if path.exists() else None


def _starts(case, gap, preseg_dir):
    key = case.frame(case.start)[1]
    empty = np.full_like(key, IGNORE)
    label, conf = case.propagate(gap)
    stopped = case.propagate(gap, min_confidence=DEFAULT_MIN_CONFIDENCE)
    out = {"empty": empty, "copy": key, "propagation": label,
           "propagation, stops": empty if stopped is None else stopped[0]}
    for k in COUNTS:
        pre = _preseg(preseg_dir, case, k)
        if pre is not None:
            out[f"pre-seg k={k}"] = pre[f"label{gap}"]
            out[f"fusion k={k}"] = fuse_with_proposal(label, conf, pre[f"label{gap}"], pre[f"conf{gap}"])[0]
            out[f"gated k={k}"] = out[f"fusion k={k}"] if stopped is None else stopped[0]
    return out


def _ms(values) -> str:
    x = np.array(values, float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return "-"
    sd = float(np.std(x, ddof=1)) if x.size > 1 else 0.0
    return f"{x.mean():.3g} ± {sd:.2g}" if abs(x.mean()) >= 10 else f"{x.mean():.3f} ± {sd:.3f}"


def table(rows: dict) -> list[dict]:
    """Print the markdown table of `rows` ({(style, gap, start): [per-case dict, ...]}); the JSON rows."""
    print("\n| style | gap | start | mIoU | pixel acc | instruments IoU | retractors IoU | actions | share of empty "
          "| clicks | flood / polygon / brush | painted px | reached 98 % |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    out = []
    for (style, g, name), vals in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1], STARTS.index(kv[0][2]))):
        col = {k: [v[k] for v in vals] for k in vals[0] if all(k in v for v in vals)}
        tools = " / ".join(f"{np.mean(col['n_' + t]):.1f}" for t in ("flood", "polygon", "brush"))
        print(f"| {style} | {g} | {name} | {_ms(col['miou'])} | {_ms(col['acc'])} | {_ms(col['instruments'])} | "
              f"{_ms(col['retractors'])} | {_ms(col['actions'])} | {_ms(col['share_of_empty'])} | "
              f"{np.mean(col['clicks']):.0f} | {tools} | {np.mean(col['painted']):.0f} | "
              f"{int(sum(col['reached']))}/{len(vals)} |")
        out.append({"style": style, "gap": g, "start": name, **{k: [float(x) for x in v] for k, v in col.items()}})
    return out


def load_rows(paths) -> dict:
    """Per-case rows of earlier runs' --json files, merged (one run per draw can run side by side)."""
    rows: dict = {}
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for r in json.load(fh)["rows"]:
                keys = [k for k in r if k not in ("style", "gap", "start")]
                cases_ = [dict(zip(keys, vals)) for vals in zip(*(r[k] for k in keys))]
                rows.setdefault((r["style"], int(r["gap"]), r["start"]), []).extend(cases_)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[41, 42, 43])
    p.add_argument("--videos", type=int, nargs="+", default=[1])
    p.add_argument("--starts", type=int, nargs="+", default=[40])
    p.add_argument("--styles", nargs="+", default=["plain", "realistic"])
    p.add_argument("--gaps", type=int, nargs="+", default=list(GAPS))
    p.add_argument("--preseg", default=None, help="folder of benchmarks.effort_preseg proposals (pre-seg and fusion "
                                                  "starts)")
    p.add_argument("--json", default=None, help="write the per-case rows here (after every case)")
    p.add_argument("--summary", nargs="+", default=None, metavar="FILE", help="only print the table of earlier runs")
    args = p.parse_args(argv)
    if args.summary:
        table(load_rows(args.summary))
        return 0
    cv2.setNumThreads(1)
    rows: dict = {}
    t0 = time.perf_counter()
    for case in cases(args.seeds, args.videos, args.starts, args.styles):
        for g in args.gaps:
            truth = case.frame(case.start + g)[1]
            this = {}
            for name, start in _starts(case, g, args.preseg).items():
                robot = correct(start, truth)
                s = scores(start, truth)
                s.update(actions=robot.actions, painted=robot.painted, clicks=robot.clicks, reached=robot.reached,
                         seed=case.seed, **{f"n_{k}": v for k, v in robot.by_tool.items()})
                this[name] = s
            for name, s in this.items():
                s["share_of_empty"] = s["actions"] / max(1, this["empty"]["actions"])
                rows.setdefault((case.style, g, name), []).append(s)
        print(f"done seed {case.seed} video {case.video} {case.style} ({time.perf_counter() - t0:.0f} s)", flush=True)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump({"args": vars(args), "rows": [
                    {"style": st, "gap": g, "start": n, **{k: [float(v[k]) for v in vals] for k in vals[0]}}
                    for (st, g, n), vals in rows.items()]}, fh, indent=1)
    table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
