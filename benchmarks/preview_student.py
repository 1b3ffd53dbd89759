"""The distilled preview student against the teacher, measured side by side in one run (called by
`python -m benchmarks.bench_synthesis`; alone: `python -m benchmarks.preview_student [--quick]`).

1. Latency per frame at the model size: the student at 1 and 2 LCM steps against the teacher's 4-step
   preview preset and the 40-step DDIM reference recipe (ratios to both). Then the student's 1-step
   latency at 480x272 and 960x544 (the frame sizes rounded to the UNet's multiple of 8) on an untrained
   copy of the same architecture: latency does not depend on the weights.
2. Quality on the held-out (val/test) phantom masks: label consistency (experiment-1 mIoU of a small
   segmenter trained on real train frames, as bench_synthesis) of the student against the teacher's final
   preset (target >= 0.95 of it), and KID against the real held-out frames on the teacher's own decoder
   features (`DiffusionFeatures`; target: the student's within 20% of the teacher's).

The student is MODEL_DIR/student of the model folder the benchmark uses (CADIS_SYNTH_MODEL or the shipped
starter model); without one, the section says so and measures nothing.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _student(model_dir: Path):
    from engine.distill import StudentPipeline, student_problem

    problem = student_problem(model_dir)
    return (None, problem) if problem else (StudentPipeline.from_pretrained(model_dir, device="cpu"), "")


def latency(teacher, student, mask: np.ndarray, quick: bool = False) -> list[tuple]:
    from benchmarks._timing import median_ms
    from engine.pipelines import preset

    r = 3 if quick else 9
    cases = [("teacher: reference, 40 DDIM steps", lambda: teacher(mask, settings=preset("reference"), seed=0), 1 if quick else 3),
             ("teacher: preview preset, 4 UniPC steps", lambda: teacher(mask, settings=preset("preview"), seed=0), r),
             ("student: 2 LCM steps", lambda: student(mask, steps=2, seed=0), r),
             ("student: 1 LCM step", lambda: student(mask, steps=1, seed=0), r)]
    rows, ms = [], {}
    for name, fn, repeat in cases:
        ms[name] = median_ms(fn, repeat=repeat, warmup=1)
    ref, prev = ms[cases[0][0]], ms[cases[1][0]]
    for name, _fn, _r in cases:
        rows.append((name, round(ms[name], 1), f"{ref / ms[name]:.1f}x", f"{prev / ms[name]:.2f}x"))
    return rows


def latency_at_sizes(student, mask: np.ndarray, sizes=((272, 480), (544, 960)), quick: bool = False) -> list[tuple]:
    """1- and 2-step latency of an untrained student of the same architecture at larger sizes."""
    from benchmarks._timing import median_ms
    from engine.distill import ConsistencyStudent, StudentPipeline

    rows = []
    for h, w in sizes:
        cfg = dict(student.student.config)
        unet_cfg = dict(cfg["unet_config"], sample_size=[h, w])
        keep = {k: v for k, v in cfg.items() if not k.startswith("_") and k != "unet_config"}
        big = StudentPipeline(ConsistencyStudent(unet_config=unet_cfg, **keep), student.scheduler_config)
        for steps in (1, 2):
            ms = median_ms(lambda big=big, steps=steps: big(mask, steps=steps, seed=0), repeat=2 if quick else 5, warmup=1)
            rows.append((f"{w}x{h}", steps, round(ms)))
    return rows


def _held_out(quick: bool):
    import cv2

    from benchmarks.bench_synthesis import _phantom
    from engine.dataset import open_dataset
    from engine.imageio import read_image, read_label

    frames = open_dataset(_phantom(quick)).labelled()
    train = [(read_image(f.image_path), read_label(f.label_path)) for f in frames if f.split == "train"]
    held = [(read_image(f.image_path), read_label(f.label_path)) for f in frames if f.split != "train"]
    return train, held[: 12 if quick else 48], cv2


def quality(teacher, student, quick: bool = False) -> list[tuple]:
    from engine.baselines.small_unet import predict_small_unet, train_small_unet
    from engine.metrics import confusion, iou_from_confusion
    from engine.metrics.distribution import DiffusionFeatures, kid
    from engine.pipelines import preset
    from engine.taxonomy import get_class_set

    cs = get_class_set(1)
    h, w = teacher.size
    train, held, cv2 = _held_out(quick)
    seg = train_small_unet(train, class_set=cs, resolution=(w, h), steps=150 if quick else 500, seed=0)
    labels = [cv2.resize(lab, (w, h), interpolation=cv2.INTER_NEAREST) for _, lab in held]
    real = [cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA) for img, _ in held]
    feats = DiffusionFeatures(teacher.model, teacher.scheduler_config)
    f_real = feats(real)

    def scores(images):
        conf = np.zeros((cs.num_classes, cs.num_classes), np.int64)
        for img, lab in zip(images, labels):
            conf += confusion(predict_small_unet(seg, img), cs.remap(lab), cs.num_classes)
        return iou_from_confusion(conf)[1], kid(f_real, feats(images))[0]

    sets = {
        "teacher: final preset (30 DPM-Solver++ steps)": [teacher(lab, settings=preset("final"), seed=i).images[0]
                                                         for i, lab in enumerate(labels)],
        "teacher: preview preset (4 UniPC steps)": [teacher(lab, settings=preset("preview"), seed=i).images[0]
                                                    for i, lab in enumerate(labels)],
        "student: 2 LCM steps": [student(lab, steps=2, seed=i).images[0] for i, lab in enumerate(labels)],
        "student: 1 LCM step": [student(lab, steps=1, seed=i).images[0] for i, lab in enumerate(labels)],
    }
    m_real, k_real = scores(real)
    rows = [("real held-out phantom frames", len(real), round(m_real, 3), "", round(k_real, 5), "")]
    base_m = base_k = None
    for name, images in sets.items():
        m, k = scores(images)
        base_m = base_m if base_m is not None else m
        base_k = base_k if base_k is not None else k
        rows.append((name, len(images), round(m, 3), f"{m / base_m:.3f}", round(k, 5), f"{k / base_k:.2f}"))
    return rows


def student_benchmark(teacher, model_dir: Path, mask: np.ndarray, quick: bool = False, skip_quality: bool = False,
                      skip_sizes: bool = False) -> None:
    import torch

    from benchmarks._timing import print_table

    student, problem = _student(model_dir)
    if student is None:
        print(f"\n## distilled preview student: not measured ({problem})")
        return
    card = student.card
    print_table(f"preview student vs teacher, ms per frame at {teacher.size[1]}x{teacher.size[0]} "
                f"(student of step {card.get('steps', '?')}, {torch.get_num_threads()} threads, "
                f"load average {os.getloadavg()[0]:.1f})",
                latency(teacher, student, mask, quick),
                ("recipe", "ms/frame", "speed-up vs reference", "speed-up vs 4-step preview"))
    if not skip_sizes:
        print_table("student latency at frame sizes (untrained weights of the same architecture; latency only)",
                    latency_at_sizes(student, mask, quick=quick), ("size", "steps", "ms/frame"))
    if skip_quality:
        return
    print_table("student quality on held-out phantom masks (label consistency: experiment-1 mIoU of a small "
                "segmenter trained on real frames, target >= 0.95 of the teacher's final; KID to the real frames "
                "on the teacher's decoder features, target <= 1.2x the teacher's final)",
                quality(teacher, student, quick),
                ("frames", "count", "mIoU", "mIoU ratio to teacher final", "KID", "KID ratio to teacher final"))


def main(argv: list[str] | None = None) -> None:
    import torch

    from benchmarks.bench_synthesis import _pipelines
    from engine.models import starter_model_dir
    from engine.phantom import render_frame

    parser = argparse.ArgumentParser(prog="preview_student")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-sizes", action="store_true", help="no 480x272 / 960x544 latency rows")
    args = parser.parse_args(argv if argv is not None else [])
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    teacher, _low = _pipelines()
    _, mask = render_frame(7)
    student_benchmark(teacher, starter_model_dir(), mask, args.quick, args.skip_quality, args.skip_sizes)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])
