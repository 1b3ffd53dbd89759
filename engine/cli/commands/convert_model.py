"""`cadis convert-model OLD NEW`: a single-UNet synthesis folder -> a full-resolution pipeline folder."""
from __future__ import annotations

import argparse
from pathlib import Path

NAME = "convert-model"
HELP = "convert a synthesis model folder written before full-resolution synthesis into a pipeline folder"
DESCRIPTION = (
    "Reads OLD (config.json + diffusion_pytorch_model.safetensors + scheduler_config.json: a single diffusion UNet, "
    "as `cadis train-model` wrote before) and writes NEW in the diffusers pipeline layout (model_index.json, "
    "unet/, scheduler/, upsampler/). The upsampler comes from --upsampler (an upsampler or pipeline folder), by "
    "default the shipped starter model's when it fits the UNet's class set and size. OLD is not changed.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", type=Path, metavar="OLD", help="the single-UNet model folder")
    parser.add_argument("new", type=Path, metavar="NEW", help="the pipeline folder to write (new or empty)")
    parser.add_argument("--upsampler", type=Path, default=None, metavar="DIR",
                        help="upsampler folder, or a pipeline folder whose upsampler to use")


def run(args: argparse.Namespace) -> int:
    from engine.pipelines.folder import convert_folder, read_upsampler_note
    from engine.safety import Read, Write, check_writes

    reads = [Read(args.old, "model OLD")] + ([Read(args.upsampler, "upsampler")] if args.upsampler else [])
    check_writes([Write(args.new, "folder", "pipeline folder NEW")], reads)
    out = convert_folder(args.old, args.new, args.upsampler)
    print(f"wrote pipeline folder {out}; {read_upsampler_note(out)}")
    return 0
