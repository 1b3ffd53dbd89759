"""Synthesis pipeline folders in the diffusers layout, and the single-UNet folders written before them.

    model_index.json             {"_class_name": "SynthesisPipeline", "unet": [library, class], ...}
    unet/config.json             SpadeUNet2DModel config        unet/diffusion_pytorch_model.safetensors
    scheduler/scheduler_config.json                             the training noise schedule
    upsampler/config.json        MaskUpsampler2DModel config    upsampler/diffusion_pytorch_model.safetensors
    model_card.json, README.md   class set, resolutions, training data, weights hash

Loading reads JSON and safetensors only, and only the classes listed in `ALLOWED` (model_index.json names
Python classes: an unknown one is refused rather than imported). A single-UNet folder (config.json +
weights + scheduler_config.json at the top, as `cadis train-model` wrote before) loads as a pipeline without
an upsampler, with a note saying how to convert it (`cadis convert-model`).
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Optional, Union

import torch

from engine.atomic import atomic_write_text
from engine.models.model_dir import (
    ModelFolderError, _card_markdown, _read_json, check_model_folder, load_synthesis_model, model_fingerprint,
)

INDEX_NAME = "model_index.json"
UNET_CLASS = ("engine.models.spade_unet", "SpadeUNet2DModel")
UPSAMPLER_CLASS = ("engine.models.mask_upsampler", "MaskUpsampler2DModel")
SCHEDULERS = ("DDIMScheduler", "DDPMScheduler", "DPMSolverMultistepScheduler", "UniPCMultistepScheduler")
OLD_FOLDER_NOTE = (
    "{d} is a single-UNet model folder (written before full-resolution synthesis): it has no upsampler, so frames "
    "are resized bicubic to the mask's size. Convert it with `cadis convert-model {d} NEW_FOLDER` (adds the starter "
    "upsampler, or --upsampler FOLDER) or train one with `cadis train-upsampler`.")


def is_pipeline_folder(d: Union[str, os.PathLike]) -> bool:
    return (Path(d) / INDEX_NAME).is_file()


def _check_index(d: Path) -> dict:
    idx = _read_json(d / INDEX_NAME, "pipeline index")
    if idx.get("_class_name") != "SynthesisPipeline":
        raise ModelFolderError(f"{d / INDEX_NAME} describes a {idx.get('_class_name')!r}, not a SynthesisPipeline")
    for name, want in (("unet", UNET_CLASS), ("upsampler", UPSAMPLER_CLASS)):
        got = idx.get(name)
        if got is not None and list(got) != [None, None] and tuple(got) != want:
            raise ModelFolderError(f"{d / INDEX_NAME}: component {name!r} is {got}, expected {list(want)}; refusing "
                                   "to import classes a model folder names")
    sched = idx.get("scheduler")
    if not sched or sched[0] != "diffusers" or sched[1] not in SCHEDULERS:
        raise ModelFolderError(f"{d / INDEX_NAME}: scheduler {sched} is not one of diffusers' {', '.join(SCHEDULERS)}")
    if "unet" not in idx:
        raise ModelFolderError(f"{d / INDEX_NAME} lists no unet")
    return idx


def load_upsampler(folder: Union[str, os.PathLike]):
    """A MaskUpsampler2DModel folder (config.json + safetensors) -> the model (fp32, eval)."""
    from engine.models.config_checks import check_upsampler_config
    from engine.models.folders import check_weights_against, from_pretrained, pretrained_kwargs
    from engine.models.mask_upsampler import MaskUpsampler2DModel

    folder = Path(folder)
    weights = check_model_folder(folder)
    cfg = _read_json(folder / "config.json", "upsampler config")
    if cfg.get("_class_name") != UPSAMPLER_CLASS[1]:
        raise ModelFolderError(f"{folder} holds a {cfg.get('_class_name')}, not a {UPSAMPLER_CLASS[1]}")
    check_upsampler_config(cfg, folder / "config.json", ModelFolderError)
    kwargs = {k: v for k, v in cfg.items() if not k.startswith("_")}
    check_weights_against(lambda: MaskUpsampler2DModel(**kwargs), weights, folder / "config.json")
    model = from_pretrained(lambda: MaskUpsampler2DModel.from_pretrained(folder, **pretrained_kwargs(torch.float32)),
                            folder, ModelFolderError, "upsampler")
    return model.float().eval()


def load_pipeline(cls, path: Union[str, os.PathLike], device: str = "auto", class_set=None, resolution=None):
    """`SynthesisPipeline.from_pretrained`: see the module docstring."""
    import diffusers

    from engine.device import pick_device

    d = Path(path)
    if is_pipeline_folder(d):
        idx = _check_index(d)
        unet, _sched_cfg, _ = load_synthesis_model(d / "unet", device="cpu", class_set=class_set, resolution=resolution,
                                                   scheduler_dir=d / "scheduler")
        sched_cls = getattr(diffusers, idx["scheduler"][1])
        scheduler = sched_cls.from_config(_read_json(d / "scheduler" / "scheduler_config.json", "scheduler config"))
        up = None
        if idx.get("upsampler") and list(idx["upsampler"]) != [None, None]:
            up = load_upsampler(d / "upsampler")
        pipe = cls(unet, scheduler, up)
        pipe.card = _read_json(d / "model_card.json", "model card") if (d / "model_card.json").exists() else {}
    else:
        unet, sched_cfg, card = load_synthesis_model(d, device="cpu", class_set=class_set, resolution=resolution)
        pipe = cls(unet, sched_cfg, None)
        pipe.card = dict(card)
        pipe.card["note"] = OLD_FOLDER_NOTE.format(d=d)
        warnings.warn(pipe.card["note"], UserWarning, stacklevel=3)
    pipe.model_dir = d
    if not pipe.card.get("weights_sha256"):
        pipe.card["weights_sha256"] = folder_fingerprint(d)
    torch_device = pick_device(device) if isinstance(device, str) else device
    pipe.unet.to(torch_device)
    if pipe.upsampler is not None:
        pipe.upsampler.to(torch_device)
    return pipe


def folder_fingerprint(d: Union[str, os.PathLike]) -> str:
    """The folder's weights ID (SHA-256 over the UNet's, then the upsampler's weights; first 16 hex digits)."""
    return model_fingerprint(d)


def write_pipeline_card(pipe, out: Path, card: Optional[dict] = None) -> Path:
    """model_card.json + README.md for a saved pipeline folder (after diffusers wrote its components)."""
    import datetime as _dt

    full = {
        "model": "SynthesisPipeline",
        "class_set": pipe.class_set,
        "num_classes": int(pipe.unet.config.num_classes),
        "low_resolution": f"{pipe.size[1]}x{pipe.size[0]}",
        "resolution": "the mask's own size" if pipe.upsampler is not None else "the mask's size (bicubic, no upsampler)",
        "unet_parameters": sum(p.numel() for p in pipe.unet.parameters()),
        "upsampler_parameters": sum(p.numel() for p in pipe.upsampler.parameters()) if pipe.upsampler is not None else 0,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    full.update(card or {})
    full["weights_sha256"] = folder_fingerprint(out)
    atomic_write_text(out / "model_card.json", json.dumps(full, indent=2, default=str))
    atomic_write_text(out / "README.md", _card_markdown(full).replace(
        "# Synthesis model (SPADE-conditioned diffusion UNet)", "# Synthesis pipeline (SPADE diffusion UNet + mask upsampler)"))
    return out


def save_half(pipe, out: Union[str, os.PathLike], card: Optional[dict] = None) -> Path:
    """Save `pipe` with fp16 weights (half the size; loading converts back to fp32)."""
    import copy

    half = copy.deepcopy(pipe)
    for m in (half.unet, half.upsampler):
        if m is not None:
            torch.nn.Module.to(m, torch.float16)
    return half.save_pretrained(out, card=card)


def convert_folder(old: Union[str, os.PathLike], new: Union[str, os.PathLike],
                   upsampler: Union[str, os.PathLike, None] = None) -> Path:
    """Single-UNet folder `old` -> pipeline folder `new` (with the upsampler of `upsampler`: an upsampler folder or
    a pipeline folder; default the starter model's when its class set and low resolution match)."""
    from engine.models.model_dir import read_model_card, starter_model_dir
    from engine.pipelines.synthesis import SynthesisPipeline

    old, new = Path(old), Path(new)
    if is_pipeline_folder(old):
        raise ModelFolderError(f"{old} is already a pipeline folder (it has {INDEX_NAME}); nothing to convert")
    if new.exists() and any(new.iterdir()):
        raise ModelFolderError(f"{new} exists and is not empty; pick a new folder (the old one is never overwritten)")
    unet, sched_cfg, card = load_synthesis_model(old, device="cpu")
    up = None
    src = Path(upsampler) if upsampler else starter_model_dir()
    up_dir = src / "upsampler" if is_pipeline_folder(src) else src
    if (up_dir / "config.json").exists() and (upsampler or is_pipeline_folder(src)):
        cand = load_upsampler(up_dir)
        fits = (str(cand.config.class_set) == str(unet.config.class_set)
                and tuple(cand.config.low_res_size) == tuple(unet.config.sample_size))
        if fits:
            up = cand
        elif upsampler:
            raise ModelFolderError(
                f"the upsampler in {src} is for class set {cand.config.class_set!r} at {list(cand.config.low_res_size)}, "
                f"the UNet for {unet.config.class_set!r} at {list(unet.config.sample_size)}")
    pipe = SynthesisPipeline(unet, sched_cfg, up)
    keep = {k: v for k, v in read_model_card(old).items() if k not in ("weights_sha256", "model", "resolution")}
    keep["converted_from"] = str(old)
    keep["upsampler_from"] = str(up_dir) if up is not None else None
    return save_half(pipe, new, card=keep)


__all__ = ["INDEX_NAME", "OLD_FOLDER_NOTE", "convert_folder", "folder_fingerprint", "is_pipeline_folder", "read_upsampler_note",
           "load_pipeline", "load_upsampler", "save_half", "write_pipeline_card"]


def read_upsampler_note(d: Union[str, os.PathLike]) -> str:
    """One line on whether the pipeline folder has an upsampler (full resolution) or not."""
    d = Path(d)
    if (d / "upsampler" / "config.json").exists():
        return "frames come out at the mask's size through its upsampler"
    return ("it has no upsampler (none fitted this UNet's class set and size): frames are resized bicubic; train one "
            "with `cadis train-model --upsampler`")
