"""Choosing the compute device: CUDA when present, CPU otherwise, or what the user asks for."""
from __future__ import annotations


def pick_device(preference: str = "auto"):
    """`auto` -> cuda if available else cpu; `cuda` without a GPU raises a clear error."""
    import torch

    pref = (preference or "auto").lower()
    if pref == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if pref.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError("--device cuda was asked for but no CUDA GPU is available; use --device cpu")
        return torch.device(pref)
    if pref == "cpu":
        return torch.device("cpu")
    raise ValueError(f"unknown device {preference!r}: use auto, cpu or cuda")
