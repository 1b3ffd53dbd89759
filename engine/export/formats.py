"""The export format registry: every format an export can add, one entry each.

    formats = parse_formats("cadis,coco")    # ("cadis", "coco"); "both" is an alias of "cadis,coco"

The CaDIS folder layout is always written (every other format refers to its images); each other format is a
`write(folder)` run inside the same atomic export. `cadis export --format` and the export dialog read
`EXPORT_FORMATS`, so a new format is one `register_format` call.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional


@dataclass(frozen=True)
class ExportFormat:
    name: str
    label: str                                   # what the export dialog shows
    write: Optional[Callable[[Path], str]] = None  # writes its files into the export folder, returns the main one
    progress: float = 0.87                       # where the export's progress bar is while it writes


EXPORT_FORMATS: dict[str, ExportFormat] = {}
ALIASES: dict[str, tuple[str, ...]] = {"both": ("cadis", "coco")}


def register_format(fmt: ExportFormat) -> ExportFormat:
    EXPORT_FORMATS[fmt.name] = fmt
    return fmt


def parse_formats(text: str) -> tuple[str, ...]:
    """The formats of a comma-separated list ("cadis,coco", "coco", or the alias "both"), in registry order;
    ValueError naming the known ones for anything else."""
    names: list[str] = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        for name in ALIASES.get(part, (part,)):
            if name not in EXPORT_FORMATS:
                known = ", ".join(list(EXPORT_FORMATS) + list(ALIASES))
                raise ValueError(f"unknown export format {name!r}: use a comma-separated list of {known}")
            names.append(name)
    if not names:
        raise ValueError("no export format given: use e.g. cadis or cadis,coco")
    return tuple(n for n in EXPORT_FORMATS if n in names)


def _write_coco(folder: Path) -> str:
    from engine.export.coco import write_coco

    return write_coco(folder).name


register_format(ExportFormat("cadis", "CaDIS layout (index PNG labels)"))
register_format(ExportFormat("coco", "COCO JSON with RLE masks", _write_coco))
