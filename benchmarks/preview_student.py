"""The distilled preview student against the teacher, measured side by side in one run (called by
`python -m benchmarks.bench_synthesis`; alone: `python -m benchmarks.preview_student [--quick] [--tune]`).

1. Latency per frame at the model size (128x72 masks: sampling only): the student at 1 and 2 LCM steps
   against the teacher's 4-step preview preset and the 40-step DDIM reference recipe (ratios to both).
2. Latency per frame at the mask's own size, 480x270 and 960x540 (what a user of a CaDIS-size mask waits
   for): the teacher's preview preset, the student with the full lift (the upsampler at the mask's size, as
   the final preset) and with the preview lift (the upsampler at half the mask's size, then bicubic), with
   the parts (student sampling, full lift, preview lift) timed alone; and how far the preview lift is from
   the full lift of the same sample (PSNR).
3. Quality (`--skip-quality` leaves it out): label consistency (experiment-1 mIoU of a small segmenter
   trained on the real train frames of the seed-0 phantom the teacher learnt from) of the student against
   the teacher's final preset (target >= 0.95 of it), and KID to the real frames on the teacher's own
   decoder features (`DiffusionFeatures`; target <= 1.2x the teacher's final), mean +- std over random
   2/3 subsets. Two mask sets: "tuning" (the seed-0 phantom's val/test frames; `--tune` compares sampling
   settings of the student there) and "report" (a phantom of seed 1: masks and frames no model has seen);
   the sampling settings are chosen on the first and reported on the second.

The student is MODEL_DIR/student of the model folder the benchmark uses (CADIS_SYNTH_MODEL or the shipped
starter model); without one, the section says so and measures nothing. Times: median and [p25, p75].
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
SIZES = ((480, 270), (960, 540))
REPORT_SEED = 1
REPORT_VIDEOS = 24


def _load_student(model_dir):
    from engine.distill import StudentPipeline

    return StudentPipeline.from_pretrained(model_dir, device="cpu")


def _student(model_dir: Path):
    from engine.distill import StudentPipeline, student_problem

    problem = student_problem(model_dir)
    return (None, problem) if problem else (StudentPipeline.from_pretrained(model_dir, device="cpu"), "")


def _times(fn, repeat: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def _spread(ms: list[float]) -> str:
    if len(ms) < 4:
        return f"[{min(ms):.0f}, {max(ms):.0f}]"
    q = statistics.quantiles(ms, n=4)
    return f"[{q[0]:.0f}, {q[2]:.0f}]"


def latency(teacher, student, mask: np.ndarray, quick: bool = False) -> list[tuple]:
    """Sampling at the model size: a mask of the UNet's own size (the lift is then a no-op)."""
    from engine.labels import resize_label
    from engine.pipelines import preset

    mask = resize_label(mask, teacher.size)
    r = 3 if quick else 9
    cases = [("teacher: reference, 40 DDIM steps", lambda: teacher(mask, settings=preset("reference"), seed=0), 1 if quick else 3),
             ("teacher: preview preset, 4 UniPC steps", lambda: teacher(mask, settings=preset("preview"), seed=0), r),
             ("student: 2 LCM steps", lambda: student(mask, num_inference_steps=2, seed=0), r),
             ("student: 1 LCM step", lambda: student(mask, num_inference_steps=1, seed=0), r)]
    ms = {name: _times(fn, repeat) for name, fn, repeat in cases}
    ref, prev = (statistics.median(ms[c[0]]) for c in cases[:2])
    return [(name, round(statistics.median(ms[name]), 1), _spread(ms[name]), f"{ref / statistics.median(ms[name]):.1f}x",
             f"{prev / statistics.median(ms[name]):.2f}x") for name, _f, _r in cases]


def latency_full_size(teacher, student, mask: np.ndarray, quick: bool = False) -> tuple[list[tuple], list[tuple]]:
    """Whole frames at 480x270 and 960x540, and the parts alone; + PSNR of each preview lift to the full lift."""
    rows, fidelity = [], []
    for w, h in SIZES:
        r, f = _at_size(teacher, student, mask, (w, h), quick)
        rows += r
        fidelity.append(f)
    return rows, fidelity


def _at_size(teacher, student, mask: np.ndarray, size: tuple[int, int], quick: bool):
    from dataclasses import replace

    import cv2
    import torch

    from engine.pipelines import preset
    from engine.pipelines.upsample import lift_to_mask_size

    w, h = size
    m = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
    small = cv2.resize(mask, teacher.size[::-1], interpolation=cv2.INTER_NEAREST)
    low = torch.from_numpy(student(small, num_inference_steps=1, seed=0).images[0]).permute(2, 0, 1)[None].float().div(127.5).sub(1)
    up32, up16, cs = student.upsampler, student._lifter("bf16"), student.class_set
    scale = student(m, num_inference_steps=1, seed=0).settings["lift_scale"]  # what the preview's pixel budget gives here
    full1 = replace(student.default_settings, steps=1, max_lift_pixels=None)  # the final preset's lift
    cases = [("teacher: preview preset (4 UniPC steps, fp32 lift)", lambda: teacher(m, settings=preset("preview"), seed=0)),
             ("student 1 step, fp32 lift at full size (an accepted preview)", lambda: student(m, settings=full1, seed=0)),
             (f"student 1 step, bf16 lift at scale {scale} (the preview)", lambda: student(m, num_inference_steps=1, seed=0)),
             (f"student 2 steps, bf16 lift at scale {scale}", lambda: student(m, num_inference_steps=2, seed=0)),
             ("  part: student 1 step at 128x72 (no lift)", lambda: student(small, num_inference_steps=1, seed=0)),
             ("  part: fp32 lift at full size (the final preset's)", lambda: lift_to_mask_size(low, m, up32, cs)),
             ("  part: bf16 lift at full size", lambda: lift_to_mask_size(low, m, up16, cs)),
             ("  part: bf16 lift at scale 0.5", lambda: lift_to_mask_size(low, m, up16, cs, scale=0.5))]
    rows = []
    for name, fn in cases:
        ms = _times(fn, 1 if quick and "teacher" in name else (3 if quick else 7))
        rows.append((f"{w}x{h}", name, round(statistics.median(ms)), _spread(ms)))
    ref = lift_to_mask_size(low, m, up32, cs).astype(np.float64)
    fidelity = (f"{w}x{h}", "yes" if up32 is not None else "NO (all bicubic)",
                round(_psnr(ref, lift_to_mask_size(low, m, up16, cs).astype(np.float64)), 1),
                round(_psnr(ref, lift_to_mask_size(low, m, up16, cs, scale=0.5).astype(np.float64)), 1),
                round(_psnr(ref, lift_to_mask_size(low, m, None, cs).astype(np.float64)), 1))
    return rows, fidelity


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def _frames(root: Path, split_train: bool):
    from engine.dataset import open_dataset
    from engine.imageio import read_image, read_label

    frames = open_dataset(root).labelled()
    pick = [f for f in frames if (f.split == "train") == split_train]
    return [(read_image(f.image_path), read_label(f.label_path)) for f in pick]


def _report_phantom(root: Path) -> Path:
    """A phantom of another seed, many short videos (frames of one video look alike: more videos, less
    correlated KID)."""
    from engine.phantom import generate_dataset

    if not (root / ".complete").exists():
        generate_dataset(root, videos=REPORT_VIDEOS, frames_per_video=4, seed=REPORT_SEED)
        (root / ".complete").write_text("ok\n")
    return root


def mask_sets(quick: bool) -> tuple[list, dict]:
    """(real train frames of the teacher's phantom, {"tuning": held-out pairs, "report": seed-1 pairs})."""
    from benchmarks.bench_synthesis import _phantom

    seed0 = _phantom()
    report = _report_phantom(ROOT / "build" / "starter-models" / f"phantom-seed{REPORT_SEED}-{REPORT_VIDEOS}x4")
    report_pairs = _frames(report, True) + _frames(report, False)
    return _frames(seed0, True), {"tuning": _frames(seed0, False)[: 12 if quick else 48],
                                  "report": report_pairs[: 12 if quick else 4 * REPORT_VIDEOS]}


class Scorer:
    """mIoU of the segmenter, and KID to the real frames of one mask set on paired random subsets: the same
    2/3 of the masks for every run, so ratios between runs compare like with like."""

    def __init__(self, teacher, train, held, seg=None, subsets: int = 100):
        import cv2

        from engine.baselines.small_unet import train_small_unet
        from engine.metrics.distribution import DiffusionFeatures
        from engine.taxonomy import get_class_set

        self.cs = get_class_set(1)
        h, w = teacher.size
        self.seg = seg or train_small_unet(train, class_set=self.cs, resolution=(w, h), steps=500, seed=0)
        self.labels = [cv2.resize(lab, (w, h), interpolation=cv2.INTER_NEAREST) for _, lab in held]
        self.real = [cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA) for img, _ in held]
        self.feats = DiffusionFeatures(teacher.unet, teacher.scheduler_config)
        self.f_real = self.feats(self.real)
        n = len(self.real)
        rng = np.random.default_rng(0)
        self.subsets = [rng.choice(n, max(4, 2 * n // 3), replace=False) for _ in range(subsets)]

    def __call__(self, images) -> tuple[float, np.ndarray]:
        """(mIoU, KID of each paired subset)."""
        from engine.baselines.small_unet import predict_small_unet
        from engine.metrics import confusion, iou_from_confusion
        from engine.metrics.distribution import mmd2_unbiased

        conf = np.zeros((self.cs.num_classes, self.cs.num_classes), np.int64)
        for img, lab in zip(images, self.labels):
            conf += confusion(predict_small_unet(self.seg, img), self.cs.remap(lab), self.cs.num_classes)
        f = np.asarray(self.feats(images), np.float64)
        real = np.asarray(self.f_real, np.float64)
        kids = np.array([mmd2_unbiased(real[i], f[i]) for i in self.subsets])
        return float(iou_from_confusion(conf)[1]), kids


def _student_variants(tune: bool) -> dict:
    """The reported settings (2 steps: the tuned schedule, engine.distill.sampling.two_step_timesteps), or with
    `tune` the candidates they were chosen from."""
    from engine.distill import StudentSettings

    chosen = {"student: 2 LCM steps": StudentSettings(steps=2), "student: 1 LCM step": StudentSettings(steps=1)}
    if not tune:
        return chosen
    out = {f"student: 1 step, w={w}": StudentSettings(steps=1, guidance=w) for w in (2.0, 3.0)}
    for ts in ((999, 959), (999, 919), (999, 879), (999, 839), (999, 759), (999, 499)):
        out[f"student: timesteps {ts}, w=2.0"] = StudentSettings(timesteps=ts)
    for w in (1.0, 3.0):
        out[f"student: timesteps (999, 879), w={w}"] = StudentSettings(timesteps=(999, 879), guidance=w)
    return out


def sharpness(images) -> float:
    """Mean variance of the Laplacian of the grey frames (blur lowers it)."""
    import cv2

    return float(np.mean([cv2.Laplacian(cv2.cvtColor(im, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var() for im in images]))


def _teacher_cached(teacher, set_name: str, name: str, labels, fn) -> list:
    """The teacher's frames of a mask set (they do not depend on the student), kept in build/ between runs."""
    import hashlib

    key = hashlib.sha256(teacher.fingerprint.encode() + name.encode() + b"".join(lab.tobytes() for lab in labels))
    path = ROOT / "build" / "preview-student-cache" / f"{set_name}-{key.hexdigest()[:16]}.npz"
    if path.exists():
        return list(np.load(path)["frames"])
    frames = [fn(i, lab) for i, lab in enumerate(labels)]
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, frames=np.stack(frames))
    return frames


def quality(teacher, student, quick: bool = False, tune: bool = False, sets=("tuning", "report"),
            others: dict | None = None) -> dict:
    """{set name: rows}; a row: frames, count, mIoU, its ratio to the teacher's final, KID x1e3 (mean, std
    over the paired subsets), KID ratio to the teacher's final (mean over mean) and [p5, p95] of the ratio
    on each paired subset."""
    from engine.pipelines import preset

    train, held_sets = mask_sets(quick)
    out, seg = {}, None
    for set_name in sets:
        score = Scorer(teacher, train, held_sets[set_name], seg)
        seg = score.seg
        labels = score.labels
        runs = {"real frames (their own masks)": lambda i, lab, real=score.real: real[i],
                "teacher: final preset (30 DPM-Solver++ steps)": lambda i, lab: teacher(lab, settings=preset("final"), seed=i).images[0],
                "teacher: preview preset (4 UniPC steps)": lambda i, lab: teacher(lab, settings=preset("preview"), seed=i).images[0]}
        for name, st in _student_variants(tune and set_name == "tuning").items():
            runs[name] = lambda i, lab, st=st: student(lab, settings=st, seed=i).images[0]
            for tag, other in (others or {}).items():  # other students (--compare), same settings
                runs[f"{tag} {name}"] = lambda i, lab, st=st, o=other: o(lab, settings=st, seed=i).images[0]
        rows, base, sharp_real = [], None, sharpness(score.real)
        for name, fn in runs.items():
            images = _teacher_cached(teacher, set_name, name, labels, fn) if name.startswith("teacher") else \
                [fn(i, lab) for i, lab in enumerate(labels)]
            m, kids = score(images)
            sharp = f"{sharpness(images) / sharp_real:.2f}"
            if name.startswith("real"):  # the segmenter on the real frames; their KID to themselves means nothing
                rows.append((name, len(labels), round(m, 3), "", "", "", "", "", sharp))
                continue
            base = (m, kids) if base is None else base
            per = kids / base[1]
            rows.append((name, len(labels), round(m, 3), f"{m / base[0]:.3f}", round(float(kids.mean()) * 1e3, 3),
                         round(float(kids.std()) * 1e3, 3), f"{kids.mean() / base[1].mean():.2f}",
                         f"[{np.percentile(per, 5):.2f}, {np.percentile(per, 95):.2f}]", sharp))
            print(f"  [{set_name}] {rows[-1]}", flush=True)
        out[set_name] = rows
    return out


def student_benchmark(teacher, model_dir: Path, mask: np.ndarray, quick: bool = False, skip_quality: bool = False,
                      skip_sizes: bool = False, tune: bool = False, skip_latency: bool = False,
                      sets=("tuning", "report"), compare: tuple = ()) -> None:
    import torch

    from benchmarks._timing import print_table

    student, problem = _student(model_dir)
    if student is None:
        print(f"\n## distilled preview student: not measured ({problem})")
        return
    card = student.card
    where = (f"student of step {card.get('steps', '?')}, {torch.get_num_threads()} threads, "
             f"load average {os.getloadavg()[0]:.1f}")
    if not skip_latency:
        print_table(f"preview student vs teacher, ms per frame at the model size {teacher.size[1]}x{teacher.size[0]} "
                    f"(sampling only; {where})", latency(teacher, student, mask, quick),
                    ("recipe", "ms/frame", "[p25, p75]", "speed-up vs reference", "speed-up vs 4-step preview"))
    if not skip_sizes and not skip_latency:
        rows, fidelity = latency_full_size(teacher, student, mask, quick)
        print_table(f"ms per frame at the mask's size (targets: 480x270 <= 400 ms, 960x540 <= 1000 ms; "
                    f"upsampler {'yes' if student.upsampler is not None else 'NO'}; {where}; "
                    f"load now {os.getloadavg()[0]:.1f})", rows, ("mask size", "recipe", "ms/frame", "[p25, p75]"))
        print_table("preview lifts against the final preset's fp32 lift of the same 1-step sample (PSNR dB; higher "
                    "= closer)", fidelity, ("mask size", "upsampler", "bf16 full size", "bf16 at scale 0.5",
                                            "bicubic only (no upsampler)"))
    if skip_quality:
        return
    others = {f"[{Path(d).name}]": _load_student(d) for d in compare}
    for set_name, rows in quality(teacher, student, quick, tune, sets, others).items():
        what = ("the seed-0 phantom's val/test masks: sampling settings chosen here" if set_name == "tuning" else
                f"a seed-{REPORT_SEED} phantom no model has seen: the reported figures")
        print_table(f"student quality on {set_name} masks ({what}; label consistency: experiment-1 mIoU, target >= "
                    "0.95 of the teacher's final; KID x1e3 on the teacher's decoder features, mean and std over 100 "
                    "paired random 2/3 subsets of the masks, target <= 1.2x the teacher's final)", rows,
                    ("frames", "count", "mIoU", "mIoU ratio", "KID x1e3", "std", "KID ratio", "ratio [p5, p95]",
                     "sharpness vs real"))


def main(argv: list[str] | None = None) -> None:
    import torch

    from benchmarks.bench_synthesis import _pipelines
    from engine.models import starter_model_dir
    from engine.phantom import render_frame

    parser = argparse.ArgumentParser(prog="preview_student")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-sizes", action="store_true", help="no 480x270 / 960x540 latency rows")
    parser.add_argument("--skip-latency", action="store_true", help="quality only")
    parser.add_argument("--sets", default="tuning,report", help="mask sets of the quality section")
    parser.add_argument("--compare", action="append", default=[], help="another model folder whose student to score too")
    parser.add_argument("--tune", action="store_true", help="also compare sampling settings on the tuning masks")
    args = parser.parse_args(argv if argv is not None else [])
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    teacher, _low = _pipelines()
    _, mask = render_frame(7)
    student_benchmark(teacher, starter_model_dir(), mask, args.quick, args.skip_quality, args.skip_sizes, args.tune,
                      args.skip_latency, tuple(args.sets.split(",")), tuple(args.compare))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])
