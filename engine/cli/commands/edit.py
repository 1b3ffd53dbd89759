"""`cadis edit`: text-guided edit of one real frame with local Stable Diffusion weights.

    cadis edit --sd SD_DIR IMAGE --prompt TEXT --out OUT.png [--method sdedit|imagic|invert]
               [--strength S] [--alpha A[,A...]] [--interp lerp|slerp] [--steps N] [--guidance G] [--seed S]
               [--opt-steps N] [--tune-steps M] [--resolution WxH] [--device auto|cpu|cuda] [--cache DIR]
               [--label LABEL.png [--only-classes C[,C...] | --keep-classes C[,C...]] [--auto-region]
                [--region-margin PX]]

Writes the edited frame at the original size to OUT.png, or OUT_0.png, OUT_1.png, ... for several α, and
OUT.json with every output's settings and PSNR / SSIM against the original (and, with --label,
--preseg-model and --preseg-head, the mIoU between a pre-segmenter's proposal on the edit and the label). The frame's label is unchanged:
pair each output with it. With --only-classes (IDs or names: 3,4 or pupil,iris) only those classes of the
label (plus a feathered margin) are edited, with --keep-classes everything but them, with --auto-region
the classes the prompt's DiffEdit mask covers: every pixel outside stays byte-identical.
Nothing is downloaded; SD_DIR must hold a diffusers-layout SD 1.x/2.x model.
"""
from __future__ import annotations

import argparse
from pathlib import Path

NAME = "edit"
HELP = "edit a frame with a text prompt using local Stable Diffusion weights (SDEdit, Imagic, DDIM inversion)"
DESCRIPTION = HELP + (". The label stays valid: pair each output with the source frame's label. "
                      "With several --alpha values the outputs are numbered OUT_0.png, OUT_1.png, ... "
                      "With --label and --only-classes / --keep-classes / --auto-region only those classes (or all "
                      "but the kept ones) change and every other pixel stays byte-identical.")


def _alphas(text: str) -> list[float]:
    try:
        vals = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--alpha takes numbers separated by commas, got {text!r}") from None
    if not vals:
        raise argparse.ArgumentTypeError("--alpha needs at least one number")
    return vals


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sd", required=True, metavar="SD_DIR", help="Stable Diffusion folder (diffusers layout)")
    parser.add_argument("image", metavar="IMAGE", help="the frame to edit")
    parser.add_argument("--prompt", required=True, metavar="TEXT", help="what the edited frame should look like")
    parser.add_argument("--out", required=True, metavar="OUT.png", help="output PNG (numbered for several α)")
    parser.add_argument("--method", choices=("sdedit", "imagic", "invert"), default="sdedit",
                        help="sdedit (fast), imagic (optimise + fine-tune + α sweep) or invert (DDIM inversion); "
                             "default sdedit")
    parser.add_argument("--strength", type=float, default=None, metavar="S",
                        help="sdedit / invert: how far into the noise, 0..1 (default 0.5 sdedit, 1.0 invert)")
    parser.add_argument("--alpha", type=_alphas, default=[1.5], metavar="A[,A...]",
                        help="imagic: interpolation weight(s) of the target text, e.g. 1.2,1.4,1.6 (default 1.5)")
    parser.add_argument("--interp", choices=("lerp", "slerp"), default="lerp", help="imagic: interpolation")
    parser.add_argument("--steps", type=int, default=50, metavar="N", help="DDIM steps (default 50)")
    parser.add_argument("--guidance", type=float, default=3.0, metavar="G", help="guidance scale (default 3)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="noise seed (default 0)")
    parser.add_argument("--opt-steps", type=int, default=100, metavar="N",
                        help="imagic: embedding optimisation steps (default 100)")
    parser.add_argument("--tune-steps", type=int, default=200, metavar="M",
                        help="imagic: UNet fine-tuning steps, 0 = none (default 200)")
    parser.add_argument("--tune", choices=("auto", "lora", "full"), default="auto",
                        help="imagic: fine-tune a LoRA adapter (needs peft) or the full UNet (default auto)")
    parser.add_argument("--resolution", default=None, metavar="WxH",
                        help="model resolution (default: model width, frame aspect, e.g. 512x320 for SD 1.5)")
    parser.add_argument("--framing", choices=("pad", "tile"), default="pad",
                        help="fit the frame with mirrored padding, or cover it with overlapping tiles")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="default auto")
    parser.add_argument("--cache", default=None, metavar="DIR",
                        help="imagic: keep optimised embeddings + tuned weights here, so a new α or seed "
                             "costs one sampling run")
    parser.add_argument("--label", default=None, metavar="LABEL.png",
                        help="the frame's label: with --preseg-model/--preseg-head, score each edit by the mIoU "
                             "between the pre-segmenter's proposal and this label")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--only-classes", default=None, metavar="C[,C...]",
                      help="edit only these classes of --label (IDs or names, e.g. 0,4 or pupil,iris; "
                           "'instruments' / 'anatomy' for the groups); every other pixel stays byte-identical")
    only.add_argument("--keep-classes", default=None, metavar="C[,C...]",
                      help="protect these classes of --label (e.g. instruments) and edit the rest")
    parser.add_argument("--auto-region", action="store_true",
                        help="propose the classes to edit from the prompt (DiffEdit: where the noise estimates "
                             "under --source-prompt and --prompt differ); adds to --only-classes")
    parser.add_argument("--source-prompt", default="", metavar="TEXT",
                        help="what the frame shows (auto region and --method invert; default empty)")
    parser.add_argument("--region-margin", type=int, default=None, metavar="PX",
                        help="feathered margin of the region in frame pixels (default: one latent cell, "
                             "15 px for SD at 960x540)")
    parser.add_argument("--preseg-model", default=None, metavar="MODEL_DIR", help="diffusion model of the head")
    parser.add_argument("--preseg-head", default=None, metavar="HEAD_DIR", help="head folder from train-preseg")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def execute(args: argparse.Namespace, ctx) -> list[Path]:
    """Load, edit, then write every output (only once all exist); returns the image paths."""
    from engine.imageio import read_image, read_label
    from engine.resolution import parse_width_height
    from engine.safety import Read, Write, check_writes
    from engine.services.textedit import TextEditModels, TextEditRequest, edit, edit_settings, save_results
    from engine.textedit import output_paths

    outs = output_paths(args.out, len(args.alpha) if args.method == "imagic" else 1)  # refuse a bad --out early
    check_writes([Write(p) for p in outs] + [Write(Path(args.out).with_suffix(".json"), what="record"),
                                            Write(args.cache, "folder", "cache folder")],
                 [Read(args.image, "image"), Read(args.label, "label"), Read(args.sd, "Stable Diffusion folder"),
                  Read(args.preseg_model, "model folder"), Read(args.preseg_head, "head folder")])
    if args.method != "imagic" and len(args.alpha) > 1:
        raise ValueError("--alpha with several values applies to --method imagic only")
    resolution = parse_width_height(args.resolution) if args.resolution else None
    region = "keep" if args.keep_classes is not None else (
        "only" if args.only_classes is not None or args.auto_region else "frame")
    if region != "frame" and args.label is None:
        raise ValueError("--only-classes, --keep-classes and --auto-region need the frame's label: --label LABEL.png")
    scoring = args.preseg_model is not None or args.preseg_head is not None
    if (args.preseg_model is None) != (args.preseg_head is None) or (scoring and args.label is None) or (
            args.label is not None and not scoring and region == "frame"):
        raise ValueError("label consistency needs all three of --label, --preseg-model and --preseg-head")
    classes = args.keep_classes if region == "keep" else (args.only_classes or "")
    settings = edit_settings(  # a bad setting or region is refused before loading anything
        method=args.method, strength=args.strength, alphas=tuple(args.alpha), interp=args.interp, steps=args.steps,
        guidance=args.guidance, seed=args.seed, opt_steps=args.opt_steps, tune_steps=args.tune_steps,
        resolution=tuple(resolution) if resolution else None, tune=args.tune, framing=args.framing, region=region,
        region_classes=classes, auto_region=args.auto_region, region_margin=args.region_margin,
        source_prompt=args.source_prompt)
    image = read_image(args.image)
    label = read_label(args.label) if args.label else None
    if region != "frame" and not args.auto_region:  # classes absent from this label: refused before loading SD
        from engine.textedit.region import make_region, parse_classes

        if label.shape != image.shape[:2]:
            raise ValueError(f"the label is {label.shape[1]}x{label.shape[0]} but the frame is "
                             f"{image.shape[1]}x{image.shape[0]}")
        make_region(label, region, parse_classes(classes), 0)
    request = TextEditRequest(args.sd, args.prompt, settings, args.device, args.cache, args.preseg_model,
                              args.preseg_head)
    results = edit(ctx, TextEditModels(), request, image, label)
    ctx.check()
    return save_results(results, args.out, source=str(Path(args.image)))


def run(args: argparse.Namespace) -> int:
    from engine.cli import CliError
    from engine.cli.progress import tqdm_context
    from engine.textedit import TextEditMemoryError

    ctx, bar = tqdm_context("edit", disable=args.quiet)
    try:
        paths = execute(args, ctx)
    except TextEditMemoryError as exc:
        raise CliError(str(exc)) from exc
    finally:
        bar.close()
    if not args.quiet:
        for p in paths:
            print(f"wrote {p}")
    return 0
