"""Open any model folder: the one entry the CLI and the app use to load one (ADR 12, "one way to load").

    opened = open_model_folder(ModelFolderRequest(path))      # kind found from the files
    opened.kind, opened.model, opened.note

`engine.models.folders.identify` tells the kind; the kind's loader (listed in that module's docstring) checks
the files, the config fields and the weights' shapes on the meta device, then calls `from_pretrained`. A folder
that cannot be used raises `engine.models.folders.ModelFolderError` (or a subclass) with one line.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from engine.models.folders import KINDS, ModelFolderError, identify
from engine.models.trained_on import PHANTOM, TRAIN_HINT, describe, frame_warning, read_record

__all__ = ["KINDS", "LOADERS", "PHANTOM", "TRAIN_HINT", "ModelFolderError", "ModelFolderRequest", "OpenedFolder",
           "describe", "frame_warning", "identify", "open_model_folder", "read_record", "synthesis_folder_problem"]


@dataclass
class ModelFolderRequest:
    """Which folder to open; `kind` (a key of KINDS) when the caller knows it, else it is identified."""

    path: str
    kind: Optional[str] = None
    device: str = "cpu"


@dataclass
class OpenedFolder:
    kind: str
    path: Path
    model: Any          # the pipeline, network, head or loaded model bundle
    note: str = ""      # e.g. how to convert a folder written by an earlier version


def _synthesis(path: Path, device: str):
    import warnings

    from engine.pipelines.synthesis import SynthesisPipeline

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        pipe = SynthesisPipeline.from_pretrained(path, device=device)
    return pipe, str(pipe.card.get("note", ""))


def _diffusers_unet(path: Path, device: str):
    from engine.preseg.features import load_diffusion_model

    return load_diffusion_model(path, device)[0], ""


def _upsampler(path: Path, device: str):
    from engine.pipelines.folder import load_upsampler

    return load_upsampler(path).to(device), ""


def _student(path: Path, device: str):
    from engine.distill.student import STUDENT_DIR, load_student

    if path.name != STUDENT_DIR:
        raise ModelFolderError(f"{path}: a student lives in MODEL_DIR/{STUDENT_DIR}; open that folder")
    return load_student(path.parent, device=device)[0], ""


def _head(path: Path, device: str):
    from engine.preseg.head_dir import load_head

    return load_head(path), ""


def _sd(path: Path, device: str):
    from engine.textedit.sd_loader import load_sd

    return load_sd(path, device=device), ""


def _sam(path: Path, device: str):
    from engine.segment.model import load_segment_model

    return load_segment_model(path, device), ""


LOADERS: dict[str, Callable[[Path, str], tuple[Any, str]]] = {
    "synthesis": _synthesis, "synthesis-unet": _synthesis, "diffusers-unet": _diffusers_unet, "upsampler": _upsampler, "student": _student,
    "preseg-head": _head, "stable-diffusion": _sd, "sam": _sam, "sam2": _sam, "sam2_video": _sam, "sam3_tracker": _sam, "sam3": _sam,
}
assert set(LOADERS) == set(KINDS), "every folder kind has its one loader"


def open_model_folder(request: ModelFolderRequest) -> OpenedFolder:
    """Identify (unless given), check and load the folder; ModelFolderError (one line) when it cannot be used."""
    path = Path(request.path)
    kind = request.kind or identify(path)
    if kind not in LOADERS:
        raise ModelFolderError(f"unknown model folder kind {kind!r} (one of {', '.join(KINDS)})")
    model, note = LOADERS[kind](path, request.device)
    return OpenedFolder(kind, path, model, note)



def synthesis_folder_problem(model_dir: str) -> Optional[str]:
    """None when `model_dir` holds a synthesis model's config and safetensors weights (nothing is loaded), else
    what is wrong (one line)."""
    from engine.models.model_dir import check_model_folder

    try:
        check_model_folder(model_dir)
    except ModelFolderError as exc:
        return str(exc)
    return None
