"""Resumable distillation state as safetensors + JSON (never pickle): student, EMA target, AdamW moments, step.

    MODEL_DIR/student/training/state-NNNNNN/
        student.safetensors  target.safetensors  optimizer.safetensors  state.json
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Optional

import torch

from engine.atomic import atomic_write_bytes, atomic_write_text


def _tensors(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def _optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    sd = opt.state_dict()
    flat = {}
    for pid, st in sd["state"].items():
        for name, value in st.items():
            t = value if torch.is_tensor(value) else torch.tensor(float(value))
            flat[f"{pid}.{name}"] = t.detach().cpu().contiguous()
    return flat, {"param_groups": sd["param_groups"]}


def save_state(folder: Path, step: int, student, target, optimizer, extra: dict, keep: int = 2) -> Path:
    from safetensors.torch import save

    ck = folder / f"state-{step:06d}"
    ck.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(ck / "student.safetensors", save(_tensors(student)))
    atomic_write_bytes(ck / "target.safetensors", save(_tensors(target)))
    flat, groups = _optimizer_tensors(optimizer)
    atomic_write_bytes(ck / "optimizer.safetensors", save(flat))
    atomic_write_text(ck / "state.json", json.dumps(dict(extra, step=int(step), optimizer=groups), indent=2))
    old = sorted(p for p in folder.glob("state-*") if p != ck)
    for p in old[: max(0, len(old) - keep + 1)]:
        shutil.rmtree(p, ignore_errors=True)
    return ck


def latest_state(folder: Path) -> Optional[Path]:
    states = sorted(p for p in folder.glob("state-*") if (p / "state.json").is_file())
    return states[-1] if states else None


def load_state(ck: Path, student, target, optimizer, device) -> dict:
    from safetensors.torch import load_file

    meta = json.loads((ck / "state.json").read_text(encoding="utf-8"))
    student.load_state_dict(load_file(str(ck / "student.safetensors"), device=str(device)))
    target.load_state_dict(load_file(str(ck / "target.safetensors"), device=str(device)))
    flat = load_file(str(ck / "optimizer.safetensors"), device=str(device))
    state: dict[int, dict] = {}
    for key, value in flat.items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = value.cpu() if name == "step" else value
    optimizer.load_state_dict({"state": state, "param_groups": meta["optimizer"]["param_groups"]})
    return meta
