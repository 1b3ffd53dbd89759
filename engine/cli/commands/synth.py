"""`cadis synth`: turn a CaDIS mask into matching frames with a synthesis model."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

NAME = "synth"
HELP = "synthesize frames that match a mask (SPADE diffusion model)"
DESCRIPTION = (
    "Synthesize one or more frames for MASK.png (a CaDIS label of original class IDs, any size; it is "
    "nearest-resized to the model's resolution). Each output OUT.png is written with the resized mask it "
    "matches as OUT.mask.png, so the pair is usable as training data as is. With --num K the outputs are "
    "OUT_0.png .. OUT_{K-1}.png; variant k uses seed S+k."
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
    parser.add_argument("--no-student", action="store_true",
                        help="preview preset: use the teacher's few-step sampler even when the model folder has a "
                             "distilled student (MODEL_DIR/student, made by `cadis distill`)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def output_paths(out: Path, num: int) -> list[tuple[Path, Path]]:
    """[(image path, mask path)] for `num` variants of OUT (OUT.png or OUT_0.png ..)."""
    suffix = out.suffix or ".png"
    stems = [out.stem] if num == 1 else [f"{out.stem}_{k}" for k in range(num)]
    return [(out.with_name(s + suffix), out.with_name(s + ".mask.png")) for s in stems]


def run(args: argparse.Namespace) -> int:
    from engine.cli import CliError
    from engine.cli.progress import tqdm_context
    from engine.imageio import read_label, write_image, write_label
    from engine.models.model_dir import starter_model_dir
    from engine.pipelines import SynthesisPipeline, preset

    if args.num < 1:
        raise CliError("--num must be at least 1")
    if args.steps is not None and args.steps < 1:
        raise CliError("--steps must be at least 1")
    if args.out.suffix.lower() not in ("", ".png"):
        raise CliError(f"--out should be a .png file, got {args.out.name}")
    model_dir = args.model or starter_model_dir()
    mask = read_label(args.mask)
    student = args.preset == "preview" and not args.no_student and args.sampler is None
    if student:
        from engine.distill import StudentPipeline, preview_pipeline

        pipe, why = preview_pipeline(model_dir, device=args.device)
        student = isinstance(pipe, StudentPipeline)
    else:
        pipe = SynthesisPipeline.from_pretrained(model_dir, device=args.device)
    settings = None if student else preset(args.preset, steps=args.steps, sampler=args.sampler, guidance=args.guidance)
    ctx, bar = tqdm_context("synth", disable=args.quiet)
    try:
        started = time.perf_counter()
        if student:
            result = pipe(mask, steps=args.steps, guidance=args.guidance, seed=args.seed, num_images=args.num, ctx=ctx)
        else:
            result = pipe(mask, settings=settings, seed=args.seed, num_images=args.num, ctx=ctx)
        seconds = time.perf_counter() - started
    finally:
        bar.close()
    for (img_path, mask_path), image in zip(output_paths(args.out, args.num), result.images):
        write_image(img_path, image)
        write_label(mask_path, result.mask)
        if not args.quiet:
            print(f"wrote {img_path} and {mask_path.name}")
    k = len(result.images)
    print(f"{k} frame(s) in {seconds:.2f} s ({seconds * 1000 / k:.0f} ms per frame, sampling only)")
    return 0
