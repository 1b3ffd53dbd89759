"""Full-resolution synthesis benchmark: label consistency, KID, speed and memory at 960x540 and 480x270, and repaint.

On held-out phantom masks (the val/test videos of the starter recipe's phantom sample, never trained on):
1. Label consistency: a small segmenter (engine.baselines.small_unet's SmallUNet, trained here on native-scale
   crops of the REAL train frames at that resolution) labels (a) the real held-out frames and (b) frames
   synthesized from the same masks by the pipeline (final and preview presets) and (c) today's 128x72 UNet
   alone, its sample resized bicubic to the same size (no upsampler: the baseline). mIoU and per-class IoU over
   the experiment-1 classes (incl. Eye Retractors and Instrument); target (b) >= 0.85 x (a).
2. KID against the real held-out frames, on the segmenter's bottleneck features (mean and std pooled; a
   project-trained feature extractor, not Inception, whose weights are not shipped), for (b) and (c).
3. Seconds per frame (preview and final presets) and peak resident memory of this process.
4. Repaint: each held-out frame gets an instrument pasted from another mask; the frame is repainted with a
   16 px margin; counts changed pixels outside the changed region + margin (must be 0) and the segmenter's
   instrument IoU inside the changed region (repainted vs the real frames' own instrument IoU).

    python -m benchmarks.bench_synthesis [--quick] [--frames N] [--sizes 960x540,480x270]
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


def _phantom() -> Path:
    from benchmarks.train_starter_models import make_phantom

    return make_phantom(ROOT / "build" / "starter-models" / "phantom", 20, 10)


def _pipelines():
    from engine.models import starter_model_dir
    from engine.pipelines import SynthesisPipeline

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        full = SynthesisPipeline.from_pretrained(starter_model_dir(), device="cpu")
    low = SynthesisPipeline(full.unet, full.scheduler, None)  # today's 128x72 model, resized bicubic
    return full, low


def train_segmenter(pairs, cs, size, steps: int, crop: int = 160, seed: int = 0):
    """SmallUNet on random crops of the real frames resized to `size` (W, H): native scale, fully convolutional."""
    import cv2
    import torch
    import torch.nn.functional as F

    from engine.baselines.small_unet import SmallUNet

    w, h = size
    xs = [cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA) for img, _ in pairs]
    ys = [cv2.resize(cs.remap(lab), (w, h), interpolation=cv2.INTER_NEAREST) for _, lab in pairs]
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    net = SmallUNet(cs.num_classes, 16)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    c = min(crop, h, w)
    for _ in range(steps):
        bx, by = [], []
        for _ in range(4):
            i = int(rng.integers(len(xs)))
            y0, x0 = int(rng.integers(h - c + 1)), int(rng.integers(w - c + 1))
            bx.append(xs[i][y0:y0 + c, x0:x0 + c])
            by.append(ys[i][y0:y0 + c, x0:x0 + c])
        x = torch.from_numpy(np.stack(bx)).permute(0, 3, 1, 2).float() / 127.5 - 1
        y = torch.from_numpy(np.stack(by).astype(np.int64))
        loss = F.cross_entropy(net(x), y, ignore_index=255)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return net.eval()


def _predict(net, image):
    import torch

    feats = {}
    hook = net.bottom.register_forward_hook(lambda _m, _i, o: feats.setdefault("f", o))
    with torch.no_grad():
        x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1
        pred = net(x)[0].argmax(0).numpy().astype(np.uint8)
    hook.remove()
    f = feats["f"][0].flatten(1)
    return pred, np.concatenate([f.mean(1).numpy(), f.std(1).numpy()])


def _iou(preds, labels, n):
    from engine.metrics import confusion, iou_from_confusion

    conf = np.zeros((n, n), np.int64)
    for p, lab in zip(preds, labels):
        conf += confusion(p, lab, n)
    per, miou = iou_from_confusion(conf)
    return per, miou


def bench_size(full, low, train, held, size, seg_steps, cs) -> tuple[list, list, object]:
    import cv2

    from engine.metrics.distribution import kid
    from engine.pipelines import preset

    w, h = size
    t0 = time.perf_counter()
    net = train_segmenter(train, cs, size, seg_steps)
    print(f"  segmenter at {w}x{h}: {seg_steps} steps in {time.perf_counter() - t0:.0f} s", flush=True)
    masks = [cv2.resize(lab, (w, h), interpolation=cv2.INTER_NEAREST) for _, lab in held]
    gts = [cs.remap(m) for m in masks]
    reals = [cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA) for img, _ in held]
    variants = {"real held-out frames": (None, None)}
    variants["pipeline, final preset"] = (full, "final")
    variants["pipeline, preview preset"] = (full, "preview")
    variants["128x72 UNet resized bicubic (baseline), final"] = (low, "final")
    out, per_rows, real_feats, base = [], [], None, None
    for name, (pipe, pre) in variants.items():
        images, secs = reals, None
        if pipe is not None:
            t = time.perf_counter()
            images = [pipe(m, settings=preset(pre), seed=i).images[0] for i, m in enumerate(masks)]
            secs = (time.perf_counter() - t) / len(masks)
        res = [_predict(net, im) for im in images]
        per, miou = _iou([r[0] for r in res], gts, cs.num_classes)
        feats = np.stack([r[1] for r in res])
        if real_feats is None:
            real_feats, base = feats, miou
            k = ""
        else:
            km, ks = kid(real_feats, feats, subsets=10, subset_size=max(2, len(feats) // 2))
            k = f"{km * 1e3:.2f} ± {ks * 1e3:.2f}"
        out.append((name, round(miou, 3), f"{miou / base:.2f}", k, "" if secs is None else f"{secs:.1f}",
                    round(peak_rss_mb())))
        per_rows.append((name, *[("-" if np.isnan(v) else round(float(v), 2)) for v in per]))
    return out, per_rows, net


def bench_repaint(full, held, net, size, cs, margin: int = 16) -> list:
    import cv2

    from engine.pipelines import preset
    from engine.pipelines.repaint import grow

    w, h = size
    inst = cs.num_classes - 1  # experiment-1: the last class is "Instrument"
    rows, outside_total, ious_rep, ious_real = [], 0, [], []
    for i, (img, lab) in enumerate(held):
        real = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
        parent = cv2.resize(lab, (w, h), interpolation=cv2.INTER_NEAREST)
        donor = cv2.resize(held[(i + 1) % len(held)][1], (w, h), interpolation=cv2.INTER_NEAREST)
        donor_inst = cs.remap(donor) == inst
        edited = parent.copy()
        edited[donor_inst] = donor[donor_inst]
        if not (edited != parent).any():
            continue
        res = full(edited, image=real, parent_mask=parent, margin=margin, settings=preset("final"), seed=i)
        out = res.images[0]
        outside_total += int((out != real).any(-1)[~grow(res.changed, margin)].sum())
        pred = _predict(net, out)[0]
        ch = res.changed
        gt = cs.remap(edited)
        ious_rep.append(_region_iou(pred[ch], gt[ch], inst))
        real_pred = _predict(net, real)[0]
        real_inst = cs.remap(parent) == inst
        ious_real.append(_region_iou(real_pred[real_inst], cs.remap(parent)[real_inst], inst))
    rows.append((f"{w}x{h}", len(ious_rep), outside_total, round(float(np.nanmean(ious_rep)), 3),
                 round(float(np.nanmean(ious_real)), 3)))
    return rows


def _region_iou(pred, gt, cls) -> float:
    a, b = pred == cls, gt == cls
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else float("nan")


def main(argv: list[str] | None = None) -> None:
    import torch

    from benchmarks._timing import print_table
    from engine.dataset import open_dataset
    from engine.imageio import read_image, read_label
    from engine.taxonomy import get_class_set

    parser = argparse.ArgumentParser(prog="bench_synthesis")
    parser.add_argument("--quick", action="store_true", help="4 frames, short segmenter training")
    parser.add_argument("--frames", type=int, default=12, help="held-out frames (12)")
    parser.add_argument("--sizes", default="960x540,480x270")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv if argv is not None else [])
    torch.set_num_threads(args.threads)
    n = 4 if args.quick else args.frames
    seg_steps = 60 if args.quick else 400
    cs = get_class_set(1)
    full, low = _pipelines()
    frames = open_dataset(_phantom()).labelled()
    train = [(read_image(f.image_path), read_label(f.label_path)) for f in frames if f.split == "train"]
    held = [(read_image(f.image_path), read_label(f.label_path)) for f in frames if f.split != "train"][:: 2][:n]
    print(f"starter pipeline: UNet {full.size[1]}x{full.size[0]}, upsampler {'yes' if full.upsampler else 'NO'}; "
          f"{len(train)} train / {len(held)} held-out frames; {args.threads} threads, load {os.getloadavg()[0]:.1f}")
    names = list(cs.names)
    for text in args.sizes.split(","):
        w, h = (int(v) for v in text.split("x"))
        rows, per_rows, net = bench_size(full, low, train, held, (w, h), seg_steps, cs)
        print_table(f"label consistency, KID, speed at {w}x{h} ({len(held)} held-out phantom masks)", rows,
                    ("frames", "mIoU", "ratio to real (target >= 0.85)", "KID x1e3 (segmenter features)",
                     "s/frame", "peak RSS MB"))
        print_table(f"per-class IoU at {w}x{h}", per_rows, ("frames", *names))
        rep = bench_repaint(full, held, net, (w, h), cs)
        print_table(f"repaint at {w}x{h} (instrument pasted from another mask, 16 px margin, final preset)", rep,
                    ("size", "frames", "changed px outside region+margin (target 0)",
                     "instrument IoU in the changed region", "instrument IoU on the real frames"))
    preview_student_section(full, held[0][1], args.quick)


def preview_student_section(pipe, mask, quick: bool, skip_quality: bool = False) -> None:
    """The distilled preview student against this teacher (benchmarks/preview_student.py)."""
    from benchmarks.preview_student import student_benchmark
    from engine.models import starter_model_dir

    student_benchmark(pipe, starter_model_dir(), mask, quick, skip_quality)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])
