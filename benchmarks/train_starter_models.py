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

Full resolution (docs/adr/0010-full-resolution-synthesis.md): then the mask upsampler (MaskUpsampler2DModel,
block_out_channels (16, 32, 48, 64), ~0.28M parameters) trains on 128x128 crops of the train frames at output
scales 480x270..960x540, batch 8, L1, AdamW 1e-3 with a cosine schedule over --upsampler-steps (1400). On this
shared 2-core CPU (1 thread, nice 15, three other helpers' jobs, load ~5-6) the full 1400 steps took 33 minutes
(2026-12-02; the card's upsampler_training_time; ~35 minutes with rendering the phantom): the shipped upsampler
is that run, chosen over the earlier 873-step one by `python -m benchmarks.check_upsampler`. The output is
one pipeline folder (model_index.json,
unet/, scheduler/, upsampler/, fp16 weights).

    python -m benchmarks.train_starter_models [--max-steps N] [--work build/starter-models]
                                              [--out resources/models/starter-synthesis]
                                              [--skip-unet] [--upsampler-steps N] [--upsampler-minutes M]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
TIMING_NAME = "training_time.json"  # written by this recipe beside the upsampler's weights


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
    """Train the starter mask upsampler (full resolution stage) on the phantom's train videos at 960x540; the
    minutes this session took (with the machine's load) go to TIMING_NAME beside the weights, for the card."""
    import json

    import torch

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
    timing = {"minutes": round(res.minutes, 1), "step": res.step, "threads": torch.get_num_threads(),
              "load_average_at_end": round(os.getloadavg()[0], 1), "cpus": os.cpu_count()}
    (run_dir / TIMING_NAME).write_text(json.dumps(timing, indent=1) + "\n")
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


def starter_record(data: Path) -> dict:
    """The card's `trained_on_data` (engine.models.trained_on) for the recipe's training frames of `data`."""
    from engine.training.data import collect_pairs, split_holdout, trained_on_record

    cfg = starter_config(1, "sample")
    train_pairs, _held = split_holdout(collect_pairs(data), cfg.num_holdout)
    return trained_on_record(data, train_pairs, tuple(cfg.resolution))


def write_card_only(data: Path, out: Path) -> None:
    """Add what the shipped model was trained on to `out`'s model_card.json and README.md; weights untouched."""
    import json

    from engine.atomic import atomic_write_text
    from engine.models.model_dir import _card_markdown
    from engine.models.trained_on import TRAINED_ON

    card = json.loads((out / "model_card.json").read_text(encoding="utf-8"))
    card[TRAINED_ON] = starter_record(data)
    atomic_write_text(out / "model_card.json", json.dumps(card, indent=2, default=str))
    atomic_write_text(out / "README.md", _card_markdown(card).replace(
        "# Synthesis model (SPADE-conditioned diffusion UNet)", "# Synthesis pipeline (SPADE diffusion UNet + mask upsampler)"))


def publish(run_dir: Optional[Path], up_dir: Optional[Path], out: Path, data: Optional[Path] = None) -> None:
    """Write the starter pipeline folder `out`: the UNet of `run_dir` (None: keep the one in `out`) and the
    upsampler of `up_dir` (None: keep the one in `out`, if any), fp16 weights, with the model card (which says
    what it was trained on when the phantom `data` is given)."""
    import json
    import tempfile

    from engine.models.model_dir import load_synthesis_model, read_model_card
    from engine.pipelines import SynthesisPipeline
    from engine.pipelines.folder import load_upsampler, save_half

    unet_src = run_dir if run_dir is not None and (run_dir / "config.json").exists() else out
    unet, sched, card = load_synthesis_model(unet_src, device="cpu")
    up_src = up_dir if up_dir is not None and (up_dir / "config.json").exists() else out / "upsampler"
    up = load_upsampler(up_src) if (up_src / "config.json").exists() else None
    derived = ("weights_sha256", "note", "resolution", "unet_parameters", "upsampler_parameters", "date", "parameters")
    card = {k: v for k, v in (card or read_model_card(out)).items() if k not in derived}  # re-derived on save
    planned = card.get("train_config", {}).get("max_steps")
    card["name"] = "starter-synthesis"
    card["trained_on"] = "phantom sample (engine.phantom, 20 videos x 10 frames, seed 0); experiment-1 classes"
    card["recipe"] = "python -m benchmarks.train_starter_models (make starter-models)"
    if data is not None:
        from engine.models.trained_on import TRAINED_ON

        card[TRAINED_ON] = starter_record(data)
    if planned and card.get("steps", planned) < planned:
        card["note"] = (f"UNet published at step {card['steps']} of the recipe's {planned}; rerun the recipe (it "
                        "resumes) for the full model")
    if up is not None and (up_src / "training_state.json").exists():
        state = json.loads((up_src / "training_state.json").read_text())
        card["upsampler_steps"] = state.get("step")
        card["upsampler_train_config"] = state.get("config")
        if (up_src / TIMING_NAME).exists():
            card["upsampler_training_time"] = json.loads((up_src / TIMING_NAME).read_text())
    card["parameters"] = sum(p.numel() for p in unet.parameters()) + (sum(p.numel() for p in up.parameters()) if up else 0)
    samples = out / "training_samples.png"
    keep = samples.read_bytes() if samples.exists() else None
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        staged = Path(tmp) / "staged"
        save_half(SynthesisPipeline(unet, sched, up), staged, card=card)
        latest = (run_dir / "training" / "samples" / "latest.png") if run_dir is not None else None
        if latest is not None and latest.exists():
            shutil.copyfile(latest, staged / "training_samples.png")
        elif keep is not None:
            (staged / "training_samples.png").write_bytes(keep)
        _keep_student(out, staged)
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(staged, out)


def _keep_student(out: Path, staged: Path) -> None:
    """Carry the preview student over into the staged folder when it was distilled from the UNet staged there
    (publishing a new upsampler keeps it); a student of another teacher is left behind, with a line saying so."""
    from engine.distill.student import teacher_sha256

    student = out / "student"
    card = student / "student_card.json"
    if not card.exists():
        return
    import json

    if json.loads(card.read_text()).get("teacher_weights_sha256") == teacher_sha256(staged):
        shutil.copytree(student, staged / "student")
    else:
        print(f"{student}: distilled from another UNet, not carried over; rerun python -m benchmarks.distill_starter")


def write_examples(model_dir: Path, path: Path, count: int = 3) -> Path:
    """A figure for the README at 960x540: phantom mask (not trained on) | real frame | final | 128x72 UNet alone."""
    import numpy as np

    from engine.imageio import write_image
    from engine.phantom import render_frame
    from engine.pipelines import SynthesisPipeline, preset
    from engine.taxonomy import colorize

    pipe = SynthesisPipeline.from_pretrained(model_dir, device="cpu")
    low = SynthesisPipeline(pipe.unet, pipe.scheduler, None)
    rows = []
    for i in range(count):
        image, label = render_frame(90_001 + i)  # seeds far from the training videos
        final = pipe(label, settings=preset("final"), seed=i).images[0]
        base = low(label, settings=preset("final"), seed=i).images[0]
        tiles = [colorize(label, None), image, final, base]
        rows.append(np.concatenate([np.pad(t, ((4, 4), (4, 4), (0, 0)), constant_values=255) for t in tiles], axis=1))
    return write_image(path, np.concatenate(rows, axis=0))


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
    parser.add_argument("--card-only", action="store_true",
                        help="only write what --out was trained on into its card (renders the phantom; no training)")
    parser.add_argument("--skip-unet", action="store_true",
                        help="keep the UNet already in --out; train (or resume) only the upsampler")
    parser.add_argument("--upsampler-steps", type=int, default=1400)
    parser.add_argument("--upsampler-minutes", type=float, default=0.0,
                        help="stop the upsampler training after this long (0: run all its steps)")
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
    up_dir = args.work / "starter-upsampler"
    data = None
    if not args.publish_only or args.card_only:
        data = make_phantom(args.work / "phantom", args.videos, args.frames_per_video)
    if args.card_only:
        write_card_only(data, args.out)
        print(f"card of {args.out} says what it was trained on")
        return 0
    if not args.publish_only and not args.skip_unet:
        resume = (run_dir / "training" / "train_config.json").exists()
        ctx, bar = tqdm_context("training starter-synthesis")
        try:
            result = train_synthesis(data, run_dir, starter_config(args.max_steps, args.prediction), resume=resume,
                                     ctx=ctx)
        finally:
            bar.close()
        print(f"trained to step {result.step}; last loss {result.last_loss:.4f}", flush=True)
    if not args.publish_only:
        train_upsampler_stage(data, up_dir, args.upsampler_steps, args.upsampler_minutes)
    publish(None if args.skip_unet else run_dir, up_dir, args.out, data)
    print(f"starter model written to {args.out}")
    print(f"examples figure written to {write_examples(args.out, args.examples)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
