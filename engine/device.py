"""Choosing the compute device. One meaning everywhere (CLI `--device`, the app's Compute setting, training):

    auto   CUDA when a GPU is present, else the CPU. Under `accelerate launch` each process takes its own GPU
           (LOCAL_RANK), and `accelerate launch --cpu` means the CPU.
    cpu    the CPU.
    cuda   the (first / this process's) CUDA GPU; a clear error when there is none. `cuda:N` names one.
"""
from __future__ import annotations

import os

DEVICE_CHOICES = ("auto", "cpu", "cuda")
DEVICE_HELP = "auto (CUDA GPU when present, else CPU), cpu or cuda (default auto)"


def _launched_on_cpu() -> bool:
    return os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes")


def _local_rank() -> int:
    try:
        return int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        return 0


def check_device(preference: str = "auto") -> str:
    """The preference, normalised ("auto", "cpu", "cuda" or "cuda:N"); raises for an unknown name or for
    cuda without a GPU."""
    import torch

    pref = (preference or "auto").strip().lower()
    if pref in ("auto", "cpu"):
        return pref
    if pref == "cuda" or (pref.startswith("cuda:") and pref[5:].isdigit()):
        if not torch.cuda.is_available():
            raise RuntimeError(f"--device {pref} was asked for but no CUDA GPU is available; use --device cpu "
                               "or auto")
        if ":" in pref and int(pref[5:]) >= torch.cuda.device_count():
            raise RuntimeError(f"--device {pref}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
        return pref
    raise ValueError(f"unknown device {preference!r}: use auto, cpu or cuda")


def pick_device(preference: str = "auto"):
    """The torch.device that `preference` means here (see the module docstring)."""
    import torch

    pref = check_device(preference)
    if pref == "cpu" or (pref == "auto" and (_launched_on_cpu() or not torch.cuda.is_available())):
        return torch.device("cpu")
    if pref in ("auto", "cuda"):
        return torch.device("cuda", _local_rank() % max(1, torch.cuda.device_count()))
    return torch.device(pref)


def describe_device(device) -> str:
    """A short label for people: "CPU" or "CUDA GPU 0 (NVIDIA H200)"."""
    import torch

    dev = device if isinstance(device, torch.device) else pick_device(str(device))
    if dev.type != "cuda":
        return dev.type.upper()
    index = dev.index if dev.index is not None else 0
    try:
        name = torch.cuda.get_device_name(index)
    except Exception:  # noqa: BLE001 - a label must never fail
        name = ""
    return f"CUDA GPU {index}" + (f" ({name})" if name else "")
