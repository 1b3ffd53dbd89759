"""Pre-segmentation from diffusion features vs a small supervised UNet, on the phantom sample.

    python -m benchmarks.bench_preseg [--model MODEL_DIR] [--threads N] [--quick]

Experiment-1 classes (8), frames at 256x144. Labelled frames come from phantom videos 1-5, the held-out
test frames from videos 6-8 (never seen by either method). For 5, 10 and 20 labelled frames it trains
the diffusion-feature head (10-member pixel-MLP ensemble) and the small UNet baseline on the SAME frames
and reports mIoU on the test frames (intersections and unions summed over the set, engine.metrics.seg).
The head is reported with its presence gate (the default) and without it (`area_gate=0`).
It also reports the peak RSS of training the head on 20 frames (measured in a child process with
resource.getrusage, next to the bytes a naive fp32 "every pixel" feature table would need) and the
seconds per frame to pre-segment at 256x144 (next to the UNet's).

The diffusion model is `--model`, else `resources/models/starter-synthesis/` when it exists, else a small
one trained here once (cached under build/bench-preseg/; the printout says which).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "bench-preseg"
STARTER = ROOT / "resources" / "models" / "starter-synthesis"
W, H = 256, 144
TRAIN_VIDEOS, TEST_VIDEOS, FRAMES_PER_VIDEO = (1, 2, 3, 4, 5), (6, 7, 8), 4
COUNTS = (5, 10, 20)


def phantom_frames() -> tuple[list, list]:
    """(train pool of 20 frames, test frames) as (key, image, label) with labels in original IDs."""
    from engine.dataset import open_dataset
    from engine.imageio import read_image, read_label
    from engine.phantom import generate_dataset

    root = WORK / "phantom"
    if not (root / ".complete").exists():
        generate_dataset(root, videos=8, frames_per_video=FRAMES_PER_VIDEO, seed=7, width=W, height=H)
        (root / ".complete").write_text("ok\n")
    recs = open_dataset(root).labelled()
    load = [(r.key, read_image(r.image_path), read_label(r.label_path), r.video) for r in recs]
    train = [(k, i, lab) for k, i, lab, v in load if v in TRAIN_VIDEOS]
    test = [(k, i, lab) for k, i, lab, v in load if v in TEST_VIDEOS]
    return train, test


def subset(pool: list, n: int) -> list:
    """n frames spread evenly over the pool (so 5 frames = one per training video)."""
    if n >= len(pool):
        return list(pool)
    order = sorted(range(len(pool)), key=lambda i: (i % FRAMES_PER_VIDEO, i))
    return [pool[i] for i in sorted(order[:n])]


def fallback_model(steps: int) -> Path:
    """Train (once, cached) a small unconditional-capable SPADE diffusion model on other phantom frames."""
    out = WORK / f"model-{steps}"
    if (out / "diffusion_pytorch_model.safetensors").exists():
        return out
    from engine.phantom import generate_dataset
    from engine.training import TrainConfig, train_synthesis

    data = WORK / "phantom-diffusion"
    if not (data / ".complete").exists():
        generate_dataset(data, videos=6, frames_per_video=6, seed=11, width=W, height=H)
        (data / ".complete").write_text("ok\n")
    cfg = TrainConfig(resolution=(72, 128), class_set="1", block_out_channels=(16, 32, 64), layers_per_block=1,
                      spade_hidden=16, max_steps=steps, batch_size=8, learning_rate=5e-4, warmup_steps=20,
                      mask_dropout=0.3, checkpoint_every=10**6, sample_every=10**6, num_holdout=0, device="cpu",
                      log_every=50)
    t0 = time.perf_counter()
    train_synthesis(data, out, cfg)
    print(f"trained a fallback diffusion model ({steps} steps) in {time.perf_counter() - t0:.0f} s", flush=True)
    return out


def miou(preds: list, gts: list) -> float:
    import numpy as np

    from engine.metrics.seg import confusion, iou_from_confusion
    from engine.taxonomy import get_class_set

    cs = get_class_set(1)
    conf = sum(confusion(p, cs.remap(g), cs.num_classes) for p, g in zip(preds, gts))
    return iou_from_confusion(np.asarray(conf))[1]


def _settings(quick: bool):
    from engine.preseg import EnsembleSettings, PresegSettings

    return PresegSettings(ensemble=EnsembleSettings(members=3 if quick else 10, max_epochs=8 if quick else 20),
                          pixels_per_frame=2000 if quick else 3000)


def _train_child(model_dir: str, frames: list, head_dir: str, quick: bool, threads: int, queue) -> None:
    """Child process: train the 20-frame head, report its own peak RSS (bytes) and feature-bank bytes."""
    import torch

    torch.set_num_threads(threads)
    from engine.preseg import FrameSource, open_extractor, save_head, train_head

    settings = _settings(quick)
    ex = open_extractor(model_dir, settings.features)
    sources = [FrameSource(k, (lambda i=i, lab=lab: (i, lab))) for k, i, lab in frames]
    t0 = time.perf_counter()
    head = train_head(ex, sources, 1, settings)
    save_head(head, head_dir)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    queue.put({"peak_rss": peak, "seconds": time.perf_counter() - t0, "bank": head.meta["feature_bytes"],
               "channels": head.meta["feature_channels"], "pixels": head.meta["training_pixels"]})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_preseg", description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="diffusion model folder to use")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--quick", action="store_true", help="3 members, fewer UNet steps: a smoke run")
    parser.add_argument("--unet-steps", type=int, default=None, help="small UNet training steps (default 300)")
    parser.add_argument("--fallback-steps", type=int, default=400, help="steps of the fallback diffusion model")
    parser.add_argument("--sweep", action="store_true",
                        help="instead: compare decoder blocks and timesteps (10 labelled frames, 3 members)")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:] if __name__ == "__main__" else [])

    import torch

    from benchmarks._timing import print_table
    from engine.baselines import predict_small_unet, train_small_unet
    from engine.preseg import FrameSource, Presegmenter, load_head, open_extractor, train_head

    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    if args.model:
        model_dir, origin = args.model, f"given: {args.model}"
    elif (STARTER / "diffusion_pytorch_model.safetensors").exists():
        model_dir, origin = STARTER, "resources/models/starter-synthesis"
    else:
        model_dir = fallback_model(args.fallback_steps)
        origin = f"starter model absent: small model trained here ({args.fallback_steps} steps, cached)"
    train_pool, test = phantom_frames()
    settings = _settings(args.quick)
    unet_steps = args.unet_steps or (60 if args.quick else 300)
    ex = open_extractor(model_dir, settings.features)
    print(f"diffusion model: {origin}; {ex.channels()} feature channels; torch threads {args.threads}; "
          f"{len(test)} held-out test frames", flush=True)

    if args.sweep:
        sweep(model_dir, subset(train_pool, 10), test)
        return
    rows, mem = [], None
    for n in COUNTS:
        frames = subset(train_pool, n)
        t0 = time.perf_counter()
        if n == max(COUNTS):  # measure peak RAM of this training in a fresh process
            head_dir = WORK / f"head-{n}"
            q = mp.get_context("spawn").Queue()
            p = mp.get_context("spawn").Process(target=_train_child,
                                                args=(str(model_dir), frames, str(head_dir), args.quick, args.threads, q))
            p.start()
            mem = q.get()
            p.join()
            head = load_head(head_dir)
        else:
            sources = [FrameSource(k, (lambda i=i, lab=lab: (i, lab))) for k, i, lab in frames]
            head = train_head(ex, sources, 1, settings)
        t_head = time.perf_counter() - t0
        pre = Presegmenter(ex, head, cache_size=0)
        ours = miou([pre.presegment(i).label for _, i, _ in test], [lab for _, _, lab in test])
        ungated = miou([Presegmenter(ex, head, cache_size=0, area_gate=0).presegment(i).label for _, i, _ in test],
                       [lab for _, _, lab in test])
        t0 = time.perf_counter()
        unet = train_small_unet([(i, lab) for _, i, lab in frames], 1, (W, H), steps=unet_steps, seed=0)
        t_unet = time.perf_counter() - t0
        base = miou([predict_small_unet(unet, i) for _, i, _ in test], [lab for _, _, lab in test])
        rows.append((n, round(ours, 3), round(ungated, 3), round(base, 3), f"{ours / base:.2f}",
                     "yes" if ours > base else "NO", round(t_head), round(t_unet)))
        print(f"  {n} frames: diffusion head {ours:.3f} (presence gate off: {ungated:.3f}), "
              f"small UNet {base:.3f}", flush=True)

    print_table("mIoU on held-out phantom frames (experiment 1, 256x144)", rows,
                ("labelled frames", "diffusion head", "head, gate off", "small UNet", "head / UNet", "head wins",
                 "head train s", "UNet train s"))

    def per_frame(fn) -> float:
        times = []
        for _, img, _ in test[:6]:
            t0 = time.perf_counter()
            fn(img)
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    pre = Presegmenter(ex, head, cache_size=0)
    pre.presegment(test[0][1])  # warm-up
    s_ours = per_frame(pre.presegment)
    s_unet = per_frame(lambda im: predict_small_unet(unet, im))
    members = head.ensemble.num_members
    print_table("seconds per frame at 256x144 (median)", [(f"diffusion features + {members}-member head", round(s_ours, 3)),
                                                          ("small UNet (baseline)", round(s_unet, 3))],
                ("method", "s / frame"))
    if mem:
        naive = 20 * W * H * mem["channels"] * 4
        print_table("memory of training on 20 frames", [
            ("peak RSS of the training process (ours)", f"{mem['peak_rss'] / 2**30:.2f} GiB"),
            ("stored training features (fp16, class-balanced sample)", f"{mem['bank'] / 2**20:.0f} MiB"),
            ("naive: every pixel's features in fp32 (computed, not run)", f"{naive / 2**30:.2f} GiB"),
            ("target", "< 4 GiB"),
        ], ("what", "size"))
    figure = ROOT / "docs" / "img" / "preseg_phantom.png"
    write_figure(pre, test[:3], figure)
    print(f"\nexample proposals: {figure.relative_to(ROOT)}")
    print(f"total {time.perf_counter() - t_start:.0f} s")


def sweep(model_dir: Path, frames: list, test: list) -> None:
    """mIoU of heads on different decoder blocks and timesteps: how the defaults were chosen."""
    from benchmarks._timing import print_table
    from engine.preseg import EnsembleSettings, FeatureConfig, FrameSource, Presegmenter, PresegSettings, open_extractor, train_head

    probe = open_extractor(model_dir)
    every = tuple(range(len(probe.model.up_blocks)))
    fine = every[-3:]
    model_size = probe.sample_size
    # (blocks, timesteps, colour, working size): the first row is the shipped default
    configs = [(fine, (50,), True, None), (every, (50, 150, 250), False, model_size),
               (every, (50, 150, 250), False, None), (every, (50, 150, 250), True, None),
               (fine, (50, 150, 250), True, None), (every[-2:], (50,), True, None), (every[-1:], (50,), True, None),
               (every, (50,), True, None), (fine, (10,), True, None), (fine, (25, 100), True, None),
               (fine, (50,), False, None), (fine, (50,), True, model_size)]
    rows = []
    sources = [FrameSource(k, (lambda i=i, lab=lab: (i, lab))) for k, i, lab in frames]
    for blocks, ts, rgb, work in configs:
        settings = PresegSettings(features=FeatureConfig(timesteps=ts, blocks=blocks, include_rgb=rgb, work_size=work),
                                  ensemble=EnsembleSettings(members=3, max_epochs=10), pixels_per_frame=3000)
        ex = open_extractor(model_dir, settings.features)
        head = train_head(ex, sources, 1, settings)
        gts = [lab for _, _, lab in test]
        m = miou([Presegmenter(ex, head, cache_size=0).presegment(i).label for _, i, _ in test], gts)
        m0 = miou([Presegmenter(ex, head, cache_size=0, area_gate=0).presegment(i).label for _, i, _ in test], gts)
        ws = "x".join(map(str, ex.work_size[::-1]))
        rows.append((",".join(map(str, blocks)), ",".join(map(str, ts)), "yes" if rgb else "no", ws, ex.channels(),
                     round(m, 3), round(m0, 3)))
        print(f"  blocks {blocks} timesteps {ts} colour {rgb} work {ws}: {m:.3f} (gate off {m0:.3f})", flush=True)
    print_table("feature settings (10 labelled frames, 3 members; first row = default)", rows,
                ("decoder blocks", "timesteps", "colour", "work size", "channels", "mIoU", "mIoU gate off"))


def write_figure(pre, frames: list, path: Path) -> None:
    """Rows of [frame | ground truth | proposal | uncertainty (white = members disagree)] for `frames`."""
    import numpy as np

    from engine.imageio import write_image
    from engine.preseg import uncertainty_to_grey
    from engine.taxonomy import colorize, get_class_set

    cs = get_class_set(1)
    rows = []
    for _, img, lab in frames:
        res = pre.presegment(img)
        grey = uncertainty_to_grey(res.uncertainty, pre.head.ensemble.num_members, cs.num_classes)
        grey = np.clip(grey.astype(np.int32) * 4, 0, 255).astype(np.uint8)  # x4 so small values show
        panels = [img, colorize(cs.remap(lab), cs), colorize(res.label, cs), np.repeat(grey[..., None], 3, 2)]
        rows.append(np.concatenate([np.pad(p, ((2, 2), (2, 2), (0, 0)), constant_values=40) for p in panels], 1))
    write_image(path, np.concatenate(rows, 0))


if __name__ == "__main__":
    main()
