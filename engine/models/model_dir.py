"""Synthesis model folders: save and load, with a model card and checks, never pickle.

A model folder holds
    config.json                            the SpadeUNet2DModel config (diffusers ConfigMixin)
    diffusion_pytorch_model.safetensors    the weights (fp32, or fp16/bf16 to save space; loading converts)
    scheduler_config.json                  the noise schedule the model was trained with
    model_card.json                        class set, resolution, training data fingerprint, steps, date, ...
    README.md                              the same card for people
Loading reads only JSON and safetensors. A pickle file (`.bin`, `.pt`, `.ckpt`, a renamed pickle) is refused
and never opened with torch.load or pickle, because unpickling can run arbitrary code.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import inspect
import json
import os
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import torch

from engine.atomic import atomic_write_bytes, atomic_write_text
from engine.files import open_regular
from engine.models.config_checks import (
    check_scheduler_config, check_synthesis_config, read_json_object, safetensors_header,
)
from engine.models.folders import (
    ModelFolderError, check_weights_against, from_pretrained, pretrained_kwargs, refuse_missing_weights,
)
from engine.taxonomy import get_class_set

WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"
CONFIG_NAME = "config.json"
SCHEDULER_NAME = "scheduler_config.json"
CARD_NAME = "model_card.json"

DEFAULT_SCHEDULER_CONFIG: dict[str, Any] = {
    "num_train_timesteps": 1000,
    "beta_schedule": "squaredcos_cap_v2",
    "prediction_type": "epsilon",
    "timestep_spacing": "trailing",
    "clip_sample": True,
}


def parse_height_width(value: Union[str, Sequence[int], None]) -> Optional[tuple[int, int]]:
    """"256x144" (WIDTHxHEIGHT, as typed on the command line) or (H, W) -> (H, W): height first, as arrays are
    indexed (`engine.resolution.parse_width_height` gives (W, H))."""
    if value is None:
        return None
    if isinstance(value, str):
        from engine.resolution import parse_width_height

        w, h = parse_width_height(value)
        return h, w
    h, w = (int(v) for v in value)
    return h, w


def _fmt_res(hw: Sequence[int]) -> str:
    return f"{int(hw[1])}x{int(hw[0])}"


def file_sha256(path: Union[str, os.PathLike], chunk: int = 1 << 20) -> str:
    """SHA-256 of a regular file (a FIFO or device is refused, never read: engine.files)."""
    h = hashlib.sha256()
    with os.fdopen(open_regular(path, "weights"), "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def model_fingerprint(model_dir: Union[str, os.PathLike]) -> str:
    """A short stable ID of a model folder's weights (first 16 hex digits of their SHA-256)."""
    d = Path(model_dir)
    files = [d / WEIGHTS_NAME]
    if (d / "model_index.json").is_file():  # a pipeline folder: the UNet's, then the upsampler's weights
        files = [p for p in (d / "unet" / WEIGHTS_NAME, d / "upsampler" / WEIGHTS_NAME) if p.exists()]
    h = hashlib.sha256()
    for p in files:
        with os.fdopen(open_regular(p, "weights"), "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def save_synthesis_model(model, out_dir: Union[str, os.PathLike], scheduler_config: Optional[dict] = None,
                         card: Optional[dict] = None, dtype: Optional[torch.dtype] = None) -> Path:
    """Write `model` as a model folder; `dtype` (e.g. torch.float16) shrinks the weights file."""
    from safetensors.torch import save

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: (v.detach().to("cpu", dtype=dtype) if dtype is not None and v.is_floating_point() else v.detach().cpu())
             .contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(out / WEIGHTS_NAME, save(state, metadata={"format": "pt"}))
    cfg = dict(model.config)
    cfg["_class_name"] = type(model).__name__
    atomic_write_text(out / CONFIG_NAME, json.dumps(_jsonable(cfg), indent=2))
    atomic_write_text(out / SCHEDULER_NAME, json.dumps(scheduler_config or DEFAULT_SCHEDULER_CONFIG, indent=2))
    n_params = sum(p.numel() for p in model.parameters())
    full_card = {
        "model": type(model).__name__,
        "class_set": str(model.config.class_set),
        "num_classes": int(model.config.num_classes),
        "resolution": _fmt_res(model.config.sample_size),
        "parameters": n_params,
        "weights_dtype": str(dtype or torch.float32).replace("torch.", ""),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    full_card.update(card or {})
    full_card["weights_sha256"] = file_sha256(out / WEIGHTS_NAME)
    atomic_write_text(out / CARD_NAME, json.dumps(_jsonable(full_card), indent=2))
    atomic_write_text(out / "README.md", _card_markdown(full_card))
    return out


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items() if not str(k).startswith("_") or k == "_class_name"}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _card_markdown(card: dict) -> str:
    lines = ["# Synthesis model (SPADE-conditioned diffusion UNet)", "",
             "Turns a CaDIS mask into a matching frame. Load with `cadis synth --model THIS_FOLDER`.", ""]
    lines += [f"- **{k}**: {v}" for k, v in card.items() if not isinstance(v, (dict, list))]
    for k, v in card.items():
        if isinstance(v, (dict, list)):
            lines += ["", f"## {k}", "", "```json", json.dumps(v, indent=2), "```"]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------- loading
def _check_safetensors(path: Path) -> dict:
    """Accept only a regular file with a well-formed safetensors header; returns the header's tensor shapes."""
    return safetensors_header(path, ModelFolderError)


def _read_json(path: Path, what: str) -> dict:
    if not os.path.lexists(path):
        raise ModelFolderError(f"{path.parent} has no {path.name} ({what}); is it a synthesis model folder?")
    return read_json_object(path, ModelFolderError, what)


def read_model_card(model_dir: Union[str, os.PathLike]) -> dict:
    path = Path(model_dir) / CARD_NAME
    return _read_json(path, "model card") if path.exists() else {}


def check_model_folder(model_dir: Union[str, os.PathLike]) -> Path:
    """Raise ModelFolderError unless `model_dir` holds a config and safetensors weights (and no pickle in their place)."""
    d = Path(model_dir)
    if not d.exists():
        raise ModelFolderError(f"model folder {d} does not exist; train one with `cadis train-model` or pick another")
    if not d.is_dir():
        raise ModelFolderError(f"{d} is a file; --model takes a model folder (config.json + safetensors weights)")
    if (d / "model_index.json").is_file():  # a pipeline folder: its networks live in sub-folders
        if (d / "upsampler").is_dir():
            check_model_folder(d / "upsampler")
        return check_model_folder(d / "unet")
    weights = d / WEIGHTS_NAME
    refuse_missing_weights(weights, ModelFolderError, "is it a synthesis model folder?")
    _check_safetensors(weights)
    return weights


def load_synthesis_model(model_dir: Union[str, os.PathLike], device: Union[str, torch.device] = "auto",
                         class_set: Union[str, int, None] = None,
                         resolution: Union[str, Sequence[int], None] = None,
                         scheduler_dir: Union[str, os.PathLike, None] = None):
    """Load the diffusion UNet of a model folder -> (model in eval mode, scheduler config dict, model card dict).

    `model_dir` is a single-UNet folder or a pipeline folder (model_index.json; its unet/ and scheduler/ are
    read). `class_set` ("full", 1, 2, 3) and `resolution` (the UNet's, "256x144" or (H, W)), when given, must
    match the model; a mismatch raises ModelFolderError saying what the model was trained for.
    """
    from engine.device import pick_device
    from engine.models.spade_unet import SpadeUNet2DModel

    d = Path(model_dir)
    if (d / "model_index.json").is_file() and scheduler_dir is None:
        model, sched, _ = load_synthesis_model(d / "unet", device, class_set, resolution, scheduler_dir=d / "scheduler")
        return model, sched, read_model_card(d)
    weights = check_model_folder(d)
    cfg = _read_json(d / CONFIG_NAME, "model config")
    if cfg.get("_class_name", "SpadeUNet2DModel") != "SpadeUNet2DModel":
        raise ModelFolderError(f"{d} holds a {cfg.get('_class_name')}, not a SpadeUNet2DModel synthesis model")
    check_synthesis_config(cfg, d / CONFIG_NAME, ModelFolderError)  # every field within bounds, before building
    sdir = Path(scheduler_dir) if scheduler_dir is not None else d
    sched = _read_json(sdir / SCHEDULER_NAME, "scheduler config") if os.path.lexists(sdir / SCHEDULER_NAME) \
        else dict(DEFAULT_SCHEDULER_CONFIG)
    sched = {k: v for k, v in sched.items() if not k.startswith("_")}
    check_scheduler_config(sched, sdir / SCHEDULER_NAME, ModelFolderError)
    card = read_model_card(d)
    model_cs = str(cfg.get("class_set", "full"))
    if class_set is not None:
        want = get_class_set(class_set).key
        if want != get_class_set(model_cs).key:
            raise ModelFolderError(
                f"{d} was trained for class set {model_cs!r} ({cfg.get('num_classes')} classes), not {want!r}; "
                f"use a model trained with --classes {want} or ask for class set {model_cs!r}")
    hw = tuple(int(v) for v in cfg.get("sample_size", (0, 0)))
    if resolution is not None:
        want_hw = parse_height_width(resolution)
        if want_hw != hw:
            raise ModelFolderError(
                f"{d} works at {_fmt_res(hw)}, not {_fmt_res(want_hw)}; "
                f"train a model with --resolution {_fmt_res(want_hw)} or use {_fmt_res(hw)}")
    init_keys = set(inspect.signature(SpadeUNet2DModel.__init__).parameters) - {"self"}
    kwargs = {k: v for k, v in cfg.items() if k in init_keys}
    check_weights_against(lambda: SpadeUNet2DModel(**kwargs), weights, d / CONFIG_NAME, ModelFolderError)
    model = from_pretrained(lambda: SpadeUNet2DModel.from_pretrained(d, **pretrained_kwargs(torch.float32)), d,
                            ModelFolderError, "synthesis model", "the folder is damaged or mixed from two models: copy "
                            "the model folder again")
    model.to(pick_device(device) if isinstance(device, str) else device).eval()
    return model, sched, card


def starter_model_dir() -> Path:
    """The shipped starter model folder (`resources/models/starter-synthesis` beside the engine package)."""
    env = os.environ.get("CADIS_SYNTH_MODEL")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "resources" / "models" / "starter-synthesis"
