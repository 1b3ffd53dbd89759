"""Training checkpoints as safetensors + JSON only: nothing is ever unpickled on resume.

accelerate's `save_state` writes the optimizer, LR scheduler and RNG states with `torch.save` (pickle) and
`load_state` unpickles them, so a checkpoint folder from anywhere could run code. Here every piece of state
(a model's weights, an optimizer, an LR scheduler, diffusers `EMAModel`s, each process's RNG states, the step)
is split into its tensors, written as `NAME.safetensors`, and everything else, written as `NAME.json`
(numbers, strings, lists, dicts; tuples and numpy arrays are tagged so they come back as they were).

A checkpoint folder `checkpoint-NNNNNN/` holds
    model.safetensors (+ other named models)   weights of the unwrapped models, keyed by parameter name
    optimizer.safetensors + optimizer.json     the optimizer's state_dict
    lr_scheduler.json                          the LR scheduler's state_dict
    ema.safetensors + ema.json (+ ema-NAME.*)  diffusers EMAModel state (shadow weights + decay settings)
    rng.safetensors + rng.json                 python/numpy/torch(/cuda) RNG states of every process
    grad_scaler.json                           the fp16 loss scaler's state (fp16 mixed precision only)
    state.json                                 written last: format, step, processes, files, extra
Loading opens only those names, with `safetensors.torch.load_file` and `json`; any other file in the folder
(say an `optimizer.bin` or `random_states_0.pkl`) is never opened, and a file with an expected name that is
not valid safetensors/JSON is refused with `CheckpointError`.

All processes call `save_checkpoint` together (at the same step): it waits for every process, gathers the
RNG states, and the main process alone writes the folder (to a temporary name, renamed when complete); then
everyone waits again so no process runs ahead of a half-written checkpoint. `load_checkpoint` is called by
every process (each reads the shared files and its own RNG states).
"""
from __future__ import annotations

import errno
import json
import os
import random
import shutil
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import numpy as np
import torch

from engine.atomic import atomic_write_text
from engine.files import UnreadableFileError, read_json

FORMAT = "cadis-checkpoint-1"
STATE_NAME = "state.json"
PREFIX = "checkpoint-"


class CheckpointError(ValueError):
    """A checkpoint folder is incomplete, damaged or in a format that would need unpickling."""


# ---- state dict <-> (JSON, tensors) -------------------------------------------------------------------------

def split_state(obj: Any, prefix: str = "") -> tuple[Any, dict[str, torch.Tensor]]:
    """(JSON-able structure, {key: tensor}). Tensors and numpy arrays become {"__tensor__"/"__ndarray__": key}."""
    tensors: dict[str, torch.Tensor] = {}

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, torch.Tensor):
            tensors[path] = value.detach().to("cpu", copy=True).contiguous()
            return {"__tensor__": path}
        if isinstance(value, np.ndarray):
            tensors[path] = torch.from_numpy(np.ascontiguousarray(value).astype(np.int64 if value.dtype.kind in "iu"
                                                                                 else value.dtype)).clone()
            return {"__ndarray__": path, "dtype": str(value.dtype)}
        if isinstance(value, (np.integer, np.floating, np.bool_)):
            return value.item()
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, tuple):
            return {"__tuple__": [walk(v, f"{path}.{i}") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [walk(v, f"{path}.{i}") for i, v in enumerate(value)]
        if isinstance(value, Mapping):
            out = {}
            for k, v in value.items():
                if not isinstance(k, (str, int)) or isinstance(k, bool):
                    raise CheckpointError(f"cannot store key {k!r} of type {type(k).__name__} at {path or 'top'}")
                out[str(k) if isinstance(k, str) else f"__int__{k}"] = walk(v, f"{path}.{k}" if path else str(k))
            return out
        raise CheckpointError(f"cannot store a {type(value).__name__} at {path or 'top'} as safetensors/JSON")

    return walk(obj, prefix), tensors


def join_state(obj: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """The inverse of `split_state`."""
    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if "__tensor__" in value:
                return tensors[value["__tensor__"]]
            if "__ndarray__" in value:
                return tensors[value["__ndarray__"]].numpy().astype(value["dtype"])
            if "__tuple__" in value:
                return tuple(walk(v) for v in value["__tuple__"])
            return {(int(k[7:]) if k.startswith("__int__") else k): walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    try:
        return walk(obj)
    except KeyError as exc:
        raise CheckpointError(f"a tensor the checkpoint's JSON names is missing: {exc}") from None


def _write_part(folder: Path, name: str, state: Any, json_too: bool = True) -> list[str]:
    from safetensors.torch import save_file

    meta, tensors = split_state(state)
    files = []
    if tensors:
        save_file(tensors, str(folder / f"{name}.safetensors"))
        files.append(f"{name}.safetensors")
    if json_too:
        atomic_write_text(folder / f"{name}.json", json.dumps(meta))
        files.append(f"{name}.json")
    return files


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise CheckpointError(f"checkpoint file {path} is missing; the checkpoint is incomplete")
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a valid safetensors file ({exc}); it was not loaded") from None


MAX_STATE_JSON_BYTES = 64 << 20  # the JSON parts hold settings and step counts; tensors are in safetensors


def _read_json(path: Path) -> Any:
    if not os.path.lexists(path):
        raise CheckpointError(f"checkpoint file {path} is missing; the checkpoint is incomplete")
    try:
        return read_json(path, MAX_STATE_JSON_BYTES, "checkpoint file", follow_links=False)
    except UnreadableFileError as exc:
        raise CheckpointError(f"{exc}; it was not loaded") from None


def _read_part(folder: Path, name: str) -> Any:
    meta = _read_json(folder / f"{name}.json")
    st = folder / f"{name}.safetensors"
    return join_state(meta, _read_tensors(st) if st.exists() else {})


# ---- RNG states ---------------------------------------------------------------------------------------------

def rng_state() -> dict:
    """This process's python, numpy, torch and (when present) CUDA RNG states."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    np.random.set_state(tuple(state["numpy"]))
    torch.set_rng_state(state["torch"].to(torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        cuda = list(state["cuda"])[: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all([t.to(torch.uint8) for t in cuda])


# ---- save / load --------------------------------------------------------------------------------------------

def _ema_name(name: str) -> str:
    return "ema" if name == "ema" else f"ema-{name}"


def save_checkpoint(accelerator, folder: Union[str, os.PathLike], *, step: int,
                    models: Mapping[str, torch.nn.Module], optimizer=None, lr_scheduler=None,
                    emas: Optional[Mapping[str, Any]] = None, extra: Optional[dict] = None) -> Path:
    """Every process calls this at the same point; the main one writes `folder`. Returns the folder.

    `models`: {name: module} (wrapped or not; saved unwrapped), `emas`: {name: diffusers EMAModel}."""
    from accelerate.utils import gather_object

    folder = Path(folder)
    accelerator.wait_for_everyone()
    rng = gather_object([rng_state()])
    if accelerator.is_main_process:
        tmp = folder.with_name(f".{folder.name}.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            _write_folder(accelerator, tmp, folder, step=step, models=models, optimizer=optimizer,
                          lr_scheduler=lr_scheduler, emas=emas, extra=extra, rng=rng)
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)  # never a half-written .partial left behind
            if isinstance(exc, OSError) or type(exc).__name__ == "SafetensorError":  # safetensors' own I/O error
                why = (exc.strerror if isinstance(exc, OSError) else None) or str(exc).splitlines()[0][:200]
                raise OSError(getattr(exc, "errno", None) or errno.EIO,
                              f"cannot write the checkpoint {folder} ({why}); the partial checkpoint was removed "
                              "and earlier checkpoints are kept: free space and run again with --resume") from None
            raise
    accelerator.wait_for_everyone()
    return folder


def _write_folder(accelerator, tmp: Path, folder: Path, *, step: int, models, optimizer, lr_scheduler, emas, extra,
                  rng) -> None:
    """The checkpoint into `tmp`, then renamed to `folder` (main process)."""
    tmp.mkdir(parents=True)
    files: list[str] = []
    for name, model in models.items():
        state = accelerator.unwrap_model(model).state_dict()
        files += _write_part(tmp, name, {k: v for k, v in state.items()}, json_too=False)
    if optimizer is not None:
        files += _write_part(tmp, "optimizer", optimizer.state_dict())
    if lr_scheduler is not None:
        files += _write_part(tmp, "lr_scheduler", lr_scheduler.state_dict())
    for name, ema in (emas or {}).items():
        files += _write_part(tmp, _ema_name(name), ema.state_dict())
    scaler = getattr(accelerator, "scaler", None)
    if scaler is not None:  # fp16 autocast: the loss scale carries on instead of re-calibrating
        files += _write_part(tmp, "grad_scaler", scaler.state_dict())
    files += _write_part(tmp, "rng", {f"rank{i}": s for i, s in enumerate(rng)})
    state = {"format": FORMAT, "step": int(step), "num_processes": accelerator.num_processes,
             "models": sorted(models), "emas": sorted(emas or {}), "optimizer": optimizer is not None,
             "lr_scheduler": lr_scheduler is not None, "files": sorted(files), "extra": extra or {}}
    atomic_write_text(tmp / STATE_NAME, json.dumps(state, indent=2))
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)


def read_checkpoint_state(folder: Union[str, os.PathLike]) -> dict:
    """state.json of a checkpoint, checked; CheckpointError for accelerate pickle checkpoints or damage."""
    folder = Path(folder)
    if not (folder / STATE_NAME).is_file():
        pickles = sorted(p.name for p in folder.glob("*") if p.suffix in (".bin", ".pkl", ".pt", ".pth"))
        hint = (f" It holds {', '.join(pickles)}: pickle files (an older accelerate save_state checkpoint), "
                "which are never loaded because unpickling can run code." if pickles else "")
        raise CheckpointError(f"{folder} is not a complete checkpoint (no {STATE_NAME}).{hint} "
                              "Start a new run, or resume from a checkpoint written by this version.")
    state = _read_json(folder / STATE_NAME)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{folder}/{STATE_NAME} is not a {FORMAT} checkpoint; it was not loaded")
    return state


def load_checkpoint(accelerator, folder: Union[str, os.PathLike], *, models: Mapping[str, torch.nn.Module],
                    optimizer=None, lr_scheduler=None, emas: Optional[Mapping[str, Any]] = None) -> dict:
    """Restore what `save_checkpoint` wrote into the given objects (every process calls it); returns state.json.

    Only the expected `.safetensors`/`.json` names are opened; nothing is unpickled."""
    folder = Path(folder)
    state = read_checkpoint_state(folder)
    for name, model in models.items():
        weights = _read_tensors(folder / f"{name}.safetensors")
        target = accelerator.unwrap_model(model)
        try:
            target.load_state_dict(weights, strict=True)
        except RuntimeError as exc:
            raise CheckpointError(f"{folder}/{name}.safetensors does not fit the model: {exc}") from None
    if optimizer is not None:
        _load_into(optimizer, _read_part(folder, "optimizer"), folder / "optimizer.json")
    if lr_scheduler is not None:
        saved = _read_part(folder, "lr_scheduler")
        _check_like(lr_scheduler.state_dict(), saved, folder / "lr_scheduler.json")
        _load_into(lr_scheduler, saved, folder / "lr_scheduler.json")
    for name, ema in (emas or {}).items():
        ema_state = _read_part(folder, _ema_name(name))
        if len(ema_state.get("shadow_params", [])) != len(ema.shadow_params):
            raise CheckpointError(f"{folder}: EMA {name!r} has a different number of weights than the model")
        device = ema.shadow_params[0].device if ema.shadow_params else None
        ema.load_state_dict(ema_state)
        ema.to(device)
    scaler = getattr(accelerator, "scaler", None)
    if scaler is not None and (folder / "grad_scaler.json").is_file():
        scaler.load_state_dict(_read_part(folder, "grad_scaler"))
    rng = _read_part(folder, "rng")
    mine = rng.get(f"rank{accelerator.process_index}")
    if mine is not None:
        set_rng_state(mine)
    return state


def _check_like(current: Any, saved: Any, path: Path) -> None:
    """Refuse a saved LR-scheduler state whose keys or value kinds differ from this run's scheduler (its
    `load_state_dict` copies keys into the object unchecked, so wrong keys would break the run later)."""
    if not isinstance(saved, dict) or set(saved) != set(current):
        got = sorted(saved)[:6] if isinstance(saved, dict) else type(saved).__name__
        raise CheckpointError(f"{path} does not hold this run's LR schedule (keys {got}, expected "
                              f"{sorted(current)[:6]}); it was not loaded: start a new run or resume the run it "
                              "belongs to")
    for key, value in current.items():
        kind = (int, float) if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value)
        if value is not None and not callable(value) and not isinstance(saved[key], kind):
            raise CheckpointError(f"{path}: field {key!r} should be a {type(value).__name__}, found "
                                  f"{type(saved[key]).__name__}; it was not loaded")


def _load_into(obj, state: Any, path: Path) -> None:
    try:
        obj.load_state_dict(state)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as exc:
        raise CheckpointError(f"{path} does not fit this run ({type(exc).__name__}: {str(exc)[:200]}); it was not "
                              "loaded: start a new run or resume the run it belongs to") from None


def latest_checkpoint(train_dir: Union[str, os.PathLike]) -> Optional[Path]:
    """The newest complete checkpoint folder under `train_dir` (by step), or None."""
    found = []
    for p in Path(train_dir).glob(f"{PREFIX}*"):
        if p.is_dir() and (p / STATE_NAME).is_file() and p.name[len(PREFIX):].isdigit():
            found.append((int(p.name[len(PREFIX):]), p))
    return max(found)[1] if found else None


def checkpoint_folder(train_dir: Union[str, os.PathLike], step: int) -> Path:
    return Path(train_dir) / f"{PREFIX}{int(step):06d}"


def prune_checkpoints(accelerator, train_dir: Union[str, os.PathLike], keep: int) -> None:
    """Main process: delete all but the `keep` newest checkpoints (at least one is kept)."""
    if not accelerator.is_main_process:
        return
    cks = sorted((int(p.name[len(PREFIX):]), p) for p in Path(train_dir).glob(f"{PREFIX}*")
                 if p.is_dir() and p.name[len(PREFIX):].isdigit())
    for _, p in cks[: max(0, len(cks) - max(1, keep))]:
        shutil.rmtree(p, ignore_errors=True)
