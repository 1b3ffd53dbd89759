"""Synthesis benchmarks: preview latency against the reference recipe, and label consistency.

1. Latency at 128x72 on this CPU (2 threads), measured in the same run: the "preview" preset (4 UniPC steps,
   guidance batched into one forward of batch 2, SPADE modulation maps cached once per run, bf16 weights
   where the CPU has native bf16) against the seeds' reference recipe (40 DDIM steps, guidance as two
   forwards, fp32, modulation recomputed at every step), plus ablations that switch one speed-up off each.
   Uses the shipped starter model (an untrained model of the same architecture when it is missing:
   latency does not depend on the weights).
2. Label consistency: a small segmenter (engine.baselines.small_unet) trained on real phantom frames labels
   (a) held-out real phantom frames and (b) frames the starter model synthesizes from the same held-out
   masks; mIoU over experiment-1 classes at 128x72. Target: (b) >= 0.8 x (a).

    python -m benchmarks -k synthesis        or        python -m benchmarks.bench_synthesis [--quick]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _pipeline():
    from engine.models import starter_model_dir
    from engine.pipelines import SynthesisPipeline

    folder = starter_model_dir()
    if (folder / "diffusion_pytorch_model.safetensors").exists():
        return SynthesisPipeline.from_pretrained(folder, device="cpu"), "starter model"
    from benchmarks.train_starter_models import starter_config
    from engine.training import build_model

    return SynthesisPipeline(build_model(starter_config())), "untrained starter architecture (no starter model found)"


def latency(pipe, mask: np.ndarray, quick: bool = False) -> list[tuple]:
    from benchmarks._timing import median_ms
    from engine.pipelines import cpu_has_bf16, preset

    prev = preset("preview")
    ref = preset("reference")
    cases = [
        ("reference: 40 DDIM, 2 forwards, fp32, no cache", ref, 1 if quick else 3),
        ("reference + batched guidance", replace(ref, batched_guidance=True), 1 if quick else 2),
        ("preview without bf16", replace(prev, precision="fp32"), 3 if quick else 7),
        ("preview without cached modulation", replace(prev, cache_modulation=False), 3 if quick else 7),
        ("preview without batched guidance", replace(prev, batched_guidance=False), 3 if quick else 7),
        (f"preview: {prev.steps} UniPC, batched, cached, bf16={'yes' if cpu_has_bf16() else 'n/a (fp32)'}", prev,
         3 if quick else 9),
    ]
    rows, ref_ms = [], None
    for name, settings, repeat in cases:
        ms = median_ms(lambda: pipe(mask, settings=settings, seed=0), repeat=repeat, warmup=1)
        ref_ms = ref_ms or ms
        rows.append((name, settings.steps, round(ms), f"{ref_ms / ms:.1f}x"))
    return rows


def _phantom(quick: bool) -> Path:
    from engine.phantom import generate_dataset

    cached = ROOT / "build" / "starter-models" / "phantom"
    if (cached / ".complete").exists():
        return cached
    root = Path(tempfile.mkdtemp(prefix="bench_synth_")) / "phantom"
    generate_dataset(root, videos=8 if quick else 20, frames_per_video=4 if quick else 10, seed=0)
    return root


def label_consistency(pipe, quick: bool = False) -> list[tuple]:
    import cv2

    from engine.baselines.small_unet import predict_small_unet, train_small_unet
    from engine.dataset import open_dataset
    from engine.imageio import read_image, read_label
    from engine.metrics import confusion, iou_from_confusion
    from engine.pipelines import preset
    from engine.taxonomy import get_class_set

    cs = get_class_set(1)
    h, w = pipe.size
    index = open_dataset(_phantom(quick))
    frames = index.labelled()
    train = [(read_image(f.image_path), read_label(f.label_path)) for f in frames if f.split == "train"]
    held = [(read_image(f.image_path), read_label(f.label_path)) for f in frames if f.split != "train"]
    held = held[: 8 if quick else 24]
    seg = train_small_unet(train, class_set=cs, resolution=(w, h), steps=150 if quick else 500, seed=0)

    def miou(images, labels) -> float:
        conf = np.zeros((cs.num_classes, cs.num_classes), np.int64)
        for img, lab in zip(images, labels):
            conf += confusion(predict_small_unet(seg, img), cs.remap(lab), cs.num_classes)
        return iou_from_confusion(conf)[1]

    small_labels = [cv2.resize(lab, (w, h), interpolation=cv2.INTER_NEAREST) for _, lab in held]
    real_images = [cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA) for img, _ in held]
    rows = [("real held-out phantom frames", len(held), round(miou(real_images, small_labels), 3), "")]
    base = rows[0][2]
    for name in ("final", "preview"):
        synth = [pipe(lab, settings=preset(name), seed=i).images[0] for i, lab in enumerate(small_labels)]
        m = miou(synth, small_labels)
        rows.append((f"synthesized from the same masks ({name} preset)", len(held), round(m, 3), f"{m / base:.2f}"))
    return rows


def main(argv: list[str] | None = None) -> None:
    import torch

    from benchmarks._timing import print_table
    from engine.phantom import render_frame

    parser = argparse.ArgumentParser(prog="bench_synthesis")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and a smaller segmenter check")
    parser.add_argument("--skip-consistency", action="store_true")
    args = parser.parse_args(argv if argv is not None else [])
    torch.set_num_threads(2)
    pipe, what = _pipeline()
    _, mask = render_frame(7)
    rows = latency(pipe, mask, args.quick)
    print_table(f"synthesis latency per frame at {pipe.size[1]}x{pipe.size[0]}, {what}, "
                f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}",
                rows, ("recipe", "steps", "ms/frame", "speed-up vs reference"))
    if args.skip_consistency:
        preview_student_section(pipe, mask, args.quick, skip_quality=True)
        return
    try:
        import engine.baselines.small_unet  # noqa: F401
    except ImportError:
        print("\nlabel consistency skipped: engine.baselines.small_unet is not available")
        return
    rows = label_consistency(pipe, args.quick)
    print_table("label consistency (experiment-1 mIoU of a small segmenter trained on real phantom frames)",
                rows, ("frames", "count", "mIoU", "ratio to real (target >= 0.8)"))
    preview_student_section(pipe, mask, args.quick)


def preview_student_section(pipe, mask, quick: bool, skip_quality: bool = False) -> None:
    """The distilled preview student against this teacher (benchmarks/preview_student.py)."""
    from benchmarks.preview_student import student_benchmark
    from engine.models import starter_model_dir

    student_benchmark(pipe, starter_model_dir(), mask, quick, skip_quality)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])
