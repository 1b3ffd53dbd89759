"""One export as the app and the CLI run it: the CaDIS layout, plus COCO and the class-frequency report
written inside the same atomic export (as `export_cadis` finishers).

    outcome = run_export(project, ExportOptions("out/", format="cadis,coco"), ctx)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from engine.export.formats import EXPORT_FORMATS, parse_formats
from engine.jobs import JobContext


@dataclass
class ExportOptions:
    """What to export and how (the export dialog's fields and the CLI's flags)."""

    out_dir: str
    format: str = "cadis"          # a comma-separated list of `engine.export.formats` ("both" = "cadis,coco")
    experiment: Optional[str] = None
    include: tuple[str, ...] = ("real",)
    statuses: tuple[str, ...] = ("done",)
    split: str = "all"
    previews: bool = False
    overwrite: bool = False
    report: bool = True
    min_agreement: Optional[float] = None  # leave out frames whose annotators agree less (engine.team)

    def problem(self) -> str:
        """"" when the options can run, else what to change."""
        if not self.out_dir.strip():
            return "Choose an output folder first."
        if Path(self.out_dir).expanduser().is_file():
            return "That path is a file; choose a folder."
        if not self.include:
            return "Tick real frames and/or accepted synthetic pairs to export."
        if "real" in self.include and not self.statuses:
            return "Tick at least one review status of the frames to export."
        try:
            parse_formats(self.format)
        except ValueError as exc:
            return f"{exc}."
        return ""

    @property
    def formats(self) -> tuple[str, ...]:
        return parse_formats(self.format)


@dataclass
class ExportOutcome:
    """What an export wrote: the CaDIS export, the COCO file (or None) and the report files (or None)."""

    result: object
    coco_path: Optional[Path]
    report: object
    class_set: object = None
    notes: list = field(default_factory=list)


def run_export(source, options: ExportOptions, ctx: Optional[JobContext] = None,
               written: Optional[dict] = None) -> ExportOutcome:
    """Export a project (or a dataset) with `options`; COCO and the report are part of the atomic export.

    `written["out_dir"]` is set once the export folder is in place (a cancel after that point cannot undo
    it; the dialog says so)."""
    from engine.export.cadis_export import export_cadis
    from engine.dataset import DatasetIndex
    from engine.export.report import add_eval_augment, report_from_export
    from engine.project.eval_augment_file import load_eval_augment
    from engine.taxonomy import get_class_set

    ctx = ctx or JobContext()
    made: dict = {}

    def writer(fmt):
        def write(folder: Path) -> None:
            ctx.report(fmt.progress, f"writing {fmt.label}")
            made[fmt.name] = fmt.write(folder)
        return write

    def report(folder: Path) -> None:
        ctx.report(0.94, "writing the class-frequency report")
        made["report"] = report_from_export(folder)
        root = getattr(source, "root", None) if not isinstance(source, DatasetIndex) else None
        if root is not None:  # a project: the last `cadis eval-augment` result goes with the report
            add_eval_augment(made["report"].markdown, load_eval_augment(root))

    formats = [EXPORT_FORMATS[name] for name in options.formats]
    finishers = [writer(f) for f in formats if f.write is not None] + ([report] if options.report else [])
    result = export_cadis(source, options.out_dir, experiment=options.experiment, split=options.split,
                          statuses=options.statuses or ("done",), previews=options.previews, include=options.include,
                          overwrite=options.overwrite, ctx=ctx.sub(0.0, 0.85), finishers=finishers,
                          min_agreement=options.min_agreement)
    if written is not None:
        written["out_dir"] = result.out_dir
    out = Path(result.out_dir)
    coco_path = out / made["coco"] if "coco" in made else None
    files = made.get("report")
    if files is not None:  # its paths named the temporary folder: point them at the final one
        files = dataclasses.replace(files, markdown=out / files.markdown.name, csv=out / files.csv.name,
                                    chart=out / files.chart.name)
    ctx.report(1.0, "done")
    return ExportOutcome(result, coco_path, files, get_class_set(options.experiment))
