"""The full-size preview against the seed recipe, in ONE run, on held-out masks (issue 29, docs/adr/0014).

    python -m benchmarks.bench_preview [--masks 1] [--repeat 3] [--quality-masks 8] [--skip-quality] [--fidelity]

1. Speed at 960x540 and 480x270: the preview (`engine.services.synthesis.synthesize` with the preview preset, what `cadis synth --preset
   preview` and the app's live preview call), today's preview before this change (the upsampler at 480x272 in
   bf16, then bicubic), the other candidates measured, and the seed recipe (40 DDIM steps with guidance, fp32,
   the upsampler at the mask's size: `cadis synth --preset final --sampler ddim --steps 40`). The methods are
   interleaved mask by mask (the CPU is shared: only figures of one run compare), the load average is read
   beside every seed-recipe call, and the ratio is the seed recipe's median over the preview's. The parts of
   the preview (student sampling, the lift) and its start-up (loading the folder, first call) are timed too.
2. Quality on held-out phantom masks never looked at while choosing the preview (`--quality-seeds`, default
   21-23, 8 masks each): the judge of `benchmarks.synth_judge` (a SmallUNet trained on real phantom frames;
   by default one judge at 480x270, `preview_judge()`, every size judged on frames resized to it) gives the
   label consistency of each variant (per-class IoU of retractors and instruments, mIoU; the judge's own
   accuracy on the real frames and chance beside it) and the difference of each variant to today's preview
   on the same student samples with its bootstrap spread over the frames (target: within 0.02); KID on the
   judge's features to the real frames of the same masks (mean ± std over 50 subsets); sharpness (variance
   of the Laplacian) against the real frames. A judge not cached under build/judges/ is trained first
   (`preview_judge()`: ~70 min on this loaded 2-core CPU; `--judge-size native`: the synthesis benchmark's
   judge per size, ~2 h). `--fidelity` (no judge): PSNR per class to the full fp32 lift of the same student
   sample, and sharpness.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZES = ((960, 540), (480, 270))
THIN = ("Eye Retractors", "Instrument")
PREVIEW = "preview (lift at 1/3 of the side, at least 240x136, + mask edges, 2 steps)"
TODAY = "today's preview (lift at 480x272, bicubic, 2 steps)"
SEED = "seed recipe (40 DDIM steps, guidance, fp32 full lift)"


def candidates() -> dict:
    """{name: StudentSettings} of the preview variants measured beside the chosen one (None = the chosen)."""
    from engine.distill import StudentSettings

    def px(pixels, **kw):  # a lift on a pixel budget alone
        return StudentSettings(max_lift_pixels=pixels, min_lift_scale=0.0, **kw)

    return {PREVIEW: None,
            TODAY: px(480 * 272, lift_edges=False),
            "lift at 240x136 + mask edges, 2 steps (first session)": px(240 * 136),
            "lift at 480x272 + mask edges, 2 steps": px(480 * 272),
            "lift at 240x136, bicubic, 2 steps": px(240 * 136, lift_edges=False),
            "upsampler at 128x72 + mask edges, 2 steps": px(128 * 72),
            "lift at 1/3 + mask edges, 1 step": StudentSettings(steps=1)}


def held_out_masks(per_seed: int, seeds=None) -> list:
    """(real frame, mask) pairs at 960x540 of held-out phantom seeds (default: the synthesis benchmark's)."""
    from benchmarks.synth_judge import HELD_SEEDS, held_out_draw

    return [pair for seed in (seeds or HELD_SEEDS) for pair in held_out_draw(seed, per_seed)]


def _call(pipe, name, settings, mask, seed):
    if settings is None:
        return pipe(mask, preset_name="preview", seed=seed).images[0]
    return pipe(mask, settings=settings, seed=seed).images[0]


def speed(teacher, student, pairs, size, repeat: int) -> tuple[list, list]:
    """Rows (recipe, ms median, [min, max], ratio to the seed recipe, load) for one size, interleaved."""
    import cv2
    import torch

    from engine.pipelines import preset
    from engine.pipelines.upsample import lift_to_mask_size

    w, h = size
    seed_settings = preset("final", sampler="ddim", steps=40)
    variants = candidates()
    masks = [cv2.resize(lab, (w, h), interpolation=cv2.INTER_NEAREST) for _, lab in pairs]
    ms = {name: [] for name in [SEED, *variants, "  part: student sampling at 128x72 (2 steps)",
                                "  part: lift (1/3, >= 240x136, + mask edges)"]}
    loads = []
    small = [cv2.resize(m, student.size[::-1], interpolation=cv2.INTER_NEAREST) for m in masks]
    scale = student(masks[0], seed=0).settings["lift_scale"]
    for name, st in variants.items():  # warm-up: bf16 copies, caches
        _call(student, name, st, masks[0], 0)
    for i, mask in enumerate(masks):
        loads.append(os.getloadavg()[0])
        t0 = time.perf_counter()
        teacher(mask, settings=seed_settings, seed=i)
        ms[SEED].append((time.perf_counter() - t0) * 1000)
        for r in range(repeat):
            for name, st in variants.items():
                t0 = time.perf_counter()
                _call(student, name, st, mask, 100 * i + r)
                ms[name].append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            low = student(small[i], seed=100 * i + r).images[0]
            ms["  part: student sampling at 128x72 (2 steps)"].append((time.perf_counter() - t0) * 1000)
            lt = torch.from_numpy(low).permute(2, 0, 1)[None].float().div(127.5).sub(1)
            t0 = time.perf_counter()
            lift_to_mask_size(lt, mask, student._lifter("bf16"), student.class_set, scale=scale)
            ms["  part: lift (1/3, >= 240x136, + mask edges)"].append((time.perf_counter() - t0) * 1000)
        loads.append(os.getloadavg()[0])
    ref = statistics.median(ms[SEED])
    load = f"{min(loads):.1f}-{max(loads):.1f}"
    rows = [(f"{w}x{h}", name, round(statistics.median(v)), f"[{min(v):.0f}, {max(v):.0f}]", len(v),
             f"{ref / statistics.median(v):.1f}x", load) for name, v in ms.items()]
    return rows, [statistics.median(ms[PREVIEW]), ref, load]


def start_up(model_dir, mask) -> tuple:
    """(ms to load the preview pipeline, ms of its first call, ms of its second call) in this process."""
    from engine.distill import preview_pipeline

    t0 = time.perf_counter()
    pipe, _ = preview_pipeline(model_dir, device="cpu")
    t1 = time.perf_counter()
    pipe(mask, preset_name="preview", seed=0)
    t2 = time.perf_counter()
    pipe(mask, preset_name="preview", seed=1)
    t3 = time.perf_counter()
    return round((t1 - t0) * 1000), round((t2 - t1) * 1000), round((t3 - t2) * 1000)


def sharpness(images) -> float:
    import cv2

    return float(np.mean([cv2.Laplacian(cv2.cvtColor(im, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var() for im in images]))


def preview_judge():
    """The judge of this benchmark: the synthesis benchmark's 480x270 network on a CPU budget that trained in
    ~70 min on this shared 2-core CPU (load 12-20) instead of ~2 h: 300 steps of 192x192 crops (freq^-0.5,
    lr 2e-3), continued for 300 steps (seed 0) and then 400 (seed 1) with stronger class weights (freq^-0.75,
    lr 1e-3, as the 960x540 judge's continuation); tuning-draw mIoU 0.71 (retractors 0.43, instruments 0.46).
    Its accuracy on the real held-out frames is printed beside the variants."""
    from benchmarks.synth_judge import JudgeConfig

    first = JudgeConfig(steps=300, crop=192)
    second = JudgeConfig(steps=300, crop=192, power=0.75, lr=1e-3, init=first)
    return JudgeConfig(steps=400, crop=192, power=0.75, lr=1e-3, seed=1, init=second)


def quality(student, pairs, size, judge_size, judge_cfg, log=print) -> tuple[list, list]:
    """(rows per variant: thin-class IoU, mIoU, KID ± std, sharpness vs real; rows per thin class: the judge's
    label consistency of each variant against today's preview, with its bootstrap spread over the frames)."""
    import cv2

    from benchmarks.synth_judge import get_judge, per_class_iou, predict
    from engine.metrics.distribution import kid
    from engine.taxonomy import get_class_set

    cs = get_class_set(1)
    w, h = size
    net, _meta = get_judge(cs, judge_size, judge_cfg, log)
    jw, jh = judge_size

    def judged(im):
        return cv2.resize(im, (jw, jh), interpolation=cv2.INTER_AREA) if (jw, jh) != (w, h) else im

    reals = [cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA) for img, _ in pairs]
    masks = [cv2.resize(lab, (w, h), interpolation=cv2.INTER_NEAREST) for _, lab in pairs]
    gts = [cs.remap(cv2.resize(lab, (jw, jh), interpolation=cv2.INTER_NEAREST)) for _, lab in pairs]
    runs = {REAL: lambda i, m: reals[i]}
    for name, st in candidates().items():
        runs[name] = lambda i, m, name=name, st=st: _call(student, name, st, m, 1000 + i)
    real_feats, sharp_real, rows, confs = None, sharpness(reals), [], {}
    for name, fn in runs.items():
        images = [fn(i, m) for i, m in enumerate(masks)]
        res = [predict(net, judged(im)) for im in images]
        confs[name] = frame_confusions([r[0] for r in res], gts, cs.num_classes)
        per = per_class_iou(confs[name].sum(0))
        feats = np.stack([r[1] for r in res])
        k = ""
        if real_feats is None:
            real_feats = feats
        else:
            km, ks = kid(real_feats, feats, subsets=50, subset_size=max(2, len(feats) * 2 // 3))
            k = f"{km * 1e3:.2f} ± {ks * 1e3:.2f}"
        thin = [per[cs.names.index(c)] for c in THIN]
        rows.append((f"{w}x{h}", name, *[f"{v:.3f}" for v in thin], f"{np.nanmean(per):.3f}", k,
                     f"{sharpness(images) / sharp_real:.2f}"))
        log(f"  {rows[-1]}")
    chance = chance_iou(gts, cs.num_classes)
    rows.append((f"{w}x{h}", "chance (random labels at the classes' frequencies)",
                 *[f"{chance[cs.names.index(c)]:.3f}" for c in THIN], f"{np.nanmean(chance):.3f}", "", ""))
    return rows, consistency_rows(confs, {c: cs.names.index(c) for c in THIN}, f"{w}x{h}")


REAL = "real held-out frames (the judge's own accuracy)"


def frame_confusions(preds, labels, n) -> np.ndarray:
    """(frames, n, n) confusion matrices, one per frame (summed over any subset of frames for a bootstrap)."""
    from engine.metrics import confusion

    return np.stack([confusion(p, lab, n) for p, lab in zip(preds, labels)])


def chance_iou(labels, n) -> np.ndarray:
    """Expected per-class IoU of labels drawn at random with the classes' pixel frequencies: p / (2 - p)."""
    counts = sum(np.bincount(lab[lab < n].ravel(), minlength=n)[:n] for lab in labels).astype(np.float64)
    p = counts / counts.sum()
    return np.where(p > 0, p / (2 - p), np.nan)


def consistency_rows(confs: dict, classes: dict, size: str, boots: int = 2000) -> list:
    """Per thin class and variant: IoU of the variant and of today's preview on the same frames, their
    difference and its spread (std and 5-95 % of a bootstrap over the frames, both frames sets resampled
    together), and whether it is within 0.02 of today's (target: difference >= -0.02)."""
    from benchmarks.synth_judge import per_class_iou

    rng = np.random.default_rng(0)
    base = confs[TODAY]
    n = len(base)
    draws = [rng.integers(0, n, n) for _ in range(boots)]
    rows = []
    for cname, c in classes.items():
        for name, conf in confs.items():
            if name in (TODAY, REAL):
                continue
            now, ref = per_class_iou(conf.sum(0))[c], per_class_iou(base.sum(0))[c]
            diffs = np.array([per_class_iou(conf[d].sum(0))[c] - per_class_iou(base[d].sum(0))[c] for d in draws])
            lo, hi = np.nanpercentile(diffs, [5, 95])
            rows.append((size, cname, name, f"{ref:.3f}", f"{now:.3f}", f"{now - ref:+.3f}",
                         f"{np.nanstd(diffs):.3f}", f"[{lo:+.3f}, {hi:+.3f}]",
                         "yes" if now - ref >= -0.02 else "NO"))
    return rows


def fidelity(student, pairs, size, log=print) -> list:
    """Without a trained judge: each variant's frame against the final preset's lift (fp32 upsampler at the
    mask's size) of the SAME student sample, PSNR over the retractor pixels, the instrument pixels and the
    whole frame (how much of the full lift's drawing a cheaper lift keeps), and sharpness against the real
    frames of the masks."""
    import cv2

    from engine.taxonomy import get_class_set

    cs = get_class_set(1)
    w, h = size
    reals = [cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA) for img, _ in pairs]
    masks = [cv2.resize(lab, (w, h), interpolation=cv2.INTER_NEAREST) for _, lab in pairs]
    full = replace_lift(student)
    refs = [student(m, settings=full, seed=1000 + i).images[0].astype(np.float64) for i, m in enumerate(masks)]
    sel = {c: [np.isin(cs.remap(m), [cs.names.index(c)]) for m in masks] for c in THIN}
    sharp_real = sharpness(reals)
    rows = [(f"{w}x{h}", "the full lift itself (what an accepted preview stores)", "inf", "inf", "inf",
             f"{sharpness([r.astype(np.uint8) for r in refs]) / sharp_real:.2f}")]
    for name, st in candidates().items():
        if st is not None and st.steps != student.default_settings.steps:
            continue  # another sample: not comparable pixel by pixel
        images = [_call(student, name, st, m, 1000 + i) for i, m in enumerate(masks)]
        err = {c: [] for c in (*THIN, "all")}
        for i, im in enumerate(images):
            d2 = (im.astype(np.float64) - refs[i]) ** 2
            err["all"].append(d2.reshape(-1))
            for c in THIN:
                err[c].append(d2[sel[c][i]].reshape(-1))
        psnr = [_psnr(np.concatenate(err[c])) for c in (*THIN, "all")]
        rows.append((f"{w}x{h}", name, *psnr, f"{sharpness(images) / sharp_real:.2f}"))
        log(f"  {rows[-1]}")
    return rows


def replace_lift(student):
    from dataclasses import replace

    return replace(student.default_settings, max_lift_pixels=None)  # the final preset's lift (accepted previews)


def _psnr(d2: np.ndarray) -> str:
    if not d2.size:
        return "-"
    mse = float(d2.mean())
    return "inf" if mse == 0 else f"{10 * np.log10(255.0 ** 2 / mse):.1f}"


def main(argv: list[str] | None = None) -> None:
    import torch

    from benchmarks._timing import print_table
    from benchmarks.bench_synthesis import _pipelines
    from benchmarks.synth_judge import chosen_config, total_steps
    from engine.distill import StudentPipeline
    from engine.models import starter_model_dir

    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_preview")
    p.add_argument("--masks", type=int, default=1, help="held-out masks per phantom seed timed (3 seeds)")
    p.add_argument("--repeat", type=int, default=3, help="preview calls per mask and variant")
    p.add_argument("--quality-masks", type=int, default=8, help="held-out masks per seed scored (3 seeds)")
    p.add_argument("--quality-seeds", default="21,22,23",
                   help="phantom seeds of the judged masks (default: a draw never looked at while choosing the "
                        "preview; the speed and --fidelity rows use the synthesis benchmark's 11-13)")
    p.add_argument("--skip-quality", action="store_true")
    p.add_argument("--skip-speed", action="store_true")
    p.add_argument("--judge-size", default="480x270",
                   help="one judge for every size, frames resized to it (default 480x270: ~70 min to train on a "
                        "loaded 2-core CPU); 'native': a judge per size (960x540: 600 more steps, ~2 h in all)")
    p.add_argument("--fidelity", action="store_true", help="quality without the judge (see `fidelity`)")
    args = p.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
    model_dir = starter_model_dir()
    teacher, _ = _pipelines(model_dir)
    student = StudentPipeline.from_pretrained(model_dir, device="cpu")
    head = f"{torch.get_num_threads()} torch thread(s), {os.cpu_count()} CPUs"
    if not args.skip_speed:
        pairs = held_out_masks(args.masks)
        rows, summary = [], []
        for size in SIZES:
            r, (prev, ref, load) = speed(teacher, student, pairs, size, args.repeat)
            rows += r
            summary.append((f"{size[0]}x{size[1]}", round(prev), round(ref), f"{ref / prev:.1f}x", load))
        print_table(f"ms per frame on {len(pairs)} held-out masks, methods interleaved ({head})", rows,
                    ("size", "recipe", "ms median", "[min, max]", "calls", "vs seed recipe", "load average"))
        print_table("the preview against the seed recipe (target >= 30x)", summary,
                    ("size", "preview ms", "seed recipe ms", "ratio", "load average during"))
        up = start_up(model_dir, pairs[0][1])
        print_table("start-up of the preview in this process (960x540)", [up],
                    ("load the folder ms", "first call ms", "second call ms"))
    if args.fidelity:
        pairs = held_out_masks(args.quality_masks)
        rows = [r for size in SIZES for r in fidelity(student, pairs, size)]
        print_table(f"fidelity on {len(pairs)} held-out masks: PSNR dB to the full fp32 lift of the same student "
                    "sample (higher = closer)", rows, ("size", "frames", *[f"PSNR {c}" for c in THIN], "PSNR all",
                                                       "sharpness vs real"))
    if not args.skip_quality:
        seeds = [int(v) for v in args.quality_seeds.split(",")]
        pairs = held_out_masks(args.quality_masks, seeds)
        rows, cons = [], []
        for size in SIZES:
            if args.judge_size == "native":
                judge, cfg = size, chosen_config(size)
            else:
                judge, cfg = tuple(int(v) for v in args.judge_size.split("x")), preview_judge()
            r, c = quality(student, pairs, size, judge, cfg)
            rows, cons = rows + r, cons + c
        judge_name = "a judge per size" if args.judge_size == "native" else f"the {args.judge_size} judge " \
            f"({total_steps(preview_judge())} steps of {preview_judge().crop}px crops)"
        print_table(f"quality on {len(pairs)} held-out masks (phantom seeds {args.quality_seeds}), {judge_name}; "
                    "KID on the judge's features to the real frames of the same masks, ± std over 50 subsets",
                    rows, ("size", "frames", *[f"IoU {c}" for c in THIN], "mIoU", "KID x1e3 (± std)",
                           "sharpness vs real"))
        print_table("label consistency against today's preview (the judge's IoU on the same student samples; "
                    "target: no class more than 0.02 below; spread: bootstrap over the frames)", cons,
                    ("size", "class", "preview", "today IoU", "IoU", "difference", "std", "5-95 %", "within 0.02"))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])
