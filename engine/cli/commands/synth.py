"""`cadis synth`: turn a CaDIS mask into matching frames with a synthesis model."""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

from engine.samplers import sampler_names

NAME = "synth"
HELP = "synthesize frames that match a mask (SPADE diffusion model)"
DESCRIPTION = (
    "Synthesize one or more frames for MASK.png (a CaDIS label of original class IDs, any size) at the mask's own "
    "size. Each output OUT.png is written with the mask it matches (the input, unchanged) as OUT.mask.png, so the "
    "pair is usable as training data as is. With --num K the outputs are OUT_0.png .. OUT_{K-1}.png; variant k "
    "uses seed S+k. Repaint: `--mask EDITED.png --image REAL.png --repaint` re-synthesizes only the pixels whose "
    "label differs from the frame's own mask (--parent-mask, default the label beside REAL.png in the CaDIS "
    "layout, Images/ -> Labels/) plus --margin pixels; every other pixel of REAL.png is kept byte-identical. "
    "OUT.region.png shows the repainted region."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, default=None,
                        help="model folder (default: the shipped starter model resources/models/starter-synthesis)")
    parser.add_argument("--mask", type=Path, required=True, help="CaDIS label PNG (original class IDs)")
    parser.add_argument("--out", type=Path, required=True, help="output PNG path")
    parser.add_argument("--preset", choices=("preview", "final"), default="final",
                        help="preview: the distilled student (1-2 steps) when the model folder has one, else few UniPC steps "
                             "in bf16; final: DPM-Solver++ in fp32 (default final)")
    parser.add_argument("--steps", type=int, default=None, help="sampling steps (default: the preset's)")
    parser.add_argument("--sampler", choices=sampler_names(), default=None, help="default: the preset's")
    parser.add_argument("--guidance", type=float, default=None, help="classifier-free guidance scale (default: the preset's)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--num", type=int, default=1, help="number of variants K (default 1)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--image", type=Path, default=None, help="the real frame to repaint (with --repaint)")
    parser.add_argument("--repaint", action="store_true", help="re-synthesize only what changed in --image")
    parser.add_argument("--parent-mask", type=Path, default=None,
                        help="the real frame's own label (default: Labels/NAME beside Images/NAME)")
    parser.add_argument("--margin", type=int, default=None, help="pixels around the change that are repainted too (16)")
    parser.add_argument("--resample", type=int, default=2, help="RePaint harmonising rounds per step (2)")
    parser.add_argument("--allow-large-change", action="store_true",
                        help="repaint even when the edit changes most of the frame (else refused: the sketch of "
                             "another frame) or --parent-mask names another frame than --image")
    parser.add_argument("--no-student", action="store_true",
                        help="preview preset: use the teacher's few-step sampler even when the model folder has a "
                             "distilled student (MODEL_DIR/student, made by `cadis distill`)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def output_paths(out: Path, num: int) -> list[tuple[Path, Path]]:
    """[(image path, mask path)] for `num` variants of OUT (OUT.png or OUT_0.png ..)."""
    suffix = out.suffix or ".png"
    stems = [out.stem] if num == 1 else [f"{out.stem}_{k}" for k in range(num)]
    return [(out.with_name(s + suffix), out.with_name(s + ".mask.png")) for s in stems]


def find_parent_mask(image: Path) -> Path:
    """The label of a CaDIS-layout frame: VideoNN/Images/NAME.png -> VideoNN/Labels/NAME.png."""
    if image.parent.name == "Images":
        cand = image.parent.parent / "Labels" / image.name
        if cand.exists():
            return cand
    from engine.cli import CliError

    raise CliError(f"no label found for {image} (looked for ../Labels/{image.name}); pass --parent-mask")


BATCH = 8           # variants sampled and written at a time: memory stays that of 8 frames for any --num
MAX_NUM = 10_000


def check_same_frame(image: Path, parent: Path) -> None:
    """Refuse a --parent-mask whose CaDIS name is another frame than --image's (VideoN_frameNNNNNN)."""
    from engine.cli import CliError
    from engine.dataset.naming import parse_frame_name

    a, b = parse_frame_name(image.name), parse_frame_name(parent.name)
    if a is not None and b is not None and a != b:
        raise CliError(f"--parent-mask {parent.name} is the label of another frame than --image {image.name}; "
                       "give the frame's own label (or --allow-large-change if that is meant)")


def run(args: argparse.Namespace) -> int:
    from engine.cli import CliError
    from engine.cli.progress import tqdm_context
    from engine.imageio import read_label, write_image, write_label
    from engine.models.model_dir import starter_model_dir
    from engine.services.pipelines import Pipelines
    from engine.services.synthesis import SynthesisRequest, synthesize
    from engine.safety import Read, Write, check_writes
    from engine.taxonomy import label_id_problem

    if not 1 <= args.num <= MAX_NUM:
        raise CliError(f"--num must be between 1 and {MAX_NUM:,} (run it several times with other --seed for more)")
    if args.margin is not None and args.margin < 0:
        raise CliError("--margin must be 0 or more pixels")
    if args.steps is not None and args.steps < 1:
        raise CliError("--steps must be at least 1")
    if args.out.suffix.lower() not in ("", ".png"):
        raise CliError(f"--out should be a .png file, got {args.out.name}")
    if (args.image is not None or args.parent_mask is not None or args.margin is not None) and not args.repaint:
        raise CliError("--image, --parent-mask and --margin go with --repaint")
    if args.repaint and args.image is None:
        raise CliError("--repaint needs --image REAL.png (the frame to repaint)")
    model_dir = args.model or starter_model_dir()
    outputs = output_paths(args.out, args.num)
    check_writes([Write(p, what=what) for pair in outputs for p, what in zip(pair, ("output", "output mask"))],
                 [Read(args.mask, "mask"), Read(model_dir, "model folder")])
    mask = read_label(args.mask)
    if (problem := label_id_problem(mask)) is not None:  # before the model is loaded
        raise CliError(f"{args.mask}: {problem}; a mask holds original CaDIS IDs 0..35 (255 = unlabelled)")
    repaint = {}
    if args.repaint:
        from engine.imageio import read_image

        parent = args.parent_mask or find_parent_mask(args.image)
        if not args.allow_large_change:
            check_same_frame(args.image, parent)
        region_out = args.out.with_name(args.out.stem + ".region.png")
        check_writes([Write(p, what=what) for pair in outputs for p, what in zip(pair, ("output", "output mask"))]
                     + [Write(region_out, what="region mask")],
                     [Read(args.mask, "mask"), Read(args.image, "frame to repaint"), Read(parent, "parent mask")])
        from engine.pipelines.repaint import check_changed_share

        parent_label = read_label(parent)
        if parent_label.shape == mask.shape:  # the sketch of another frame: refused before the model is loaded
            check_changed_share(parent_label != mask, args.allow_large_change)
        repaint = {"image": read_image(args.image), "parent_mask": parent_label,
                   "margin": 16 if args.margin is None else args.margin, "resample": args.resample,
                   "allow_large_change": args.allow_large_change}
    request = SynthesisRequest(mask, str(model_dir), preset=args.preset, steps=args.steps, sampler=args.sampler,
                               guidance=args.guidance, seed=args.seed, num=min(args.num, BATCH), device=args.device,
                               use_student=not args.no_student, **repaint)
    pipelines = Pipelines()
    with warnings.catch_warnings(record=True) as notes:
        warnings.simplefilter("always", UserWarning)
        pipelines.load(request)
    for note in notes:
        print(f"cadis synth: note: {note.message}", file=sys.stderr)
    ctx, bar = tqdm_context("synth", disable=args.quiet)
    seconds, result = 0.0, None
    try:
        for first in range(0, args.num, BATCH):  # sampled and written a batch at a time
            batch = replace(request, seed=args.seed + first, num=min(BATCH, args.num - first))
            started = time.perf_counter()
            result = synthesize(ctx, pipelines, batch).result
            seconds += time.perf_counter() - started
            for (img_path, mask_path), image in zip(outputs[first:first + batch.num], result.images):
                write_image(img_path, image)
                write_label(mask_path, result.mask)
                if not args.quiet:
                    print(f"wrote {img_path} and {mask_path.name} ({image.shape[1]}x{image.shape[0]})")
    finally:
        bar.close()
    if args.repaint:
        import numpy as np

        region_path = args.out.with_name(args.out.stem + ".region.png")
        write_label(region_path, result.region.astype(np.uint8) * 255)
        if not args.quiet:
            print(f"repainted {int(result.region.sum())} pixels ({int(result.changed.sum())} changed labels + "
                  f"{repaint['margin']} px margin); the other pixels are the real frame's; region in {region_path.name}")
    k = args.num
    print(f"{k} frame(s) in {seconds:.2f} s ({seconds * 1000 / k:.0f} ms per frame, sampling only)")
    return 0
