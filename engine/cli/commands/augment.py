"""`cadis augment PROJECT --model MODEL_DIR`: layout variants x synthesis samples -> synthetic pairs.

    cadis augment PROJECT --model MODEL_DIR [--mode repaint|full] [--margin PX] [--frames LIST] [--layouts K]
                  [--samples M] [--steps N] [--seed S] [--min-consistency X] [--drop-uncertain 0.1] [--head HEAD_DIR]

Makes K layout variants of each chosen frame's mask (default: the project's "done" frames), M images per
variant with the synthesis model at the frame's own size (by default repainting only what the variant changed,
keeping the real frame's other pixels; --mode full synthesizes the whole frame), scores them with the
pre-segmentation head (--head), filters and stores the kept ones in the project as pending synthetic pairs for review.
Run the same command again after a
kill or Ctrl-C to resume: finished items are skipped, nothing is stored twice. Under
`accelerate launch --num_processes N cadis augment ...` each process takes its own share of the frames.
"""
from __future__ import annotations

import argparse
import os
import socket
from pathlib import Path

NAME = "augment"
HELP = "make synthetic pairs from layout variants of the project's masks (resumable, shardable)"
DESCRIPTION = (
    "Makes K layout variants of each chosen frame's mask (default: the project's frames marked done), M images "
    "per variant with the synthesis model at the frame's own size (--mode repaint, the default: only the pixels "
    "the variant changed plus --margin are re-synthesized, the rest stays the real frame; --mode full: the whole "
    "frame), scores them with the pre-segmentation head (--head), filters them and "
    "stores the kept ones in the project as pending synthetic pairs for review. Run the same command again after "
    "a kill or Ctrl-C to resume: finished items are skipped and nothing is stored twice. Under `accelerate launch "
    "--num_processes N cadis augment ...` each process takes its own share of the frames.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", metavar="PROJECT", help="a project folder, or the dataset it belongs to")
    parser.add_argument("--model", required=True, metavar="MODEL_DIR", help="synthesis model folder")
    parser.add_argument("--mode", choices=("repaint", "full"), default="repaint",
                        help="repaint (default): re-synthesize only what each variant changed; full: whole frames")
    parser.add_argument("--margin", type=int, default=16, metavar="PX",
                        help="pixels around a change that are repainted too (16)")
    parser.add_argument("--frames", metavar="LIST",
                        help="frame keys: a text file with one key a line, or keys separated by commas "
                             "(default: the project's frames marked done)")
    parser.add_argument("--layouts", type=int, default=4, metavar="K", help="layout variants per frame (4)")
    parser.add_argument("--samples", type=int, default=2, metavar="M", help="images per layout variant (2)")
    parser.add_argument("--steps", type=int, default=None, metavar="N", help="sampling steps (preset default)")
    parser.add_argument("--preset", default="preview", choices=("preview", "final"),
                        help="sampling preset: preview (fast) or final (quality); default preview")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="base seed of the run (0)")
    parser.add_argument("--min-consistency", type=float, default=None, metavar="X",
                        help="drop pairs whose label consistency (mIoU of the head's proposal) is below X")
    parser.add_argument("--drop-uncertain", type=float, default=0.0, metavar="F",
                        help="after the run, reject the fraction F of most uncertain pairs (e.g. 0.1)")
    parser.add_argument("--head", metavar="HEAD_DIR", help="pre-segmentation head used to score pairs")
    parser.add_argument("--duplicate-threshold", type=float, default=None, metavar="D",
                        help="thumbnail distance under which a sample counts as a near-duplicate (0.1)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _frames(text: str | None) -> list[str] | None:
    if text is None:
        return None
    if Path(text).is_file():
        from engine.preseg import read_frame_list

        return read_frame_list(text)
    keys = [k.strip() for k in text.split(",") if k.strip()]
    if not keys:
        from engine.cli import CliError

        raise CliError("--frames is empty: give a file with one frame key a line, or comma-separated keys")
    return keys


def _shard():
    """(index, count, state) from accelerate when launched with several processes, else (0, 1, None).

    Where "auto" means the CPU (no GPU, or `accelerate launch --cpu`) the processes must be told so, or
    accelerate would not join them (gloo) and each would think it is alone and make every pair."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return 0, 1, None
    from accelerate import PartialState

    from engine.device import pick_device

    state = PartialState(cpu=pick_device("auto").type == "cpu")
    return state.process_index, state.num_processes, state


def request_from_args(args: argparse.Namespace):
    """The `engine.services.augment.AugmentRequest` of the command line."""
    from engine.curation.duplicates import DEFAULT_THRESHOLD
    from engine.services.augment import AugmentRequest

    return AugmentRequest(
        model_dir=args.model, mode=args.mode, margin=args.margin, frames=_frames(args.frames),
        layouts=args.layouts, samples=args.samples, steps=args.steps, preset=args.preset, seed=args.seed,
        min_consistency=args.min_consistency, drop_uncertain=args.drop_uncertain, head_dir=args.head or "",
        duplicate_threshold=DEFAULT_THRESHOLD if args.duplicate_threshold is None else args.duplicate_threshold,
        device=args.device)


def run(args: argparse.Namespace) -> int:
    from engine.project import Project

    request = request_from_args(args)
    request.check()
    from engine.safety import Read, Write, check_writes

    check_writes([Write(args.project, "project", "project")],
                 [Read(args.model, "model folder"), Read(args.head, "head folder"),
                  Read(Path(args.frames) if args.frames and Path(args.frames).is_file() else None, "frame list")])
    index, count, state = _shard()
    # before the models load: a project another program writes is refused at once (engine.project.lock);
    # the processes of one `accelerate launch` are one writer: the first takes the lock, the others join it
    group = f"{socket.gethostname()}:{os.getppid()}:{os.environ.get('MASTER_PORT', '')}" if count > 1 else None
    project = Project.open_or_create(args.project, app="cadis augment", group=group) if index == 0 else None
    if state is not None:
        state.wait_for_everyone()
    if project is None:
        project = Project.open_or_create(args.project, app="cadis augment", group=group)
    try:
        return _augment(args, request, project, index, count, state)
    finally:
        project.close()


def _augment(args, request, project, index: int, count: int, state) -> int:
    from dataclasses import replace

    from engine.cli.progress import tqdm_context
    from engine.device import pick_device
    from engine.services.augment import augment

    device = state.device if state is not None and args.device == "auto" else pick_device(args.device)
    ctx, bar = tqdm_context(f"augment {index + 1}/{count}" if count > 1 else "augment",
                            disable=args.no_progress or index > 0)
    try:
        outcome = augment(ctx, project, replace(request, device=str(device)), shard_index=index, shard_count=count,
                          barrier=state.wait_for_everyone if state is not None else None)
    finally:
        bar.close()
    result = outcome.result
    rare = ", ".join(map(str, result.rare_classes)) or "none"
    print(f"augment{f' shard {index + 1}/{count}' if count > 1 else ''}: {result.summary()}; rare classes {rare}")
    if outcome.rejected:
        print(f"rejected the {len(outcome.rejected)} most uncertain pair(s) (--drop-uncertain {request.drop_uncertain})")
    return 0
