"""`cadis distill`: make a 1-2 step preview student of a synthesis model (consistency distillation)."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

NAME = "distill"
HELP = "distil a synthesis model into a 1-2 step preview student (MODEL_DIR/student/)"
DESCRIPTION = (
    "Consistency distillation (the latent-consistency recipe) of the synthesis model in MODEL_DIR into a student "
    "that samples in 1-2 steps; it is written to MODEL_DIR/student/ and used by the preview preset (the app's "
    "live preview, `cadis synth --preset preview`). Needs the frames the model learnt from (--data; default: the "
    "training data named in the model card when that folder exists). Running the command again continues the "
    "run from its last checkpoint (MODEL_DIR/student/training/) up to --max-steps. Under `accelerate launch "
    "--num_processes N` each process distils on its share of the frames (--batch-size frames each per step)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, help="synthesis model folder (the teacher)")
    parser.add_argument("--data", type=Path, default=None,
                        help="CaDIS dataset, project or pair folder of training frames (default: the model card's)")
    parser.add_argument("--max-steps", type=int, default=None, help="stop at this step (default 1500)")
    parser.add_argument("--batch-size", type=int, default=None, help="frames per step and process (default 8)")
    parser.add_argument("--learning-rate", type=float, default=None, help="default 1e-4")
    parser.add_argument("--checkpoint-every", type=int, default=None, help="save state and student every N steps (100)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _data_folder(args) -> Path:
    from engine.cli import CliError
    from engine.services.distill import card_training_data

    if args.data is not None:
        if not args.data.exists():
            raise CliError(f"--data {args.data} does not exist")
        return args.data
    found, named = card_training_data(args.model)
    if found is not None:
        return found
    raise CliError("give --data: the training frames (a CaDIS dataset, project or pair folder); the model card "
                   + (f"names {named}, which does not exist here" if named else "names none"))


def run(args: argparse.Namespace) -> int:
    from engine.cli import CliError
    from engine.cli.progress import tqdm_context
    from engine.models import check_model_folder
    from engine.services.distill import DistillRequest, distill_student
    from engine.safety import Read, Write, check_writes

    if args.max_steps is not None and args.max_steps < 1:
        raise CliError("--max-steps must be at least 1")
    # the student is written into MODEL_DIR/student/: never into a dataset or over the training frames
    check_writes([Write(args.model / "student", "folder", "student folder")],
                 [Read(args.data, "training data")] if args.data is not None else [])
    check_model_folder(args.model)
    data = _data_folder(args)
    request = DistillRequest(str(args.model), str(data), max_steps=args.max_steps, batch_size=args.batch_size,
                             learning_rate=args.learning_rate, checkpoint_every=args.checkpoint_every,
                             device=args.device)
    check_writes([Write(args.model / "student", "folder", "student folder")], [Read(data, "training data")])
    main_process = int(os.environ.get("RANK", "0")) == 0   # under accelerate launch: one bar, one summary
    ctx, bar = tqdm_context("distill", disable=args.quiet or not main_process)
    try:
        result = distill_student(ctx, request)
    finally:
        bar.close()
    if not main_process:
        return 0
    where = "continued" if result.start_step else "trained"
    print(f"student {where} to step {result.step} (loss {result.last_loss:.4f}): {result.student_dir}")
    return 0
