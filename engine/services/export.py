"""The export use case: a project (or a dataset) -> a CaDIS-layout export with manifest, COCO and report, for
`cadis export` and File > Export… alike.

    source = open_export_source(path)                        # a project (read-only) or a dataset
    outcome = export(ctx, ExportRequest(source.data, ExportOptions(out_dir, format="cadis,coco")))
    source.close()

`ExportOptions` is the request's settings (formats from `EXPORT_FORMATS`, the one registry), `ExportOutcome`
the result (the export, the COCO file, the class-frequency report). The report's rows and chart for a window
come from `class_frequency` and `frequency_chart`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from engine.export import EXPORT_FORMATS, INCLUDE_CHOICES, SPLIT_CHOICES, ExportOptions, ExportOutcome
from engine.jobs import JobContext

__all__ = ["EXPORT_FORMATS", "INCLUDE_CHOICES", "SPLIT_CHOICES", "ExportOptions", "ExportOutcome", "ExportRequest",
           "ExportSource", "class_frequency", "export", "frequency_chart", "open_export_source"]


@dataclass
class ExportRequest:
    """What to export (an open `engine.project.Project` or a dataset index) and how."""

    source: Any
    options: ExportOptions


@dataclass
class ExportSource:
    """An opened export source; `project` is set (and must be closed) when the path is a project folder."""

    data: Any
    project: Optional[Any] = None

    def close(self) -> None:
        if self.project is not None:
            self.project.close()


def open_export_source(path: str | Path) -> ExportSource:
    """A project folder opens read-only (an export only reads it); any other folder opens as a CaDIS dataset.
    Raises FileNotFoundError or `engine.dataset.NotCadisError` (one line each)."""
    from engine.dataset import open_dataset
    from engine.project import Project, is_project_dir

    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"{p} does not exist")
    if is_project_dir(p):
        project = Project.open_or_create(p, read_only=True)
        return ExportSource(project, project)
    return ExportSource(open_dataset(p))


def export(ctx: JobContext, request: ExportRequest, written: Optional[dict] = None) -> ExportOutcome:
    """Run the export (atomic: written to a temporary folder and renamed into place). `written["out_dir"]` is
    set once the export folder is in place, for a caller that is told of a cancel after that point."""
    from engine.export import run_export

    return run_export(request.source, request.options, ctx, written)


def class_frequency(ctx: JobContext, project, class_set) -> list[dict]:
    """Rows of the project's class frequency (before / after), as the export report lists them."""
    from engine.export.report import project_frequency

    return project_frequency(project, class_set, ctx=ctx)


def frequency_chart(rows: list[dict], class_set):
    """The report's bar chart of `rows` as an RGB array."""
    from engine.export.report import render_chart

    return render_chart(rows, class_set)
