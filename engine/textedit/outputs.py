"""Writing edit results: numbered PNGs at the original size plus a JSON provenance record.

One result goes to OUT.png; several (an α sweep) to OUT_0.png, OUT_1.png, ... (numbered like
`cadis synth --num`). OUT.json lists every output with its settings and scores. Nothing is written until
all results exist, and every file is written atomically, so a cancelled or failed edit leaves no files.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

from engine.atomic import atomic_write_text
from engine.imageio import write_image


PAIR_SOURCE = "text_edit"  # the source of the pairs text edits make


def output_paths(out: str | os.PathLike, count: int) -> list[Path]:
    """OUT.png for one result; OUT_0.png ... OUT_{n-1}.png for several."""
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise ValueError(f"the output must be a .png file, got {out}")
    if count == 1:
        return [out]
    return [out.with_name(f"{out.stem}_{i}{out.suffix}") for i in range(count)]


def save_results(results: Sequence, out: str | os.PathLike, source: str | None = None) -> list[Path]:
    """Write the images and OUT.json (provenance + scores); returns the image paths."""
    paths = output_paths(out, len(results))
    for p, r in zip(paths, results):
        write_image(p, r.image)
    record = {"source": source, "outputs": [{"file": p.name, **r.record()} for p, r in zip(paths, results)],
              "label": "unchanged: pair each output with the source frame's label"}
    atomic_write_text(Path(out).with_suffix(".json"), json.dumps(record, indent=2))
    return paths


def project_cache_dir(project) -> Path:
    """Where a project keeps the Imagic cache: `<project>/cache/textedit/`."""
    return Path(project.root) / "cache" / "textedit"


def store_pair(project, frame_key: str, label, result, prompt: str | None = None) -> int:
    """Store (edited image, the frame's ORIGINAL label) as a pending synthetic pair with its provenance
    (`engine.provenance.text_edit_provenance`; `prompt` defaults to the one in the result's settings).

    `project` is an engine.project.Project; returns the pair id. The label is stored unchanged.
    """
    from engine.provenance import text_edit_provenance

    if label.shape != result.image.shape[:2]:
        raise ValueError(f"label is {label.shape} but the edited frame is {result.image.shape[:2]}")
    prompt = prompt if prompt is not None else str(result.settings.get("prompt", ""))
    return project.add_pair(result.image, label, PAIR_SOURCE, text_edit_provenance(result, frame_key, prompt),
                            parent_key=frame_key)
