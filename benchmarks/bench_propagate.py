"""Propagation against label copy on phantom version-2 videos: experiment-1 mIoU, pixel accuracy, instruments and
retractors, the confident share, and seconds per 960x540 frame, at gaps of 1, 5, 10, 30 and 90 frames.

Run: ``python -m benchmarks.bench_propagate [--seeds 11 12] [--videos 1 2 3] [--starts 40] [--styles plain realistic]
[--methods dis-medium dis-fast farneback] [--json out.json]``
Draws: seeds 11 and up were not used to tune the method or the phantom motion (seed 0 and 5 were).
"""
from __future__ import annotations

import argparse
import json
import os
import time

import cv2
import numpy as np

from benchmarks.video_cases import GAPS, cases, scores


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[11, 12])
    p.add_argument("--videos", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--starts", type=int, nargs="+", default=[40])
    p.add_argument("--styles", nargs="+", default=["plain", "realistic"])
    p.add_argument("--methods", nargs="+", default=["farneback"])
    p.add_argument("--gaps", type=int, nargs="+", default=list(GAPS))
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    cv2.setNumThreads(1)
    rows: dict = {}
    timing: dict = {m: [] for m in args.methods}
    cpu: dict = {m: [] for m in args.methods}
    for case in cases(args.seeds, args.videos, args.starts, args.styles):
        key_label = case.frame(case.start)[1]
        for g in args.gaps:
            truth = case.frame(case.start + g)[1]
            rows.setdefault(("copy", case.style, g), []).append(scores(key_label, truth))
            for m in args.methods:
                for f in case.positions(g):
                    case.frame(f)  # render first: time the propagation only
                t0, c0 = time.perf_counter(), time.process_time()
                label, conf = case.propagate(g, m)
                timing[m].append((time.perf_counter() - t0) / (len(case.positions(g)) - 1))
                cpu[m].append((time.process_time() - c0) / (len(case.positions(g)) - 1))
                s = scores(label, truth)
                sure = conf >= 0.5
                s["confident"] = float(sure.mean())
                s["confident_acc"] = float((label == truth)[sure].mean()) if sure.any() else float("nan")
                rows.setdefault((m, case.style, g), []).append(s)
        print(f"done seed {case.seed} video {case.video} {case.style}", flush=True)
    print("\n| start | style | gap | mIoU | pixel acc | instruments IoU | retractors IoU | confident share (acc) | n |")
    print("|---|---|---|---|---|---|---|---|---|")
    out = {}
    for (m, style, g), vals in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
        def ms(k, vals=vals):
            x = np.array([v[k] for v in vals if k in v], float)
            return float(np.nanmean(x)), float(np.nanstd(x))
        conf = f"{ms('confident')[0]:.2f} ({ms('confident_acc')[0]:.3f})" if m != "copy" else "-"
        print(f"| {m} | {style} | {g} | {ms('miou')[0]:.3f} ± {ms('miou')[1]:.3f} | {ms('acc')[0]:.3f} ± {ms('acc')[1]:.3f} "
              f"| {ms('instruments')[0]:.3f} | {ms('retractors')[0]:.3f} | {conf} | {len(vals)} |")
        out[f"{m}/{style}/{g}"] = {k: ms(k) for k in vals[0]}
    for m, ts in timing.items():
        print(f"{m}: {np.median(ts):.3f} s per 960x540 frame step, process CPU {np.median(cpu[m]):.3f} s (median of "
              f"{len(ts)} chains, flow at 480 px, 1 thread; load average {os.getloadavg()[0]:.1f})")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"args": vars(args), "results": out,
                       "seconds_per_frame": {m: float(np.median(t)) for m, t in timing.items()}}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
