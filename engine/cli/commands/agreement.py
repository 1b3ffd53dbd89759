"""`cadis agreement MERGED [--json F]`: how well the team agrees on the frames two or more annotators labelled."""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from engine.atomic import atomic_write_text
from engine.cli import CliError
from engine.project import Project, ProjectError, is_project_dir
from engine.safety import Read, Write, check_writes

NAME = "agreement"
HELP = "agreement of a merged team project per class and annotator pair (IoU, boundary F, disputed pixels)"
DESCRIPTION = (HELP + ". Prints a table: the classes people disagree on most and, per annotator, the classes "
               "where they depart from the majority (frames with three or more versions). --json writes every "
               "figure; --chart draws per-class IoU when matplotlib is installed (skipped otherwise).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", metavar="MERGED", help="a merged project (cadis merge)")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--chart", default=None, metavar="PNG", help="also draw a chart (needs matplotlib)")
    parser.add_argument("--tolerance", type=int, default=2, help="boundary match distance in pixels (default 2)")


def _clean(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def write_chart(report, path: Path) -> bool:
    """Per-class mean pairwise IoU as a bar chart; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    from engine.team.agreement import class_name

    classes = sorted(report.classes, key=lambda c: report.classes[c]["iou"])
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.25 * len(classes) + 1)))
    ax.barh([class_name(c) for c in classes], [report.classes[c]["iou"] for c in classes])
    ax.set_xlabel("mean pairwise IoU")
    ax.set_xlim(0, 1)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def run(args: argparse.Namespace) -> int:
    from engine.team import measure_agreement

    source = Path(args.project).expanduser()
    if not is_project_dir(source):
        raise CliError(f"{source} is not a project folder; give the merged project (cadis merge --out)")
    outs = [(p, k) for p, k in ((args.json, "JSON report"), (args.chart, "chart")) if p]
    check_writes([Write(p, "file", k) for p, k in outs], [Read(source, "project")])
    try:
        with Project.open_or_create(source, read_only=True) as project:
            report = measure_agreement(project, tol=args.tolerance)
    except ProjectError as exc:
        raise CliError(str(exc)) from None
    print(report.table())
    if args.json:
        atomic_write_text(args.json, json.dumps(_clean(report.to_dict()), indent=2) + "\n")
        print(f"figures written to {args.json}")
    if args.chart:
        if write_chart(report, Path(args.chart)):
            print(f"chart written to {args.chart}")
        else:
            print("chart skipped: matplotlib is not installed")
    return 0
