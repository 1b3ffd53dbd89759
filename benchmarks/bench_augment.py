"""Augment throughput and what augmentation does for a segmenter, measured on the phantom sample.

1. `cadis augment` throughput in pairs per minute on this machine: the preview preset (UniPC 4 steps, bf16
   where the CPU has it, cached SPADE maps, batched guidance) next to the reference recipe (DDIM 40 steps
   fp32, two forwards per step), with the shipped starter pipeline (`resources/models/starter-synthesis`, or
   $CADIS_STARTER_MODEL) loaded through the app's loader (`engine.services.pipelines.Pipelines`). Layout
   variants are made at 960x540 and the pairs come out at the mask's own size (960x540: the diffusion UNet
   samples at its working size, the upsampler lifts it).
2. The small UNet (engine.baselines.segmenters, the augmentation protocol's recipe: experiment-2 classes,
   native-scale instrument-centred crops, class-weighted loss, 400 steps) trained on 8 real phantom frames vs
   the same frames + one synthetic pair per frame from its layout variant, IoU per class on held-out phantom
   frames, with the rare instrument classes marked.

A missing or unloadable starter model is a failure: one line on stderr and exit status 1, never a skip.
The wider protocol (several N, sources, curation, seeds) is `python -m benchmarks.augment_protocol`.

Run: `python -m benchmarks -k augment`; `python -m benchmarks.bench_augment --chart PATH` also draws the
class-frequency chart of the phantom frames before/after layout augmentation.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._timing import print_table

ROOT = Path(__file__).resolve().parents[1]


class StarterModelError(RuntimeError):
    """The starter model is missing or cannot be loaded (the benchmark fails, it does not skip)."""


def starter_dir() -> Path:
    """The starter pipeline folder: $CADIS_STARTER_MODEL, else the shipped one."""
    return Path(os.environ.get("CADIS_STARTER_MODEL") or ROOT / "resources" / "models" / "starter-synthesis")


def load_starter(model_dir: Path | None = None):
    """The starter pipeline, loaded as the app loads it; StarterModelError (one line) when it cannot be."""
    from engine.services.pipelines import Pipelines

    model_dir = model_dir or starter_dir()
    if not model_dir.is_dir():
        raise StarterModelError(f"no starter model at {model_dir} (set CADIS_STARTER_MODEL or restore the folder)")
    try:
        return Pipelines().synthesis(str(model_dir), "cpu")
    except Exception as exc:  # noqa: BLE001 - any failure to load is the benchmark's failure, said in one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StarterModelError(f"cannot load the starter model at {model_dir}: {first}") from None


def pair_size(pipe, width: int, height: int) -> str:
    """'WxH' of the pairs `pipe` makes from a width x height mask (measured, not assumed)."""
    from engine.pipelines import preset

    image = pipe(np.zeros((height, width), np.uint8), settings=preset("preview", steps=1), seed=0).images[0]
    return f"{image.shape[1]}x{image.shape[0]}"


def _project(root: Path, videos: int, frames: int, width: int = 960, height: int = 540):
    from engine.phantom import generate_dataset
    from engine.project import Project

    generate_dataset(root / "data", videos=videos, frames_per_video=frames, seed=11, width=width, height=height)
    project = Project.open_or_create(root / "data", project_dir=root / "proj", journal_fsync=False)
    for k in project.frame_keys():
        project.set_status(k, "done")
    return project


def _throughput(pipe, preset_name: str, pairs: int, tmp: Path) -> tuple[float, float]:
    """(pairs per minute, share of time spent outside synthesis) of an augment run making `pairs` pairs."""
    from engine.augment.batch import AugmentSettings, run_augment
    from engine.pipelines import preset

    settings = preset(preset_name)
    synth_time = [0.0]

    def generate(label, seed):
        t0 = time.perf_counter()
        img = pipe(label, settings=settings, seed=seed).images[0]
        synth_time[0] += time.perf_counter() - t0
        return img

    project = _project(tmp / preset_name, videos=1, frames=pairs)
    try:
        t0 = time.perf_counter()
        res = run_augment(project, generate, AugmentSettings(layouts=1, samples=1, duplicate_threshold=0.0))
        total = time.perf_counter() - t0
    finally:
        project.close()
    n = len(res.stored)
    return 60.0 * n / total, 1.0 - synth_time[0] / total


def _segmenter_rows(pipe, tmp: Path, n_real: int = 8, n_test: int = 8, steps: int = 400) -> list[tuple]:
    from engine.augment.batch import AugmentSettings, run_augment
    from engine.baselines.segmenters import Recipe, predict_segmenter, train_segmenter
    from engine.metrics import confusion, iou_from_confusion
    from engine.phantom import render_frame
    from engine.pipelines import preset
    from engine.taxonomy import get_class_set

    recipe = Recipe(arch="unet", class_set="2", steps=steps)   # the protocol's recipe (ADR 0015)
    cs = get_class_set(recipe.class_set)
    project = _project(tmp / "seg", videos=2, frames=n_real // 2, width=256, height=144)
    try:
        real = [(project.load_image(k), project.load_label(k)) for k in project.frame_keys()]
        settings = preset("final", steps=6)
        run_augment(project, lambda lab, seed: pipe(lab, settings=settings, seed=seed).images[0],
                    AugmentSettings(layouts=1, samples=1, seed=0))
        records = project.pairs(source="augment")
        synth = [project.load_pair(p.id) for p in records]
        rare = {int(cs.lut[c]) for c in records[0].provenance["rare_classes"]} - {255} if records else set()
    finally:
        project.close()
    test = [render_frame(1000 + i, 256, 144) for i in range(n_test)]
    results = {}
    for name, data in (("real", real), ("real+synthetic", real + synth)):
        model = train_segmenter(data, recipe, seed=0)
        conf = sum(confusion(predict_segmenter(model, img), cs.remap(lab), cs.num_classes) for img, lab in test)
        iou, _ = iou_from_confusion(conf)
        iou[conf.sum(axis=1) == 0] = np.nan
        results[name] = iou
    miou = {k: float(np.nanmean(v)) for k, v in results.items()}
    rows = [(f"mIoU (experiment 2), {len(test)} held-out frames", f"{miou['real+synthetic']:.3f}",
             f"{miou['real']:.3f}", f"{len(real)} real vs {len(real)} real + {len(synth)} synthetic")]
    for c in sorted(set(np.nonzero(~np.isnan(results["real"]))[0]) | rare):
        a, b = results["real+synthetic"][c], results["real"][c]
        rows.append((f"  IoU {c} {cs.names[c]}{' (rare)' if c in rare else ''}", f"{a:.3f}", f"{b:.3f}", ""))
    return rows


def write_chart(path: Path, frames: int = 40) -> Path:
    """Class-frequency chart of `frames` phantom frames before/after 3 layout variants each."""
    from collections import Counter

    from engine.augment import DonorPool, layout_variants, rare_classes_from_counts
    from engine.export.report import ClassFrequency, write_report
    from engine.phantom import render_frame

    labels = [render_frame(s, 240, 136)[1] for s in range(frames)]
    counts: Counter = Counter()
    for lab in labels:
        counts.update(int(c) for c in np.unique(lab))
    rare = rare_classes_from_counts(dict(counts), 0.5)
    donors = DonorPool([lab for lab in labels if set(rare) & set(np.unique(lab).tolist())][:24])
    extra = [v.label for i, lab in enumerate(labels)
             for v in layout_variants(lab, 3, np.random.default_rng(i), rare, donors)]
    tmp = Path(tempfile.mkdtemp(prefix="bench-chart-"))
    try:
        files = write_report(ClassFrequency.from_labels(labels), ClassFrequency.from_labels(labels + extra), tmp)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(files.chart, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def main() -> None:
    import torch

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    try:
        pipe = load_starter()
    except StarterModelError as exc:
        print(f"bench_augment: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    size = pair_size(pipe, 960, 540)
    tmp = Path(tempfile.mkdtemp(prefix="bench-augment-"))
    try:
        ours, other_share = _throughput(pipe, "preview", 4, tmp)
        naive, _ = _throughput(pipe, "reference", 1, tmp)
        weights = f"starter model {starter_dir().name}"
        print_table(f"augment throughput (pairs per minute, 960x540 masks -> {size} pairs)", [
            ("pairs/minute", f"{ours:.1f}", f"{naive:.1f}", f"{ours / naive:.1f}x", weights),
            ("time outside synthesis", f"{100 * other_share:.0f}%", "", "", "layout variants, scoring, storing"),
        ], ("measure", "preview preset", "reference recipe", "speed-up", "note"))
        rows = _segmenter_rows(pipe, tmp)
        print_table("small UNet (protocol recipe): N real vs N real + synthetic (layout variants)", rows,
                    ("measure", "real + synthetic", "real only", "note"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if "--chart" in sys.argv:
        print(write_chart(Path(sys.argv[sys.argv.index("--chart") + 1])))
    else:
        main()
