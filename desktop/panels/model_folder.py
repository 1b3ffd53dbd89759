"""Whether a synthesis model folder is usable (and what to do when not)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

NO_MODEL_HELP = ("Train one with Models → Train synthesis model… (a few hundred steps on your done frames "
                 "already give a usable preview), or pick a model folder in File → Preferences… → "
                 "Models and device.")


def model_folder_problem(model_dir: str) -> Optional[str]:
    """None when `model_dir` is a usable synthesis model folder, else a message saying what to do."""
    from engine.services.folders import synthesis_folder_problem

    if not model_dir:
        return f"No synthesis model is set up yet. {NO_MODEL_HELP}"
    problem = synthesis_folder_problem(model_dir)
    if problem:
        return f"No usable synthesis model: {problem}. {NO_MODEL_HELP}"
    if not any((Path(model_dir) / name).is_file() for name in ("config.json", "model_index.json", "unet/config.json")):
        return f"No usable synthesis model: {model_dir} has no config.json. {NO_MODEL_HELP}"
    return None
