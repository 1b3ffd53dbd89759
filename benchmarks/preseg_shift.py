"""Shift-score study: every held-out and probe frame's score parts, under the shipped rule (each part its
own limit, colour prototypes widened by camera copies) and under the sum rule it replaced.

    python -m benchmarks.preseg_shift [--seed 1000] [--cells one-video:5 ...] [--styles plain realistic]
                                      [--out FILE.jsonl]
    python -m benchmarks.preseg_shift --summary FILE.jsonl [...]

One default head per (style, cell) is trained on the `benchmarks.bench_preseg` protocol's frames. For every
test frame (videos 5 and 6) and probe (a noise image, a channel-swapped and a blurred test frame, the six
test frames of each video of the other style) one JSON line holds the parts (`features`, `colour`,
`sharpness`) and the score of each rule: "limits" (shipped: `engine.preseg.shift.SHIFT_LIMITS`) and
"sum" (colour prototypes of the training frames alone, parts summed, threshold `SUM_THRESHOLD`). The
limits were chosen on the tuning draw (seed 1000) and are reported on the others.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from benchmarks.bench_preseg import STARTER, STYLES, TEST_VIDEOS, TUNING_SEED, WORK, draw_frames, labelled

CELLS = ("one-video:5", "one-video:10", "one-video:20", "spread:5", "spread:10", "spread:20")
PROBES = ("noise", "recoloured", "blurred", "other_style")


def probe_frames(test: list, other: list) -> list[tuple[str, object]]:
    import cv2
    import numpy as np

    img = test[0][0]
    out = [("noise", np.random.default_rng(0).integers(0, 256, img.shape, dtype=np.uint8)),
           ("recoloured", np.ascontiguousarray(img[..., ::-1])), ("blurred", cv2.GaussianBlur(img, (0, 0), 6))]
    return out + [("other_style", im) for im, _ in other]


SUM_THRESHOLD = 2.6  # the sum rule's threshold (ADR 11, before the limits)


def study_cell(ex, train: list, test: list, other: list) -> list[dict]:
    """Shift statistics of `train` (what a head trained on it keeps; no head needs training for them) and
    every held-out and probe frame's parts, with quantiles of its per-pixel colour distances."""
    from dataclasses import replace

    import torch

    from engine.preseg.shift import (
        COLOUR_PROTOTYPES, colour_sample, fit_shift, frame_sample, image_sharpness, kmeans, training_colours,
    )

    size = ex.work_size
    descriptors, sharp, colours = [], [], []
    for i, (im, _) in enumerate(train):
        descriptors.append(frame_sample(ex.extract(im).tensor[:ex.shift_channels]))
        sharp.append(image_sharpness(im, size))
        colours.append(training_colours(im, size, i))
    shipped = fit_shift(descriptors, sharp, colours=colours)
    plain_colours = kmeans(torch.cat([colour_sample(im, size) for im, _ in train]), COLOUR_PROTOTYPES)
    rules = {"limits": shipped,
             "sum": replace(shipped, colour_centroids=plain_colours, limits=None, threshold=SUM_THRESHOLD)}
    frames = [(f"video{TEST_VIDEOS[i // (len(test) // len(TEST_VIDEOS))]}", im) for i, (im, _) in enumerate(test)]
    import numpy as np

    def mean_rgb(im):
        return np.asarray(im, np.float64).reshape(-1, 3).mean(0) + 1.0

    train_mean = np.mean([mean_rgb(im) for im, _ in train], axis=0)
    rows = []
    for kind, img in frames + probe_frames(test, other):
        feats = ex.extract(img).tensor
        d = shipped.colour_distances(img, size)
        gain = train_mean / mean_rgb(img)
        corrected = np.clip(np.asarray(img, np.float32) * gain[None, None].astype(np.float32), 0, 255).astype(np.uint8)
        plain_model = rules["sum"]
        dc = plain_model.colour_distances(corrected, size)
        extra = {"gain_log_max": float(np.abs(np.log(gain)).max()),
                 "gain_log_spread": float(np.log(gain).max() - np.log(gain).min()),
                 "corrected_mean": float(dc.mean()), "corrected_median": float(dc.median()),
                 "corrected_q75": float(dc.quantile(0.75))}
        scores = {name: rule.score(feats, img) for name, rule in rules.items()}
        rows.append({"frame": kind, "parts": {name: rule.parts(feats, img) for name, rule in rules.items()},
                     "score": scores, "flagged": {name: scores[name] > rule.threshold for name, rule in rules.items()},
                     "colour_quantiles": {str(q): float(d.quantile(q)) for q in (0.5, 0.75, 0.9)}, "gain": extra})
    return rows


def summarise(paths: list[Path]) -> None:
    """Per seed, rule and cell: the share of held-out frames flagged, and of each kind of probe."""
    recs = [json.loads(line) for p in paths for line in p.read_text().splitlines() if line.strip()]
    rules = sorted({r for rec in recs for r in rec["flagged"]})
    print("share of frames flagged: held-out videos | probes noise / recoloured / blurred / other style")
    for seed in sorted({r["seed"] for r in recs}):
        for rule in rules:
            for style in STYLES:
                cells = []
                for cell in CELLS:
                    rs = [r for r in recs if r["seed"] == seed and r["style"] == style and r["cell"] == cell]
                    if not rs:
                        continue
                    share = {k: statistics.mean(r["flagged"][rule] for r in rs if r["frame"] == k or
                                                (k == "held" and r["frame"].startswith("video")))
                             for k in ("held", *PROBES)}
                    cells.append(f"{cell} {share['held']:.0%} | " + "/".join(f"{share[p]:.0%}" for p in PROBES))
                if cells:
                    print(f"seed {seed} {rule:6} {style:9} " + ";  ".join(cells))
    reported = [r for r in recs if r["seed"] != TUNING_SEED]
    if not reported:
        return
    print(f"\nmean over the reported draws {sorted({r['seed'] for r in reported})}: held-out | noise / recoloured / "
          "blurred / other style")
    for rule in rules:
        for style in STYLES:
            cells = []
            for cell in CELLS:
                rs = [r for r in reported if r["style"] == style and r["cell"] == cell]
                if rs:
                    share = {k: statistics.mean(r["flagged"][rule] for r in rs if r["frame"] == k or
                                                (k == "held" and r["frame"].startswith("video")))
                             for k in ("held", *PROBES)}
                    cells.append(f"{cell} {share['held']:.0%} | " + "/".join(f"{share[p]:.0%}" for p in PROBES))
            print(f"{rule:6} {style:9} " + ";  ".join(cells))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.preseg_shift", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=TUNING_SEED)
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=CELLS)
    parser.add_argument("--styles", nargs="+", default=list(STYLES), choices=STYLES)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--summary", type=Path, nargs="+", default=None)
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    if args.summary:
        summarise(args.summary)
        return
    import torch

    from engine.preseg import PresegSettings, open_extractor

    torch.set_num_threads(1)
    out = args.out or WORK / f"shift-{args.seed}-{int(time.time())}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    ex = open_extractor(STARTER, PresegSettings().features)
    for style in args.styles:
        frames = draw_frames(args.seed, style)
        other = draw_frames(args.seed, STYLES[1 - STYLES.index(style)])
        test = [p for v in TEST_VIDEOS for p in frames[v]]
        other_test = [p for v in TEST_VIDEOS for p in other[v]]
        for cell in args.cells:
            regime, k = cell.split(":")
            t0 = time.perf_counter()
            rows = study_cell(ex, labelled(frames, regime, int(k)), test, other_test)
            with out.open("a", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps({"seed": args.seed, "style": style, "cell": cell, **row}) + "\n")
            print(f"{style} {cell}: {len(rows)} frames in {time.perf_counter() - t0:.0f} s -> {out}", flush=True)
    summarise([out])


if __name__ == "__main__":
    main()
