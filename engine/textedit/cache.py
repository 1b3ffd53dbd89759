"""On-disk cache of the expensive Imagic steps: optimised embedding + fine-tuned weights per
(frame, prompt, model, settings).

Layout, under a folder the caller gives (a project's `cache/textedit/`, or `--cache DIR`):

    <key>/embedding.safetensors   e_opt, tensor "embedding"
    <key>/unet.safetensors        the tuned parameters (a LoRA adapter, or the full UNet); absent if none
    <key>/meta.json               what the entry was made from; written LAST, so an entry without it is
                                  incomplete and ignored

`key` is a hash of the model fingerprint, the canvas pixels, the prompt and every setting that changes the
outcome of steps 1 and 2 (not α, the interpolation, the seed of sampling or the sampling steps). Files are
written atomically (engine.atomic): a crash or a cancel never leaves a half-written entry that is used.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Optional

import numpy as np

from engine.atomic import atomic_write_bytes, atomic_write_text
from engine.textedit.imagic import ImagicState

CACHE_VERSION = 1


def cache_key(model_fingerprint: str, canvas: np.ndarray, prompt: str, settings: dict) -> str:
    """A stable hex key for one canvas of one frame edited towards `prompt` with `settings`."""
    h = hashlib.sha256()
    h.update(json.dumps({"v": CACHE_VERSION, "model": model_fingerprint, "prompt": prompt,
                         "shape": list(canvas.shape), "settings": settings}, sort_keys=True).encode())
    h.update(np.ascontiguousarray(canvas).tobytes())
    return h.hexdigest()[:32]


def entry_dir(cache_dir: str | os.PathLike, key: str) -> Path:
    return Path(cache_dir) / key


def load_state(cache_dir: Optional[str | os.PathLike], key: str) -> Optional[ImagicState]:
    """The cached state for `key`, or None when absent, incomplete or unreadable (it is then recomputed)."""
    if cache_dir is None:
        return None
    from safetensors.torch import load_file

    from engine.files import read_json

    d = entry_dir(cache_dir, key)
    meta_path = d / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = read_json(meta_path, what="cache record", follow_links=False, expect=dict)
        if meta.get("version") != CACHE_VERSION or meta.get("key") != key:
            return None
        emb = load_file(d / "embedding.safetensors")["embedding"]
        weights = load_file(d / "unet.safetensors") if meta.get("has_unet") else {}
    except (OSError, ValueError, KeyError, RuntimeError):
        return None
    return ImagicState(emb, dict(weights), meta["tune_mode"], int(meta.get("lora_rank", 4)),
                       losses=meta.get("losses", {}))


def save_state(cache_dir: str | os.PathLike, key: str, state: ImagicState, info: dict) -> Path:
    """Write an entry (tensors first, meta.json last); returns its folder."""
    from safetensors.torch import save

    d = entry_dir(cache_dir, key)
    atomic_write_bytes(d / "embedding.safetensors", save({"embedding": state.embedding.contiguous()}))
    if state.unet_weights:
        atomic_write_bytes(d / "unet.safetensors",
                           save({k: v.contiguous() for k, v in state.unet_weights.items()}))
    meta = {"version": CACHE_VERSION, "key": key, "tune_mode": state.tune_mode, "lora_rank": state.lora_rank,
            "has_unet": bool(state.unet_weights), "losses": _finite(state.losses), **info}
    atomic_write_text(d / "meta.json", json.dumps(meta, indent=2, sort_keys=True))
    return d


def _finite(d: dict) -> dict:
    return {k: (v if isinstance(v, (int, float)) and np.isfinite(v) else None) for k, v in d.items()}


def tensor_bytes(state: ImagicState) -> int:
    """How many bytes the entry's tensors take (for reporting: LoRA entries are small)."""
    return int(state.embedding.numel() * state.embedding.element_size()
               + sum(t.numel() * t.element_size() for t in state.unet_weights.values()))


__all__ = ["cache_key", "entry_dir", "load_state", "save_state", "tensor_bytes", "CACHE_VERSION"]
