"""Reproduce the shipped starter synthesis model (what `make starter-models` runs).

Recipe: 20 phantom videos x 10 frames (engine.phantom, seed 0, rendered at 960x540; the val/test videos'
frames are held out for the sample grids), experiment-1 classes (8: the seven anatomy classes + one
"Instrument" class), 128x72 (the preview size), SpadeUNet2DModel with block_out_channels (16, 32, 64, 128),
one residual block per level, SPADE with 16 hidden channels and 1x1 scale/shift convs (~2.8M parameters,
fp16 weights ~5.6 MB), batch 8, bf16 autocast, EMA, 20% mask dropout, class weighting 0.3, up to 4000 steps.

The UNet predicts the clean image (x0, scheduler `prediction_type: "sample"`) rather than the noise: on a
CPU budget of a few hundred to a few thousand steps, an epsilon model still leaves visible noise in its
samples (we trained both side by side: at step 800 the epsilon model's samples were speckled, at step 250
the x0 model's were clean and followed the mask), while x0 prediction gives clean, mask-faithful frames
early and sharpens with training. The run resumes from its last checkpoint when interrupted (run the
command again); `--max-steps` sets where it stops. About an hour for 4000 steps on a 2-core CPU with
native bf16 to itself; on a busy machine pass `--threads 1`.

    python -m benchmarks.train_starter_models [--max-steps N] [--work build/starter-models]
                                              [--out resources/models/starter-synthesis]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL_FILES = ("config.json", "diffusion_pytorch_model.safetensors", "scheduler_config.json", "model_card.json",
               "README.md")


def starter_config(max_steps: int = 4000, prediction_type: str = "sample"):
    from engine.training import TrainConfig

    return TrainConfig(
        resolution=(72, 128), class_set="1", block_out_channels=(16, 32, 64, 128), layers_per_block=1,
        spade_hidden=16, spade_kernel=1, mixed_precision="bf16", max_steps=max_steps, batch_size=8,
        learning_rate=4e-4, warmup_steps=50, mask_dropout=0.2, class_weighting=0.3, snr_gamma=5.0,
        prediction_type=prediction_type, ema_decay=0.999, checkpoint_every=50, sample_every=250,
        sample_steps=20, num_holdout=4, seed=0, device="cpu", weights_dtype="fp16",
    )


def upsampler_config(max_steps: int = 2500, max_minutes: float = 0.0):
    from engine.training.train_upsampler import UpsamplerTrainConfig

    return UpsamplerTrainConfig(low_res=(72, 128), class_set="1", block_out_channels=(16, 32, 48, 64), crop=128,
                                batch_size=8, min_scale=0.5, max_steps=max_steps, max_minutes=max_minutes,
                                learning_rate=1e-3, save_every=100, seed=0, device="cpu")


def train_upsampler_stage(data: Path, run_dir: Path, max_steps: int, max_minutes: float) -> Path:
    """Train the starter mask upsampler (full resolution stage) on the phantom's train videos at 960x540."""
    from engine.cli.progress import tqdm_context
    from engine.training.train_upsampler import STATE_NAME, load_training_pairs, train_upsampler

    pairs = load_training_pairs(data)
    print(f"training the mask upsampler on {len(pairs)} frames at {pairs[0][1].shape[1]}x{pairs[0][1].shape[0]}",
          flush=True)
    ctx, bar = tqdm_context("training starter upsampler")
    try:
        res = train_upsampler(pairs, run_dir, upsampler_config(max_steps, max_minutes),
                              resume=(run_dir / STATE_NAME).exists(), ctx=ctx)
    finally:
        bar.close()
    print(f"upsampler trained to step {res.step} in {res.minutes:.1f} min; last loss {res.last_loss:.4f}", flush=True)
    return run_dir


def make_phantom(root: Path, videos: int, frames: int) -> Path:
    from engine.phantom import generate_dataset

    marker = root / ".complete"
    if not marker.exists():
        if root.exists():
            shutil.rmtree(root)
        print(f"rendering {videos} x {frames} phantom frames into {root}", flush=True)
        generate_dataset(root, videos=videos, frames_per_video=frames, seed=0)
        marker.write_text("ok\n")
    return root


def publish(run_dir: Path, out: Path) -> None:
    """Copy the model folder files (not the training state) of `run_dir` into `out`."""
    import json

    from engine.atomic import atomic_write_text
    from engine.models.model_dir import _card_markdown

    out.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        shutil.copyfile(run_dir / name, out / name)
    card = json.loads((out / "model_card.json").read_text())
    planned = card.get("train_config", {}).get("max_steps")
    card["name"] = "starter-synthesis"
    card["trained_on"] = "phantom sample (engine.phantom, 20 videos x 10 frames, seed 0); experiment-1 classes"
    card["recipe"] = "python -m benchmarks.train_starter_models (make starter-models)"
    if planned and card.get("steps", planned) < planned:
        card["note"] = (f"published at step {card['steps']} of the recipe's {planned}; rerun the recipe (it resumes) "
                        "for the full model")
    atomic_write_text(out / "model_card.json", json.dumps(card, indent=2))
    atomic_write_text(out / "README.md", _card_markdown(card))
    latest = run_dir / "training" / "samples" / "latest.png"
    if latest.exists():
        shutil.copyfile(latest, out / "training_samples.png")


def write_examples(model_dir: Path, path: Path, count: int = 4) -> Path:
    """A figure for the README: phantom masks (not trained on) | the real frame | final preset | preview preset."""
    import cv2
    import numpy as np

    from engine.imageio import write_image
    from engine.phantom import render_frame
    from engine.pipelines import SynthesisPipeline, preset
    from engine.taxonomy import colorize

    pipe = SynthesisPipeline.from_pretrained(model_dir, device="cpu")
    h, w = pipe.size
    rows = []
    for i in range(count):
        image, label = render_frame(90_001 + i)  # seeds far from the training videos
        small = cv2.resize(label, (w, h), interpolation=cv2.INTER_NEAREST)
        real = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        final = pipe(small, settings=preset("final"), seed=i).images[0]
        quick = pipe(small, settings=preset("preview"), seed=i).images[0]
        tiles = [colorize(small, None), real, final, quick]
        rows.append(np.concatenate([np.pad(t, ((2, 2), (2, 2), (0, 0)), constant_values=255) for t in tiles], axis=1))
    grid = np.concatenate(rows, axis=0)
    grid = cv2.resize(grid, (grid.shape[1] * 2, grid.shape[0] * 2), interpolation=cv2.INTER_NEAREST)
    return write_image(path, grid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train_starter_models", description=__doc__.split("\n")[0])
    parser.add_argument("--max-steps", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (default: 2, or 1 when the machine is already busy)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "starter-models")
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "models" / "starter-synthesis")
    parser.add_argument("--prediction", choices=("sample", "epsilon"), default="sample",
                        help="what the UNet predicts: x0 ('sample', default: clean previews early in training) "
                             "or the noise ('epsilon')")
    parser.add_argument("--videos", type=int, default=20)
    parser.add_argument("--frames-per-video", type=int, default=10)
    parser.add_argument("--publish-only", action="store_true", help="copy the current run's model into --out and stop")
    parser.add_argument("--examples", type=Path, default=ROOT / "docs" / "img" / "synthesis_examples.png",
                        help="where to write the masks-next-to-samples figure")
    args = parser.parse_args(argv)

    import torch

    from engine.cli.progress import tqdm_context
    from engine.training import train_synthesis

    threads = args.threads or (1 if os.getloadavg()[0] > (os.cpu_count() or 2) else min(8, torch.get_num_threads()))
    torch.set_num_threads(threads)
    print(f"using {threads} CPU thread(s)", flush=True)
    run_dir = args.work / f"starter-synthesis-{args.prediction}"
    if not args.publish_only:
        data = make_phantom(args.work / "phantom", args.videos, args.frames_per_video)
        resume = (run_dir / "training" / "train_config.json").exists()
        ctx, bar = tqdm_context("training starter-synthesis")
        try:
            result = train_synthesis(data, run_dir, starter_config(args.max_steps, args.prediction), resume=resume,
                                     ctx=ctx)
        finally:
            bar.close()
        print(f"trained to step {result.step}; last loss {result.last_loss:.4f}", flush=True)
    publish(run_dir, args.out)
    print(f"starter model written to {args.out}")
    print(f"examples figure written to {write_examples(args.out, args.examples)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
