"""The last `cadis eval-augment` result of a project, kept as `<project>/eval-augment.json` for the export report.

`save_eval_augment(project_root, data)` writes it atomically (the service calls it only once a run has
finished, so a cancelled run leaves the file as it was); `load_eval_augment(project_root)` gives the dict, or
None when there is none or it cannot be read (a hand-edited or truncated file is not an export's problem).
"""
from __future__ import annotations

import json
from pathlib import Path

from engine.atomic import atomic_write_text

EVAL_AUGMENT_FILE = "eval-augment.json"
MAX_BYTES = 2 << 20


def save_eval_augment(project_root: str | Path, data: dict) -> Path:
    return atomic_write_text(Path(project_root) / EVAL_AUGMENT_FILE, json.dumps(data, indent=1) + "\n")


def load_eval_augment(project_root: str | Path) -> dict | None:
    path = Path(project_root) / EVAL_AUGMENT_FILE
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("markdown"), list) else None
