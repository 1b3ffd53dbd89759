"""`cadis eval-dist REAL_DIR SYNTH_DIR`: how far synthetic frames are from real ones (Fréchet distance + KID).

With --inception WEIGHTS (the FID Inception v3 weights converted to safetensors) this is the standard FID / KID.
Otherwise, with --model MODEL_DIR, both are computed on mean-pooled decoder features of the project's own
diffusion model and reported as the "diffusion-feature distance": useful to compare runs of one project,
NOT comparable with published FID values, and never called FID.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "eval-dist"
HELP = "distribution distance of synthetic vs real frames (Fréchet distance + KID)"
DESCRIPTION = (
    HELP + ". With --model MODEL_DIR both are computed on mean-pooled decoder features of the project's own "
    "diffusion model and reported as the 'diffusion-feature distance': useful to compare runs of one project, "
    "not comparable with published FID values, and never called FID. Standard FID needs --inception WEIGHTS.")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("real", metavar="REAL_DIR", help="folder of real frames (a CaDIS dataset or export works)")
    parser.add_argument("synth", metavar="SYNTH_DIR", help="folder of synthetic frames (an export, or pairs/)")
    parser.add_argument("--model", metavar="MODEL_DIR", help="diffusion model whose features are used")
    parser.add_argument("--inception", metavar="WEIGHTS", help="Inception v3 weights (safetensors) for standard FID")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="use at most N frames of each side")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON")


def collect_images(folder: str | Path, limit: int | None = None) -> list[Path]:
    """Frame images under `folder` (sorted), skipping label maps, previews and pair labels."""
    from engine.cli import CliError

    root = Path(folder)
    if not root.is_dir():
        raise CliError(f"{root} is not a folder of images")
    found = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.name != "label.png"
                   and not {"Labels", "Previews"} & set(p.relative_to(root).parts)
                   and not p.name.endswith(".uncertainty.png"))
    if len(found) < 2:
        raise CliError(f"{root}: need at least 2 images to compare distributions, found {len(found)}")
    if limit is not None and limit < len(found):
        idx = [round(i * (len(found) - 1) / max(1, limit - 1)) for i in range(limit)]
        found = [found[i] for i in dict.fromkeys(idx)]
    return found


def run(args: argparse.Namespace) -> int:
    from engine.atomic import atomic_write_text
    from engine.cli import CliError
    from engine.device import pick_device
    from engine.imageio import read_image
    from engine.metrics.distribution import DiffusionFeatures, distribution_distance

    from engine.safety import Read, Write, check_writes

    if not args.model and not args.inception:
        raise CliError("pass --model MODEL_DIR (diffusion-feature distance) or --inception WEIGHTS (FID)")
    check_writes([Write(args.json, what="--json file")],
                 [Read(args.real, "REAL_DIR"), Read(args.synth, "SYNTH_DIR"), Read(args.model, "model folder"),
                  Read(args.inception, "Inception weights")])
    real = [read_image(p) for p in collect_images(args.real, args.limit)]
    synth = [read_image(p) for p in collect_images(args.synth, args.limit)]
    device = str(pick_device(args.device))
    if args.inception:
        from engine.metrics.inception import InceptionFeatures, load_inception

        feats = InceptionFeatures(load_inception(args.inception, device))
        res = distribution_distance(real, synth, feats, name="FID",
                                    feature_info=f"Inception v3 pool features ({Path(args.inception).name})")
        print(f"FID / KID on Inception v3 features from {Path(args.inception).name}:")
    else:
        feats = DiffusionFeatures.from_model_dir(args.model, device=device)
        res = distribution_distance(real, synth, feats,
                                    feature_info=f"mean-pooled decoder features of {Path(args.model).name}")
        print(f"{res.name} (features of {Path(args.model).name}; not FID, not comparable with published FID):")
    print(f"  Fréchet distance {res.frechet:.4f}   KID {res.kid:.5f} ± {res.kid_std:.5f}   "
          f"({res.n_real} real, {res.n_synthetic} synthetic frames)")
    if args.json:
        atomic_write_text(args.json, json.dumps(res.as_dict(), indent=2) + "\n")
    return 0
