"""`manifest.json` of an export: what was exported, from where, with which class set, and how often each
class occurs.

Every path in a manifest is relative to the export folder (forward slashes, no `..`, never absolute) and
is validated again when a manifest is read, so a manifest cannot point a reader outside its folder.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine import __version__
from engine.files import read_json
from engine.histogram import label_histogram
from engine.project.paths import check_relpath
from engine.taxonomy import IGNORE, ClassSet

MANIFEST_NAME = "manifest.json"
FORMAT = "cadis-studio-export"
VERSION = 1
MAX_MANIFEST_BYTES = 64 << 20  # the 4,670 frames of CaDIS with checksums and class rows take about 5 MB
MAX_MANIFEST_DEPTH = 16        # a manifest nests 3 levels
_PATH_FIELDS = ("image", "label", "preview")


@dataclass
class ClassCounter:
    """Pixel and frame counts per class ID of the exported (possibly remapped) labels."""

    pixels: np.ndarray = field(default_factory=lambda: np.zeros(256, np.int64))
    frames: np.ndarray = field(default_factory=lambda: np.zeros(256, np.int64))

    def add(self, label: np.ndarray) -> None:
        counts = label_histogram(label)
        self.pixels += counts
        self.frames += counts > 0

    def table(self, class_set: ClassSet) -> list[dict]:
        """One row per class of the set: id, name, pixels, frames, fraction of labelled pixels."""
        labelled = int(self.pixels[: class_set.num_classes].sum())
        return [
            {"id": i, "name": name, "pixels": int(self.pixels[i]), "frames": int(self.frames[i]),
             "fraction": (int(self.pixels[i]) / labelled) if labelled else 0.0}
            for i, name in enumerate(class_set.names)
        ]


def frame_entry(image: str, label: str, preview: str | None, split: str, source: str, key: str | None,
                width: int, height: int, provenance: dict, **extra) -> dict:
    """One exported frame as it appears in the manifest (paths validated)."""
    entry = {"image": check_relpath(image, "image path"), "label": check_relpath(label, "label path"),
             "preview": check_relpath(preview, "preview path") if preview else None,
             "key": key, "split": split, "source": source, "width": int(width), "height": int(height),
             "provenance": provenance}
    entry.update(extra)
    return entry


def build_manifest(*, source: dict, class_set: ClassSet, filters: dict, frames: list[dict],
                   skipped: list[dict], counter: ClassCounter) -> dict:
    """The whole manifest as a JSON-ready dict."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tool": f"cadis-studio {__version__}",
        "source": source,
        "filters": filters,
        "class_set": {"key": class_set.key, "names": list(class_set.names),
                      "groups": [list(g) for g in class_set.groups], "ignore": IGNORE},
        "counts": {"frames": sum(f["source"] == "real" for f in frames),
                   "synthetic": sum(f["source"] != "real" for f in frames), "skipped": len(skipped)},
        "class_frequency": counter.table(class_set),
        "ignore_pixels": int(counter.pixels[IGNORE]),
        # "files": {relative path: SHA-256} of every other file, added once the export is complete
        "frames": frames,
        "skipped": skipped,
    }


def dumps(manifest: dict) -> str:
    """JSON text with one top-level key per line and one list element (frame, class row) or checksum per line:
    readable, diff-friendly, and still plain JSON."""
    def one(value) -> str:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)

    lines = []
    for key, value in manifest.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            body = ",\n".join(f"  {one(v)}" for v in value)
            lines.append(f" {one(key)}: [\n{body}\n ]")
        elif isinstance(value, dict) and value and all(isinstance(v, str) for v in value.values()):
            body = ",\n".join(f"  {one(k)}: {one(v)}" for k, v in value.items())
            lines.append(f" {one(key)}: {{\n{body}\n }}")
        else:
            lines.append(f" {one(key)}: {one(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def read_manifest(path: str | Path) -> dict:
    """Read and check a manifest (a file or the export folder holding it); ValueError with the reason if bad."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not os.path.lexists(path):
        raise ValueError(f"{path}: no manifest here (not a CaDIS Studio export?)")
    # the export writes it as a regular file: a link, FIFO or device (/dev/zero) is refused, never read
    data = read_json(path, MAX_MANIFEST_BYTES, "manifest", max_depth=MAX_MANIFEST_DEPTH, follow_links=False)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path}: not a CaDIS Studio export manifest")
    version = data.get("version", 0)
    if type(version) is not int or version < 0:
        raise ValueError(f"{path}: manifest version {str(version)[:40]} is not a version number; not a manifest "
                         "this app wrote")
    if version > VERSION:
        raise ValueError(f"{path}: manifest version {version} is newer than this app reads ({VERSION})")
    files = data.get("files")
    if files is not None and not (isinstance(files, dict) and all(isinstance(k, str) and isinstance(v, str)
                                                                  for k, v in files.items())):
        raise ValueError(f"{path}: manifest 'files' must map relative paths to SHA-256 checksums")
    frames = data.get("frames")
    if not isinstance(frames, list):
        raise ValueError(f"{path}: manifest has no frame list")
    for n, entry in enumerate(frames):
        for name in _PATH_FIELDS:
            value = entry.get(name) if isinstance(entry, dict) else None
            if value is None and name == "preview":
                continue
            try:
                check_relpath(value, f"frame {n} {name}")
            except ValueError as exc:
                raise ValueError(f"{path}: {exc}") from None
    return data
