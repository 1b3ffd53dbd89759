"""`cadis export PROJECT_OR_DATASET OUT_DIR`: write a CaDIS-layout dataset with a manifest."""
from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli import CliError
from engine.cli.progress import tqdm_context
from engine.dataset import NotCadisError
from engine.export.place import PlaceError, check_target
from engine.project import STATUSES
from engine.services.export import (
    EXPORT_FORMATS, INCLUDE_CHOICES, SPLIT_CHOICES, ExportOptions, ExportRequest, export, open_export_source,
)
from engine.safety import Read, Write, check_writes

NAME = "export"
HELP = "export a project's finished frames (or a whole dataset) in the CaDIS layout with a manifest"
DESCRIPTION = (HELP + ". Given a project folder, exports the frames whose review status is one of --status, "
               "with the project's edited labels. Given a dataset or frame folder, exports its labelled frames "
               "as they are (useful with --experiment). The export is written to a temporary folder and renamed "
               "into place when complete.")


def _csv(choices: tuple[str, ...], what: str):
    def parse(text: str) -> tuple[str, ...]:
        values = tuple(v.strip() for v in text.split(",") if v.strip())
        bad = [v for v in values if v not in choices]
        if bad or not values:
            raise argparse.ArgumentTypeError(f"{what} must be a comma-separated list of {', '.join(choices)}")
        return values
    return parse


def _formats(text: str) -> str:
    from engine.export import parse_formats

    try:
        return ",".join(parse_formats(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="PROJECT_OR_DATASET",
                        help="a project folder (*.cadis-project), a CaDIS dataset root or a folder of frames")
    parser.add_argument("out_dir", metavar="OUT_DIR", help="where to write the export (must be empty or new)")
    parser.add_argument("--experiment", choices=("1", "2", "3"), default=None,
                        help="remap labels to this benchmark class set (default: the 36 original classes)")
    parser.add_argument("--split", choices=SPLIT_CHOICES, default="all", help="official split to export")
    parser.add_argument("--status", type=_csv(STATUSES, "--status"), default=("done",),
                        help="project frames to export by review status, comma-separated (default: done)")
    parser.add_argument("--include", type=_csv(INCLUDE_CHOICES, "--include"), default=("real",),
                        help="real frames and/or accepted synthetic pairs, e.g. real,synthetic (default: real)")
    parser.add_argument("--format", type=_formats, default="cadis", metavar="LIST",
                        help=f"comma-separated formats: {', '.join(EXPORT_FORMATS)} (both = cadis,coco). cadis: the "
                             "CaDIS folder layout; coco: also coco.json with RLE masks (it points at the exported "
                             "images, so the folders are always written). Default cadis")
    parser.add_argument("--no-report", action="store_true",
                        help="skip the class-frequency report (class_frequency.md/.csv/.png)")
    parser.add_argument("--min-agreement", type=float, default=None, metavar="IOU",
                        help="a merged team project: leave out frames whose annotators' versions agree less than "
                             "this mean IoU (0..1); frames only one annotator labelled are kept")
    parser.add_argument("--previews", action="store_true", help="also write colour previews in VideoNN/Previews/")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty OUT_DIR")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    source_path = Path(args.source).expanduser()
    if not source_path.exists():
        raise CliError(f"{source_path} does not exist")
    check_writes([Write(args.out_dir, "folder", "export folder")], [Read(source_path, "source")])
    try:
        opened = open_export_source(source_path)
    except NotCadisError as exc:
        raise CliError(str(exc)) from None
    project, source = opened.project, opened.data
    try:  # refuse a folder that cannot be used before the progress bar appears (export_cadis checks again)
        check_target(args.out_dir, [], args.overwrite)
    except PlaceError as exc:
        opened.close()
        raise CliError(str(exc)) from None
    options = ExportOptions(args.out_dir, format=args.format, experiment=args.experiment, include=args.include,
                            statuses=args.status, split=args.split, previews=args.previews, overwrite=args.overwrite,
                            report=not args.no_report, min_agreement=args.min_agreement)
    ctx, bar = tqdm_context("export", disable=args.no_progress)
    try:
        result = export(ctx, ExportRequest(source, options)).result
    finally:
        bar.close()
        opened.close()
    print(f"exported {result.frames} frames and {result.synthetic} synthetic pairs to {result.out_dir}")
    if "coco" in options.formats:
        print(f"COCO annotations: {result.out_dir / 'coco.json'}")
    if not args.no_report:
        print(f"class-frequency report: {result.out_dir / 'class_frequency.md'} (+ .csv, .png)")
    index = project.dataset if project is not None else source
    if project is not None and project.journal_damage:
        print(f"note: {project.journal_damage}")
    for problem in index.scan_problems:
        print(f"problem {problem.path}: {problem.reason}")
    for key, reason in result.skipped[:20]:
        print(f"skipped {key}: {reason}")
    if len(result.skipped) > 20:
        print(f"... and {len(result.skipped) - 20} more skipped (see manifest.json)")
    return 0
