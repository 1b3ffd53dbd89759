"""The one way a model folder is opened: identify its kind, check it, then `from_pretrained`.

Every folder a user hands the program is one of `KINDS`. `identify` tells which from the files alone (bounded
JSON, nothing built); each kind's loader then runs the same three steps with the helpers below, so a hostile
folder is refused the same way whatever its kind:

1. files: each a regular file (a FIFO or device is never read), weights in safetensors (a pickle is refused by
   name and never opened: `refuse_missing_weights`), JSON bounded in size and nesting (`read_json_object`);
2. config: every field within bounds (`engine.models.config_checks`), then the tensors the config asks for,
   built on the meta device, compared name by name and shape by shape with the safetensors header
   (`check_weights_against`), before a single tensor is allocated;
3. `from_pretrained` (offline, safetensors only), whose library errors become one line (`from_pretrained`).

The per-kind loaders (the only ones; `engine.services.folders.open_model_folder` picks one by kind):
synthesis pipeline and single-UNet folder (`engine.pipelines.folder.load_pipeline`, `engine.models.model_dir.
load_synthesis_model`), upsampler (`engine.pipelines.folder.load_upsampler`), student
(`engine.distill.student.load_student`), plain diffusers UNet (`engine.preseg.features.load_diffusion_model`),
pre-segmentation head (`engine.preseg.head_dir.load_head`), Stable
Diffusion (`engine.textedit.sd_loader.load_sd`), SAM / SAM 2 / SAM 3 (`engine.segment.model.load_segment_model`).
Folders written by earlier versions either load (a single-UNet folder, with the note `cadis convert-model OLD
NEW`; a /1 head) or are refused with the command that converts them (pickled weights: `convert_command`).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Callable, Iterable, Mapping, Optional, TypeVar

from engine.models.config_checks import check_shapes_match, meta_shapes, read_json_object, safetensors_header

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
SAM_FAMILIES = ("sam", "sam2", "sam2_video", "sam3_tracker", "sam3")
KINDS: dict[str, str] = {
    "synthesis": "synthesis pipeline (model_index.json, unet/, scheduler/, upsampler/)",
    "synthesis-unet": "single-UNet synthesis model (config.json + weights at the top, written before pipelines)",
    "diffusers-unet": "plain diffusers UNet2DModel (pre-segmentation features accept one)",
    "upsampler": "mask upsampler (MaskUpsampler2DModel)",
    "student": "distilled preview student (ConsistencyStudent)",
    "preseg-head": "pre-segmentation head (preseg_head.json + preseg_head.safetensors)",
    "stable-diffusion": "Stable Diffusion 1.x/2.x folder in the diffusers layout",
    "sam": "SAM (segment anything)", "sam2": "SAM 2", "sam2_video": "SAM 2 with video",
    "sam3_tracker": "SAM 3 (clicks)",
    "sam3": "SAM 3 (find by name)",
}
CLASS_KINDS = {"SpadeUNet2DModel": "synthesis-unet", "MaskUpsampler2DModel": "upsampler",
               "ConsistencyStudent": "student", "UNet2DModel": "diffusers-unet"}
T = TypeVar("T")


class ModelFolderError(ValueError):
    """A model folder is missing, unsafe, or does not match what was asked for; the message says what to do."""


class MissingModelFileError(ModelFolderError, FileNotFoundError):
    """A file the folder's kind needs is absent (also a FileNotFoundError, as callers catching that expect)."""


def identify(path: str | os.PathLike) -> str:
    """The kind of model folder at `path` (a key of `KINDS`), from its files alone; ModelFolderError when it is
    none of them. Only bounded JSON is read, nothing is built."""
    d = Path(path)
    if not d.exists():
        raise ModelFolderError(f"model folder {d} does not exist")
    if not d.is_dir():
        raise ModelFolderError(f"{d} is a file, not a model folder")
    if os.path.lexists(d / "preseg_head.json"):
        return "preseg-head"
    if os.path.lexists(d / "model_index.json"):
        name = read_json_object(d / "model_index.json", ModelFolderError, "pipeline index").get("_class_name")
        if name == "SynthesisPipeline":
            return "synthesis"
        if isinstance(name, str) and name.startswith("StableDiffusion"):
            return "stable-diffusion"
        raise ModelFolderError(f"{d / 'model_index.json'} describes a {str(name)[:60]!r}, not a SynthesisPipeline or "
                               "a StableDiffusionPipeline")
    if os.path.lexists(d / "config.json"):
        cfg = read_json_object(d / "config.json", ModelFolderError, "model config")
        if cfg.get("model_type") in SAM_FAMILIES:
            return str(cfg["model_type"])
        kind = CLASS_KINDS.get(str(cfg.get("_class_name", "SpadeUNet2DModel")))
        if kind:
            return kind
        raise ModelFolderError(f"{d / 'config.json'} describes a {str(cfg.get('_class_name') or cfg.get('model_type'))[:60]!r}, "
                               f"which is no model folder this program opens ({', '.join(KINDS)})")
    pickles = pickle_files(d)
    if pickles:
        raise ModelFolderError(f"{d} holds only pickle weights ({', '.join(pickles[:3])}), which are never opened; "
                               "convert them to safetensors in a trusted environment")
    raise ModelFolderError(f"{d} is not a model folder (no config.json, model_index.json or preseg_head.json)")


def pickle_files(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES) if d.is_dir() else []


def refuse_missing_weights(weights: Path, error: type[Exception] = ModelFolderError, remedy: str = "") -> None:
    """Raise `error` when the safetensors file `weights` is absent: naming the pickle files found in its place
    (never opened), else saying what is missing."""
    if os.path.lexists(weights):
        return
    d = weights.parent
    pickles = pickle_files(d)
    if pickles:
        raise error(f"{d}: no {weights.name}; it has pickle weights ({', '.join(pickles)}): {pickles[0]}, a pickle, is "
                    "never opened (refusing to load pickle files: they can run code); convert it to safetensors in a "
                    f"trusted environment ({convert_command(d / pickles[0], weights.name)})")
    raise (MissingModelFileError if error is ModelFolderError else error)(
        f"{d} has no {weights.name}" + (f"; {remedy}" if remedy else ""))


def convert_command(pickle_path: Path, safetensors_name: str) -> str:
    """The command that turns a pickled state dict into the safetensors file this program reads (to run only
    where the pickle's origin is trusted)."""
    src, dst = pickle_path, pickle_path.parent / safetensors_name
    load = f"torch.load('{src}', weights_only=True)"
    return f"python -c \"import torch, safetensors.torch as st; st.save_file({load}, '{dst}')\""


def check_weights_against(build: Callable[[], object], weights: Path, config_path: Path,
                          error: type[Exception] = ModelFolderError, optional: Iterable[str] = (),
                          rename: Optional[Callable[[str], str]] = None, ignore: Callable[[str], bool] = lambda k: False,
                          max_parameters: int = 0) -> dict:
    """Build the module `build()` makes on the meta device and compare its tensors with the header of the
    safetensors file `weights` (names, shapes, float dtypes); returns the header. `rename` maps a stored name to
    the module's, `ignore` drops stored tensors the module does not hold, `optional` ones may be absent."""
    header = {(rename(k) if rename else k): v for k, v in safetensors_header(weights, error).items() if not ignore(k)}
    try:
        expected = meta_shapes(build)
    except (TypeError, ValueError, KeyError, IndexError, RuntimeError, AttributeError, ZeroDivisionError) as exc:
        raise error(f"{config_path} describes no valid model ({type(exc).__name__}: {str(exc)[:160]}); the config is "
                    "damaged: use the folder the program wrote") from None
    if max_parameters:
        import math

        total = sum(math.prod(s) for s in expected.values())
        if total > max_parameters:
            raise error(f"{config_path}: the config asks for {total:,} parameters, more than the {max_parameters:,} "
                        "such a model has")
    check_shapes_match(expected, header, config_path, weights, error, tuple(optional))
    return header


def from_pretrained(load: Callable[[], T], folder: Path, error: type[Exception] = ModelFolderError,
                    what: str = "model", remedy: str = "copy the model folder again or retrain it") -> T:
    """Run `load()` (a library's from_pretrained on a checked folder) with its warnings silenced; any failure
    becomes one line naming the folder."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return load()
    except (OSError, ValueError, RuntimeError, TypeError, KeyError, AttributeError, IndexError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise error(f"cannot load {what} from {folder} ({reason}); {remedy}") from None


def pretrained_kwargs(dtype=None) -> Mapping[str, object]:
    """The arguments every `from_pretrained` here gets: offline, safetensors only."""
    out: dict[str, object] = {"local_files_only": True, "use_safetensors": True}
    if dtype is not None:
        out["torch_dtype"] = dtype
    return out
