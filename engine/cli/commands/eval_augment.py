"""`cadis eval-augment PROJECT [--folds K] [--steps N] [--size WxH]`: what the accepted synthetic pairs are worth.

Trains the small UNet on the project's done frames with and without its accepted synthetic pairs, in folds by
video (a pair made from a held-out video's frame is never trained on in that fold), and prints per class
what the pairs add or cost with the spread over folds (engine.services.eval_augment; the app's
*Curation → What is it worth?* runs the same function). The result is kept in the project for the export report.
"""
from __future__ import annotations

import argparse

NAME = "eval-augment"
HELP = "train the small segmenter with and without the accepted synthetic pairs and show what they add per class"
DESCRIPTION = ("Trains the small UNet on the project's done frames with and without its accepted synthetic pairs, "
               "in folds by video (pairs made from a held-out video's frames are never trained on in that fold), "
               "and prints per class what the pairs add or cost, with the spread over folds. The step budget and "
               "working size are small by default so it finishes on a CPU; raise them on a GPU. The last result is "
               "kept in the project and the export report carries it.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from engine.services.eval_augment import EvalAugmentRequest

    d = EvalAugmentRequest()  # the CLI's defaults are the request's (the app's dialog starts from them too)
    size = "x".join(map(str, d.size))
    parser.add_argument("project", metavar="PROJECT", help="a project folder, or the dataset it belongs to")
    parser.add_argument("--folds", type=int, default=d.folds, metavar="K",
                        help=f"folds by video ({d.folds}; at most the number of videos)")
    parser.add_argument("--steps", type=int, default=d.steps, metavar="N", help=f"training steps per model ({d.steps})")
    parser.add_argument("--size", default=size, metavar="WxH", help=f"working size of the segmenter ({size})")
    parser.add_argument("--seed", type=int, default=d.seed, metavar="S", help=f"training seed ({d.seed})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from engine.cli.progress import tqdm_context
    from engine.project import Project
    from engine.resolution import parse_width_height
    from engine.safety import Write, check_writes
    from engine.services.eval_augment import EvalAugmentRequest, eval_augment

    request = EvalAugmentRequest(folds=args.folds, steps=args.steps, size=parse_width_height(args.size),
                                 seed=args.seed)
    request.check()
    check_writes([Write(args.project, "project", "project")], [])
    project = Project.open_or_create(args.project, app="cadis eval-augment")
    try:
        ctx, bar = tqdm_context("eval-augment", disable=args.no_progress)
        try:
            result = eval_augment(ctx, project, request)
        finally:
            bar.close()
    finally:
        project.close()
    if result.value is None:
        print(f"eval-augment: {result.problem}")
        return 1
    print("\n".join(result.markdown()))
    return 0
