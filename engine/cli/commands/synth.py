"""`cadis synth`: turn a CaDIS mask into matching frames with a synthesis model."""
from __future__ import annotations

import argparse
import sys
import warnings
import time
from pathlib import Path

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
    parser.add_argument("--sampler", choices=("ddim", "dpm", "unipc"), default=None, help="default: the preset's")
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


def run(args: argparse.Namespace) -> int:
    from engine.cli import CliError
    from engine.cli.progress import tqdm_context
    from engine.imageio import read_label, write_image, write_label
    from engine.models.model_dir import starter_model_dir
    from engine.pipelines import SynthesisPipeline, preset
    from engine.safety import Read, Write, check_writes
    from engine.taxonomy import label_id_problem

    if args.num < 1:
        raise CliError("--num must be at least 1")
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
        region_out = args.out.with_name(args.out.stem + ".region.png")
        check_writes([Write(p, what=what) for pair in outputs for p, what in zip(pair, ("output", "output mask"))]
                     + [Write(region_out, what="region mask")],
                     [Read(args.mask, "mask"), Read(args.image, "frame to repaint"), Read(parent, "parent mask")])
        repaint = {"image": read_image(args.image), "parent_mask": read_label(parent),
                   "margin": 16 if args.margin is None else args.margin, "resample": args.resample}
    student = args.preset == "preview" and not args.no_student and args.sampler is None and not args.repaint
    with warnings.catch_warnings(record=True) as notes:
        warnings.simplefilter("always", UserWarning)
        if student:
            from engine.distill import StudentPipeline, preview_pipeline

            pipe, _why = preview_pipeline(model_dir, device=args.device)
            student = isinstance(pipe, StudentPipeline)
        else:
            pipe = SynthesisPipeline.from_pretrained(model_dir, device=args.device)
    for note in notes:
        print(f"cadis synth: note: {note.message}", file=sys.stderr)
    settings = None if student else preset(args.preset, steps=args.steps, sampler=args.sampler, guidance=args.guidance)
    ctx, bar = tqdm_context("synth", disable=args.quiet)
    try:
        started = time.perf_counter()
        if student:  # the app's live preview calls the same function
            from engine.distill import synthesize_preview

            result = synthesize_preview(pipe, mask, steps=args.steps, guidance=args.guidance, seed=args.seed,
                                        num_images=args.num, ctx=ctx)
        else:
            result = pipe(mask, settings=settings, seed=args.seed, num_images_per_prompt=args.num, ctx=ctx, **repaint)
        seconds = time.perf_counter() - started
    finally:
        bar.close()
    for (img_path, mask_path), image in zip(outputs, result.images):
        write_image(img_path, image)
        write_label(mask_path, result.mask)
        if not args.quiet:
            print(f"wrote {img_path} and {mask_path.name} ({image.shape[1]}x{image.shape[0]})")
    if args.repaint:
        import numpy as np

        region_path = args.out.with_name(args.out.stem + ".region.png")
        write_label(region_path, result.region.astype(np.uint8) * 255)
        if not args.quiet:
            print(f"repainted {int(result.region.sum())} pixels ({int(result.changed.sum())} changed labels + "
                  f"{repaint['margin']} px margin); the other pixels are the real frame's; region in {region_path.name}")
    k = len(result.images)
    print(f"{k} frame(s) in {seconds:.2f} s ({seconds * 1000 / k:.0f} ms per frame, sampling only)")
    return 0
