"""Pre-segmentation head vs a small supervised UNet on phantom draws it was never tuned on.

    python -m benchmarks.bench_preseg [--quick] [--tune] [--threads N] [--k K ...] [--seeds S ...] [--out FILE.jsonl]
    python -m benchmarks.bench_preseg --resources-only [--resource-threads 1 2] [--out FILE.jsonl]
    python -m benchmarks.bench_preseg --summary FILE.jsonl [FILE.jsonl ...]   # tables from (partial) runs

Protocol (the default run). Every draw is a fresh phantom seed at 960x540; videos 1-4 can be labelled,
videos 5 and 6 never are: all their frames (6 each) are the test set of every cell. For k = 5, 10 and 20
labelled frames and two regimes,

- one-video: all k frames from video 1 (evenly spaced over its first 20 frames),
- spread: k frames over videos 1-4 in turn,

the head (`engine.preseg` defaults) and the small UNet (`engine.baselines`) are trained on the SAME
frames and scored on the test frames (experiment-1 classes, intersections and unions summed over the set).
Both phantom styles (plain, realistic) are run. Reported draws are seeds `REPORTED_SEEDS`; method and
defaults were chosen with `--tune` on `TUNING_SEED` alone, which the reported draws never include. The
tables give the mean and spread (sample std) over the draws that finished, per-class IoU, the share of
test frames the head flags as out of distribution, seconds per 960x540 frame, and the peak RSS of
training the head on 20 frames (a child process). Every cell is appended to `--out` as one JSON line as
soon as it is done, so a stopped run still has its numbers (`--summary`).

`--quick`: the first reported draw only and k = 5, 20 (a smoke run, labelled as such in the output).
`--k` / `--seeds` / `--regimes` / `--methods` run only some cells (one draw per process lets draws run side by side);
`--resources-only` runs only the child process: peak RSS (VmHWM) of training on 20 frames and the wall and
process-CPU seconds per 960x540 frame at each `--resource-threads` count. Results: docs/benchmarks/preseg.md.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

from benchmarks.preseg_summary import print_resources, summary

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "bench-preseg"
STARTER = ROOT / "resources" / "models" / "starter-synthesis"
W, H = 960, 540
TUNING_SEED = 1000
REPORTED_SEEDS = (1001, 1002, 1003)
LABEL_VIDEOS, TEST_VIDEOS = (1, 2, 3, 4), (5, 6)
ONE_VIDEO_FRAMES, SPREAD_FRAMES, TEST_FRAMES = 20, 5, 6
COUNTS = (5, 10, 20)
REGIMES = ("one-video", "spread")
METHODS = ("head", "unet")
#: what the engine's default head is, written into each head record: records without it are of the
#: defaults before 2026-12-02 (no image filters, no copies) and the summary shows them apart
HEAD_DEFAULTS = "image filters, 2 jittered copies"
STYLES = ("plain", "realistic")
UNET_STEPS, UNET_SIZE = 300, (256, 144)
#: the order cells are run in: the new-user case (5 frames of one video) and 20 spread frames first
PRIORITY = [("one-video", 5), ("spread", 20), ("spread", 5), ("one-video", 20), ("one-video", 10), ("spread", 10)]


def draw_frames(seed: int, style: str) -> dict:
    """{video: [(image, label), ...]} of one draw, rendered once and cached as .npz under build/."""
    import numpy as np

    from engine.phantom import VideoRenderer

    cache = WORK / "frames" / f"{style}-{seed}-{W}x{H}.npz"
    if cache.exists():
        data = np.load(cache)
        out: dict = {}
        for key in data.files:
            if key.startswith("img"):
                v, i = (int(p) for p in key[3:].split("_"))
                out.setdefault(v, []).append((i, data[key], data[f"lab{v}_{i}"]))
        return {v: [(im, lab) for _, im, lab in sorted(fr, key=lambda t: t[0])] for v, fr in out.items()}
    counts = {1: ONE_VIDEO_FRAMES, **{v: SPREAD_FRAMES for v in LABEL_VIDEOS[1:]}, **{v: TEST_FRAMES for v in TEST_VIDEOS}}
    frames = {v: [VideoRenderer(seed, v, W, H, style).render(i) for i in range(n)] for v, n in counts.items()}
    cache.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for v, fr in frames.items():
        for i, (im, lab) in enumerate(fr):
            arrays[f"img{v}_{i}"], arrays[f"lab{v}_{i}"] = im, lab
    np.savez(cache, **arrays)
    return frames


def labelled(frames: dict, regime: str, k: int) -> list:
    """The k labelled (image, label) pairs of a regime."""
    import numpy as np

    if regime == "one-video":
        idx = np.round(np.linspace(0, ONE_VIDEO_FRAMES - 1, k)).astype(int)
        return [frames[1][i] for i in idx]
    per_video = [k // len(LABEL_VIDEOS) + (1 if j < k % len(LABEL_VIDEOS) else 0) for j in range(len(LABEL_VIDEOS))]
    out = []
    for v, n in zip(LABEL_VIDEOS, per_video):
        pool = frames[v][:SPREAD_FRAMES]
        idx = np.round(np.linspace(0, len(pool) - 1, n)).astype(int) if n > 1 else [0] * n
        out += [pool[i] for i in idx]
    return out


def confusion_of(preds: list, gts: list):
    import numpy as np

    from engine.metrics.seg import confusion
    from engine.taxonomy import get_class_set

    cs = get_class_set(1)
    return np.asarray(sum(confusion(p, cs.remap(g), cs.num_classes) for p, g in zip(preds, gts)))


def scores(conf) -> tuple[float, list]:
    from engine.metrics.seg import iou_from_confusion

    per_class, m = iou_from_confusion(conf)
    return float(m), [None if x != x else round(float(x), 4) for x in per_class]


def probe_shifts(pre, test: list, other: list) -> dict:
    """Shift scores of frames unlike the training data: noise, recoloured, blurred, the other style."""
    import cv2
    import numpy as np

    img = test[0][0]
    noise = np.random.default_rng(0).integers(0, 256, img.shape, dtype=np.uint8)
    return {"noise": pre.shift_score(noise), "recoloured": pre.shift_score(np.ascontiguousarray(img[..., ::-1])),
            "blurred": pre.shift_score(cv2.GaussianBlur(img, (0, 0), 6)),
            "other_style": [pre.shift_score(im) for im, _ in other]}


def run_head(ex, train: list, test: list, settings, flips=(False,), other: list | None = None) -> list[dict]:
    """Train one head, score it (one record per flip-averaging choice)."""
    from engine.preseg import FrameSource, Presegmenter, train_head

    t0 = time.perf_counter()
    sources = [FrameSource(str(i), (lambda p=p: p)) for i, p in enumerate(train)]
    head = train_head(ex, sources, 1, settings)
    t_train = time.perf_counter() - t0
    out = []
    for flip in flips:
        pre = Presegmenter(ex, head, cache_size=0, flip_average=flip)
        preds, times, shifts, gated = [], [], [], []
        for img, _ in test:
            t = time.perf_counter()
            res = pre.presegment(img)
            times.append(time.perf_counter() - t)
            preds.append(res.label)
            shifts.append(res.shift)
            gated.append(res.out_of_distribution)
        m, per_class = scores(confusion_of(preds, [lab for _, lab in test]))
        out.append({"miou": round(m, 4), "per_class": per_class, "train_s": round(t_train, 1),
                    "s_per_frame": round(statistics.median(times), 3), "flip_average": flip,
                    "shift": shifts, "ood_share": round(sum(gated) / len(gated), 4),
                    "threshold": head.shift.threshold if head.shift else None, "kind": head.kind,
                    "shift_reference": head.shift.reference if head.shift else None,
                    "probes": probe_shifts(pre, test, other) if other is not None else None,
                    "members": head.ensemble.num_members})
    return out


def run_unet(train: list, test: list, steps: int) -> dict:
    from engine.baselines import predict_small_unet, train_small_unet

    t0 = time.perf_counter()
    unet = train_small_unet(train, 1, UNET_SIZE, steps=steps, seed=0)
    t_train = time.perf_counter() - t0
    times, preds = [], []
    for img, _ in test:
        t = time.perf_counter()
        preds.append(predict_small_unet(unet, img))
        times.append(time.perf_counter() - t)
    m, per_class = scores(confusion_of(preds, [lab for _, lab in test]))
    return {"miou": round(m, 4), "per_class": per_class, "train_s": round(t_train, 1),
            "s_per_frame": round(statistics.median(times), 3)}


def _append(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    print(f"  {record['style']:9} seed {record['seed']} {record['regime']:9} k={record['k']:2} "
          f"{record['method']:22} mIoU {record['miou']:.3f}"
          + (f"  flagged {record['ood_share']:.0%}" if "ood_share" in record else ""), flush=True)


def _resource_child(model_dir: str, frames: list, test: list, threads: list, queue) -> None:
    """Child process: train a default head on `frames` at `threads[0]` torch threads, report its own peak RSS
    (VmHWM) after training, then the median seconds per frame of pre-segmenting `test` at each thread count."""
    import torch

    torch.set_num_threads(threads[0])
    from benchmarks._timing import peak_rss_mb
    from engine.preseg import FrameSource, Presegmenter, PresegSettings, open_extractor, train_head

    ex = open_extractor(model_dir, PresegSettings().features)
    t0 = time.perf_counter()
    head = train_head(ex, [FrameSource(str(i), (lambda p=p: p)) for i, p in enumerate(frames)], 1, PresegSettings())
    out = {"train_s": round(time.perf_counter() - t0, 1), "peak_rss_train_mb": round(peak_rss_mb(), 1),
           "s_per_frame": {}}
    pre = Presegmenter(ex, head, cache_size=0)
    for n in threads:
        torch.set_num_threads(n)
        pre.presegment(test[0][0])  # warm-up at this thread count
        times, cpu = [], []
        for img, _ in test:
            t, c = time.perf_counter(), time.process_time()
            pre.presegment(img)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        out["s_per_frame"][str(n)] = round(statistics.median(times), 3)
        out.setdefault("cpu_s_per_frame", {})[str(n)] = round(statistics.median(cpu), 3)
    out["peak_rss_total_mb"] = round(peak_rss_mb(), 1)
    queue.put(out)


def resources(model: Path, out: Path, threads: list[int], seed: int = REPORTED_SEEDS[0]) -> dict:
    """Peak RSS of training the default head on 20 frames (spread regime, plain style) and seconds per
    960x540 frame, in a fresh child process so the parent's memory is not counted; appended to `out`."""
    import os

    frames = draw_frames(seed, "plain")
    test = [p for v in TEST_VIDEOS for p in frames[v]][:4]
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_resource_child, args=(str(model), labelled(frames, "spread", 20), test, threads, q))
    p.start()
    rec = q.get()
    p.join()
    rec.update(draw="resources", seed=seed, frames=20, size=f"{W}x{H}", threads=threads,
               load_average=[round(x, 2) for x in os.getloadavg()], cpus=os.cpu_count())
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(rec) + "\n")
    print_resources(rec)
    return rec


def tune_candidates() -> dict:
    """Head candidates `--tune` can compare on the tuning draw, by name."""
    from engine.preseg import ConvSettings, FeatureConfig, PresegSettings

    filters = FeatureConfig(image_filters=True)
    fine = FeatureConfig(image_filters=True, work_size=(270, 480))
    return {"pixel-mlp": PresegSettings(head="pixel-mlp"),
            "pixel-mlp+filters@480": PresegSettings(head="pixel-mlp", features=fine),
            "pixel-mlp+filters@480+px8000": PresegSettings(head="pixel-mlp", features=fine, pixels_per_frame=8000),
            "pixel-mlp+filters+aug2@480": PresegSettings(head="pixel-mlp", features=fine, augment_copies=2),
            "pixel-mlp+filters": PresegSettings(head="pixel-mlp", features=filters),
            "pixel-mlp+aug2": PresegSettings(head="pixel-mlp", augment_copies=2),
            "pixel-mlp+filters+aug2": PresegSettings(head="pixel-mlp", features=filters, augment_copies=2),
            "conv": PresegSettings(head="conv", conv=ConvSettings())}


def tune(model: Path, out: Path, names: list[str], flips: bool, cells=(("one-video", 5), ("spread", 20))) -> None:
    """Candidates on the tuning draw only, in one run (the default first, as the baseline): both styles,
    `cells`; with `flips` also test-time flip averaging; shift scores of unlike frames (probes)."""
    from engine.preseg import open_extractor

    known = tune_candidates()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown candidate(s) {unknown}; choose from {', '.join(known)}")
    candidates = {n: known[n] for n in names}  # run in the order given
    extractors: dict = {}
    for style in STYLES:
        frames = draw_frames(TUNING_SEED, style)
        other = draw_frames(TUNING_SEED, STYLES[1 - STYLES.index(style)])
        test = [p for v in TEST_VIDEOS for p in frames[v]]
        other_test = [p for v in TEST_VIDEOS for p in other[v]]
        for regime, k in cells:
            train = labelled(frames, regime, k)
            for name, settings in candidates.items():
                if settings.features not in extractors:
                    extractors[settings.features] = open_extractor(model, settings.features)
                ex = extractors[settings.features]
                for rec in run_head(ex, train, test, settings, flips=(False, True) if flips else (False,),
                                    other=other_test):
                    rec.update(seed=TUNING_SEED, draw="tuning", style=style, regime=regime, k=k,
                               method=f"{name}{' +flip' if rec['flip_average'] else ''}")
                    _append(out, rec)


def protocol(ex, out: Path, seeds, counts, unet_steps: int, regimes=REGIMES, methods=METHODS) -> None:
    from engine.preseg import PresegSettings

    # cells in order of interest, each over every draw and style before the next, so a stopped run has
    # means over the draws for the cells it reached
    order = [c for c in PRIORITY if c[1] in counts] + [(r, k) for r in REGIMES for k in counts
                                                       if (r, k) not in PRIORITY]
    for regime, k in (c for c in order if c[0] in regimes):
        for seed in seeds:
            for style in STYLES:
                frames = draw_frames(seed, style)
                test = [p for v in TEST_VIDEOS for p in frames[v]]
                train = labelled(frames, regime, k)
                if "head" in methods:
                    other = draw_frames(seed, STYLES[1 - STYLES.index(style)])
                    rec = run_head(ex, train, test, PresegSettings(),
                                   other=[p for v in TEST_VIDEOS for p in other[v]])[0]
                    rec.update(seed=seed, draw="reported", style=style, regime=regime, k=k, method="head",
                               head_defaults=HEAD_DEFAULTS)
                    _append(out, rec)
                if "unet" in methods:
                    rec = run_unet(train, test, unet_steps)
                    rec.update(seed=seed, draw="reported", style=style, regime=regime, k=k, method="small UNet")
                    _append(out, rec)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_preseg", description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=STARTER, help="diffusion model folder (default: the starter)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="first reported draw only, k = 5 and 20")
    parser.add_argument("--tune", action="store_true", help=f"instead: compare candidates on the tuning draw "
                                                            f"(seed {TUNING_SEED})")
    parser.add_argument("--candidates", nargs="+", default=["pixel-mlp"],
                        help="with --tune: head candidates, run in this order (names: tune_candidates)")
    parser.add_argument("--flip-average", action="store_true", help="with --tune: also test-time flip averaging")
    parser.add_argument("--tune-cells", nargs="+", default=["one-video:5", "spread:20"],
                        help="with --tune: cells as REGIME:K")
    parser.add_argument("--unet-steps", type=int, default=UNET_STEPS, help=f"small UNet steps (default {UNET_STEPS})")
    parser.add_argument("--out", type=Path, default=None, help="JSON-lines file the cells are appended to")
    parser.add_argument("--summary", type=Path, nargs="+", default=None,
                        help="only print the tables of one or more results files")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-RSS child process")
    parser.add_argument("--resources-only", action="store_true",
                        help="only the peak RSS of training on 20 frames and the seconds per frame (child process)")
    parser.add_argument("--resource-threads", type=int, nargs="+", default=None,
                        help="with --resources-only: thread counts to time prediction at (default: --threads)")
    parser.add_argument("--k", type=int, nargs="+", choices=COUNTS, default=None,
                        help="run only these labelled-frame counts")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help=f"run only these reported draws (default {' '.join(map(str, REPORTED_SEEDS))})")
    parser.add_argument("--regimes", nargs="+", choices=REGIMES, default=REGIMES, help="run only these regimes")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=METHODS,
                        help="run only these methods (cells of the other can come from another run)")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:] if __name__ == "__main__" else [])
    if args.summary:
        summary(args.summary, "tuning" if args.tune else "reported")
        return

    import torch

    from engine.preseg import PresegSettings, open_extractor

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    out = args.out or WORK / f"results-{'tune' if args.tune else 'quick' if args.quick else 'full'}-{int(time.time())}.jsonl"
    if args.resources_only:
        resources(args.model, out, args.resource_threads or [args.threads])
        return
    if args.tune:
        tune(args.model, out, args.candidates, args.flip_average,
             [(c.split(":")[0], int(c.split(":")[1])) for c in args.tune_cells])
        summary(out, "tuning")
        return
    ex = open_extractor(args.model, PresegSettings().features)
    print(f"diffusion model {args.model}; {ex.channels()} feature channels; torch threads {args.threads}; "
          f"frames {W}x{H}; tuning seed {TUNING_SEED} (defaults chosen on it), reported seeds "
          f"{REPORTED_SEEDS[:1] if args.quick else REPORTED_SEEDS}; results -> {out}", flush=True)
    seeds, counts = (REPORTED_SEEDS[:1], (5, 20)) if args.quick else (REPORTED_SEEDS, COUNTS)
    seeds, counts = tuple(args.seeds or seeds), tuple(args.k or counts)
    if set(seeds) & {TUNING_SEED}:
        parser.error(f"seed {TUNING_SEED} is the tuning draw; reported draws never include it")
    if args.quick:
        print("QUICK RUN: one reported draw, k = 5 and 20 only; not the full protocol", flush=True)
    protocol(ex, out, seeds, counts, args.unet_steps, args.regimes, args.methods)
    summary(out)
    if not args.no_memory:
        resources(args.model, out, [args.threads])
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
