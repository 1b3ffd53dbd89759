"""Full-resolution synthesis benchmark: label consistency, KID, speed and memory at 960x540 and 480x270, and repaint.

Measured on held-out phantom draws (phantom seeds `HELD_SEEDS` of benchmarks/synth_judge.py: neither the
synthesis model nor the judge saw them, and the judge's settings were chosen on another draw):
1. Label consistency: the judge (a SmallUNet trained on REAL phantom frames at that resolution, native-scale
   crops, class-weighted; benchmarks/synth_judge.py) labels (a) the real held-out frames, (b) frames
   synthesized from the same masks by the pipeline (final and preview presets) and (c) today's 128x72 UNet
   alone, the SAME low-resolution sample as (b) final resized bicubic (the baseline). Per-class IoU over the
   experiment-1 classes (incl. Eye Retractors and Instrument), pooled over all frames, and per draw (mean ± std
   over the draws); ratio to (a) per class: target >= 0.85. With --compare-upsampler, (b) final is also lifted
   by another upsampler from the same sample (e.g. the previously shipped one): the upsampler's held-out check.
2. KID against the real held-out frames on the judge's bottleneck features (mean and std pooled), for (b) and
   (c), and for the real frames of the tuning draw (the floor: real against real of other videos).
3. Seconds per frame (preview and final presets) and this process's peak resident memory (VmHWM).
4. Repaint (benchmarks/bench_repaint.py): an instrument pasted from another mask, repainted with a 16 px margin.

    python -m benchmarks.bench_synthesis [--quick] [--frames 4] [--draws 3] [--sizes 960x540,480x270]
                                         [--model DIR] [--compare-upsampler DIR] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks._timing import peak_rss_mb

ROOT = Path(__file__).resolve().parents[1]
THIN = ("Eye Retractors", "Instrument")


def _phantom(quick: bool = False) -> Path:
    """The starter recipe's phantom sample (train frames; its val/test videos are the judge's tuning draw)."""
    from benchmarks.synth_judge import starter_phantom

    return starter_phantom()


def _pipelines(model_dir: Path | None = None):
    """(the pipeline of `model_dir` (default: the starter model), the same UNet without upsampler)."""
    from engine.models import starter_model_dir
    from engine.pipelines import SynthesisPipeline

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        full = SynthesisPipeline.from_pretrained(model_dir or starter_model_dir(), device="cpu")
    low = SynthesisPipeline(full.unet, full.scheduler, None)  # today's 128x72 model, resized bicubic
    return full, low


def _final_and_baseline(pipe, mask, seed, others: dict) -> tuple[dict, float, float]:
    """The final preset's frame and, from the SAME low-resolution sample, the bicubic baseline and the frames of
    `others` (name -> upsampler). Returns (images by name, final s, baseline s)."""
    from engine.jobs import JobContext
    from engine.pipelines import preset
    from engine.pipelines.upsample import lift_to_mask_size

    t0 = time.perf_counter()
    low = pipe.sample_low_res(mask, preset("final"), 1, [seed], None, None, None, 2, JobContext())
    t_low = time.perf_counter() - t0
    t1 = time.perf_counter()
    images = {"final": pipe.to_full_resolution(low, mask)}
    t_final = t_low + time.perf_counter() - t1
    t2 = time.perf_counter()
    images["baseline"] = lift_to_mask_size(low, mask, None, pipe.class_set)
    t_base = t_low + time.perf_counter() - t2
    for name, up in others.items():
        images[name] = lift_to_mask_size(low, mask, up, pipe.class_set)
    return images, t_final, t_base


def probe_memory(model: Path | None, size, preset_name: str, upsampler: bool = True) -> float:
    """Peak resident memory (MB) of a FRESH process that loads the pipeline and synthesizes one held-out mask at
    `size` with `preset_name` (upsampler=False: the bicubic baseline): what a user's `cadis synth` needs, without
    this benchmark's own frames and judge (glibc keeps freed memory, so an in-process figure would carry them)."""
    import subprocess

    cmd = [sys.executable, "-m", "benchmarks.bench_synthesis", "--probe", f"{size[0]}x{size[1]}", preset_name,
           "up" if upsampler else "bicubic"] + (["--model", str(model)] if model else [])
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def _probe(args) -> None:
    import torch

    from benchmarks.synth_judge import HELD_SEEDS, held_out_draw, resize_pair
    from engine.pipelines import preset

    torch.set_num_threads(1)
    size, name, mode = args.probe
    w, h = (int(v) for v in size.split("x"))
    img, lab = held_out_draw(HELD_SEEDS[0], 1)[0]
    mask = resize_pair(img, lab, (w, h))[1]
    del img, lab
    full, low = _pipelines(args.model)
    (full if mode == "up" else low)(mask, settings=preset(name), seed=0)
    print(round(peak_rss_mb()))


def synthesize(full, draws, size, others: dict) -> tuple[dict, dict, dict]:
    """Frames of every variant for every draw ({variant: [[HxWx3 per frame] per draw]}), s/frame lists, and the
    peak resident memory (MB) of a fresh process synthesizing one mask with each preset (`probe_memory`)."""
    from benchmarks.synth_judge import resize_pair
    from engine.pipelines import preset

    out = {"real": [], "final": [], "preview": [], "baseline": [], **{k: [] for k in others}}
    secs = {"final": [], "preview": [], "baseline": []}
    pairs = [[resize_pair(img, lab, size) for img, lab in draw] for draw in draws]
    for d, draw in enumerate(pairs):
        for key in out:
            out[key].append([])
        for i, (real, mask) in enumerate(draw):
            images, t_final, t_base = _final_and_baseline(full, mask, 100 * d + i, others)
            secs["final"].append(t_final)
            secs["baseline"].append(t_base)
            images["real"] = real
            for key, im in images.items():
                out[key][d].append(im)
    for d, draw in enumerate(pairs):
        for i, (_real, mask) in enumerate(draw):
            t = time.perf_counter()
            out["preview"][d].append(full(mask, settings=preset("preview"), seed=100 * d + i).images[0])
            secs["preview"].append(time.perf_counter() - t)
    return out, secs


def score(net, frames_by_draw, gts_by_draw, n):
    """(pooled per-class IoU, per-draw per-class IoU (draws x n), features of all frames)."""
    from benchmarks.synth_judge import confusion_of, per_class_iou, predict

    pooled, per_draw, feats = np.zeros((n, n), np.int64), [], []
    for frames, gts in zip(frames_by_draw, gts_by_draw):
        res = [predict(net, im) for im in frames]
        conf = confusion_of([r[0] for r in res], gts, n)
        pooled += conf
        per_draw.append(per_class_iou(conf))
        feats += [r[1] for r in res]
    return per_class_iou(pooled), np.stack(per_draw), np.stack(feats)


def _fmt(v) -> str:
    return "-" if np.isnan(v) else f"{v:.2f}"


def _spread(rows: np.ndarray) -> str:
    """mean ± std of one class's per-draw IoU (draws where it is absent left out)."""
    vals = rows[~np.isnan(rows)]
    return "-" if not len(vals) else f"{vals.mean():.2f}±{vals.std():.2f}"


LABELS = {
    "real": "real held-out frames",
    "final": "pipeline, final preset",
    "preview": "pipeline, preview preset",
    "baseline": "128x72 UNet resized bicubic (baseline), final",
}


def bench_size(full, draws, tune, size, cs, judge_cfg, others: dict, model: Path | None = None, log=print):
    from benchmarks.synth_judge import get_judge, predict, resize_pair
    from engine.metrics.distribution import kid

    w, h = size
    net, meta = get_judge(cs, size, judge_cfg, log)
    t0 = time.perf_counter()
    frames, secs = synthesize(full, draws, size, others)
    rss = {"final": probe_memory(model, size, "final"), "preview": probe_memory(model, size, "preview"),
           "baseline": probe_memory(model, size, "final", upsampler=False)}
    log(f"  synthesized {sum(len(d) for d in draws)} masks x {len(frames) - 1} variants in "
        f"{time.perf_counter() - t0:.0f} s", )
    gts = [[cs.remap(resize_pair(img, lab, size)[1]) for img, lab in draw] for draw in draws]
    scores = {k: score(net, v, gts, cs.num_classes) for k, v in frames.items()}
    real_per, real_draw, real_feats = scores["real"]
    tune_feats = np.stack([predict(net, resize_pair(img, lab, size)[0])[1] for img, lab in tune])
    sub = max(2, len(real_feats) // 2)
    summary, per_rows, ratio_rows, draw_rows = [], [], [], []
    km, ks = kid(real_feats, tune_feats, subsets=20, subset_size=min(sub, len(tune_feats)))
    summary.append(("real frames of the tuning draw (KID floor)", "", "", f"{km * 1e3:.2f} ± {ks * 1e3:.2f}", "", ""))
    real_m = float(np.nanmean(real_per))
    for key, (per, per_draw, feats) in scores.items():
        name = LABELS.get(key, key)
        m = float(np.nanmean(per))
        k = ""
        if key != "real":
            km, ks = kid(real_feats, feats, subsets=20, subset_size=sub)
            k = f"{km * 1e3:.2f} ± {ks * 1e3:.2f}"
        s = secs.get(key)
        d_m = np.nanmean(per_draw, axis=1)
        summary.append((name, round(m, 3), f"{m / real_m:.2f}", k,
                        "" if not s else f"{np.mean(s):.1f} ± {np.std(s):.1f}", round(rss[key]) if key in rss else ""))
        per_rows.append((name, *[_fmt(v) for v in per]))
        draw_rows.append((name, f"{d_m.mean():.3f} ± {d_m.std():.3f}", *[_spread(per_draw[:, c]) for c in range(cs.num_classes)]))
        if key != "real":
            with np.errstate(divide="ignore", invalid="ignore"):  # a class the judge misses on real frames: no ratio
                ratio = np.where(real_per >= 0.05, per / real_per, np.nan)
            thin_ok = all(ratio[cs.names.index(c)] >= 0.85 for c in THIN)
            ratio_rows.append((name, *[_fmt(v) for v in ratio], "yes" if np.nanmin(ratio) >= 0.85 else "no",
                               "yes" if thin_ok else "no"))
    return net, meta, summary, per_rows, ratio_rows, draw_rows


def main(argv: list[str] | None = None) -> None:
    import torch

    from benchmarks._timing import print_table
    from benchmarks.bench_repaint import bench_repaint
    from benchmarks.synth_judge import HELD_SEEDS, JudgeConfig, chosen_config, held_out_draw, tuning_draw
    from engine.pipelines.folder import load_upsampler
    from engine.taxonomy import get_class_set

    parser = argparse.ArgumentParser(prog="bench_synthesis")
    parser.add_argument("--quick", action="store_true", help="1 draw of 2 frames, a short judge")
    parser.add_argument("--frames", type=int, default=4, help="frames per held-out draw (4)")
    parser.add_argument("--draws", type=int, default=len(HELD_SEEDS), help=f"held-out draws (seeds {HELD_SEEDS})")
    parser.add_argument("--repaint-frames", type=int, default=1, help="repainted frames per draw (1)")
    parser.add_argument("--sizes", default="960x540,480x270")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", type=Path, default=None, help="pipeline folder (default: the starter model)")
    parser.add_argument("--compare-upsampler", type=Path, action="append", default=[],
                        help="another upsampler folder to lift the same final samples with (repeatable)")
    parser.add_argument("--no-student", action="store_true", help="skip the distilled preview student section")
    parser.add_argument("--probe", nargs=3, metavar=("WxH", "PRESET", "up|bicubic"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv if argv is not None else [])
    if args.probe:
        return _probe(args)
    torch.set_num_threads(args.threads)
    n_frames, n_draws = (2, 1) if args.quick else (args.frames, args.draws)
    cs = get_class_set(1)
    full, _low = _pipelines(args.model)
    others = {f"final, upsampler {p.parent.name}/{p.name}": load_upsampler(p) for p in args.compare_upsampler}
    for p, name in zip(args.compare_upsampler, others):
        LABELS.setdefault(name, f"pipeline final, same samples, upsampler of {p}")
    draws = [held_out_draw(s, n_frames) for s in HELD_SEEDS[:n_draws]]
    tune = tuning_draw(4 if args.quick else 8)
    card = getattr(full, "card", None) or {}
    print(f"pipeline {args.model or 'starter'}: UNet {full.size[1]}x{full.size[0]}, upsampler "
          f"{'yes' if full.upsampler else 'NO'} ({card.get('upsampler_steps', '?')} steps); held-out draws: phantom "
          f"seeds {HELD_SEEDS[:n_draws]} x {n_frames} frames; {args.threads} threads, load {os.getloadavg()[0]:.1f}",
          flush=True)
    names = list(cs.names)
    for text in args.sizes.split(","):
        w, h = (int(v) for v in text.split("x"))
        judge = JudgeConfig(steps=60, extra_videos=0) if args.quick else chosen_config((w, h))
        net, meta, summary, per_rows, ratio_rows, draw_rows = bench_size(full, draws, tune, (w, h), cs, judge, others, args.model)
        n = sum(len(d) for d in draws)
        print_table(f"label consistency, KID, speed at {w}x{h} ({n} held-out masks, {n_draws} draws; judge "
                    f"{meta.get('total_steps', meta['config']['steps'])} steps on {meta['frames']} real frames)", summary,
                    ("frames", "mIoU", "ratio to real", "KID x1e3 (judge features)", "s/frame", "peak RSS MB (fresh process, one frame)"))
        print_table(f"per-class IoU at {w}x{h}, pooled over the {n} frames", per_rows, ("frames", *names))
        print_table(f"per-class IoU ratio to the real frames at {w}x{h} (target >= 0.85)", ratio_rows,
                    ("frames", *names, "all >= 0.85", "thin classes >= 0.85"))
        print_table(f"per-draw IoU at {w}x{h}: mean ± std over {n_draws} draws", draw_rows, ("frames", "mIoU", *names))
        rep = bench_repaint(full, draws, net, (w, h), cs, frames=1 if args.quick else args.repaint_frames)
        print_table(f"repaint at {w}x{h} (instrument pasted from another mask, 16 px margin, final preset)", rep,
                    ("size", "frames", "changed px outside region+margin (target 0)",
                     "pixel accuracy in the changed region: repainted vs edited mask",
                     "real frame vs its own mask, same pixels",
                     "instrument IoU in the changed region", "instrument IoU on the real frames", "s/frame"), )
        sys.stdout.flush()
    if not args.no_student:
        preview_student_section(full, draws[0][0][1], args.quick)


def preview_student_section(pipe, mask, quick: bool, skip_quality: bool = False) -> None:
    """The distilled preview student against this teacher (benchmarks/preview_student.py)."""
    from benchmarks.preview_student import student_benchmark
    from engine.models import starter_model_dir

    student_benchmark(pipe, starter_model_dir(), mask, quick, skip_quality)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])
