"""What a synthesis model was trained on, and whether a frame looks like those frames.

A model folder's card (model_card.json) carries `trained_on_data` (`TRAINED_ON`), written when the model is
trained, distilled or published:

    {"source": "phantom" | "user frames", "style": "plain" | "realistic" | null, "frames": 150,
     "resolution": "128x72", "frame_size": "960x540",
     "stats": {"names": [...], "mean": [...], "std": [...]}}

`stats` summarise a few cheap image statistics (`STAT_NAMES`: mean and spread of each colour channel, colour
saturation, sharpness) over the training frames, each frame first reduced to `STATS_SIZE`. `frame_warning`
compares one frame with them: a frame whose statistic lies more than `Z_LIMIT` spreads from the training mean
(the spread floored at `STD_FLOOR`) is "unlike the training frames". Measured on the phantom sample's two styles
(docs/benchmarks/synthesis_trained_on.md): a model trained on one style is warned about on frames of the other
and not on its own. Cards written before this existed carry none of it: a model whose card still says it was
trained on the phantom (`trained_on` text) is reported as phantom-trained, with no frame comparison.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Optional, Union

import cv2
import numpy as np

TRAINED_ON = "trained_on_data"
PHANTOM, USER_FRAMES = "phantom", "user frames"
STATS_SIZE = (128, 72)  # (width, height) every frame is reduced to before its statistics
GRAIN_SIZE = (480, 270)  # (width, height) the grain is measured at
STAT_NAMES = ("mean_r", "mean_g", "mean_b", "std_r", "std_g", "std_b", "saturation", "grain")
STD_FLOOR = np.array([0.04, 0.04, 0.04, 0.03, 0.03, 0.03, 0.05, 0.04])  # colours move with the light: loose
Z_LIMIT = 4.0
TRAIN_HINT = "train one on your own labelled frames with Models → Train synthesis model…"


def image_stats(image: np.ndarray) -> np.ndarray:
    """`STAT_NAMES` of an HxWx3 uint8 RGB frame: colours in 0..1 at `STATS_SIZE`; grain = log10(1 + the median
    absolute Laplacian of the grey frame at `GRAIN_SIZE`), the sensor noise and fine texture a camera adds
    (it tells the phantom's two styles apart where colours overlap)."""
    small = cv2.resize(np.ascontiguousarray(image[..., :3]), STATS_SIZE, interpolation=cv2.INTER_AREA)
    x = small.astype(np.float32) / 255.0
    mean, std = x.reshape(-1, 3).mean(0), x.reshape(-1, 3).std(0)
    hi, lo = x.max(axis=2), x.min(axis=2)
    saturation = float(np.mean((hi - lo) / np.maximum(hi, 1e-3)))
    grey = cv2.resize(cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY), GRAIN_SIZE,
                      interpolation=cv2.INTER_AREA).astype(np.float32)
    grain = float(np.log10(1.0 + np.median(np.abs(cv2.Laplacian(grey, cv2.CV_32F)))))
    return np.array([*mean, *std, saturation, grain], dtype=np.float64)


def summarize(stats: Iterable[np.ndarray]) -> dict:
    """Per-statistic mean and spread over frames' `image_stats`."""
    arr = np.array(list(stats), dtype=np.float64).reshape(-1, len(STAT_NAMES))
    if len(arr) == 0:
        return {}
    return {"names": list(STAT_NAMES), "mean": [round(float(v), 5) for v in arr.mean(0)],
            "std": [round(float(v), 5) for v in arr.std(0)]}


def data_source(data) -> tuple[str, Optional[str]]:
    """("phantom", style) for a folder made by `cadis phantom` (its phantom.json), else ("user frames", None)."""
    if isinstance(data, (str, os.PathLike)):
        manifest = Path(data) / "phantom.json"
        try:
            m = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else None
        except (OSError, ValueError):
            m = None
        if isinstance(m, dict) and m.get("generator") == "cadis-phantom":
            return PHANTOM, str(m.get("style", "plain"))
    return USER_FRAMES, None


def training_record(data, images: Iterable[np.ndarray], resolution: tuple[int, int],
                    frame_size: Optional[tuple[int, int]] = None) -> dict:
    """The card's `TRAINED_ON` entry for a model trained on `images` (any size) from `data` (a folder or
    in-memory pairs) at `resolution` (height, width)."""
    source, style = data_source(data)
    stats = [image_stats(im) for im in images]
    rec = {"source": source, "style": style, "frames": len(stats), "resolution": f"{resolution[1]}x{resolution[0]}",
           "stats": summarize(stats)}
    if frame_size is not None:
        rec["frame_size"] = f"{frame_size[1]}x{frame_size[0]}"
    return rec


def record_of(card: dict) -> dict:
    """The card's `TRAINED_ON` entry; for older cards one built from their `trained_on` text (no statistics)."""
    rec = card.get(TRAINED_ON) if isinstance(card, dict) else None
    if isinstance(rec, dict):
        return rec
    text = str(card.get("trained_on", "")) if isinstance(card, dict) else ""
    if "phantom" in text.lower():
        return {"source": PHANTOM, "frames": card.get("training_frames")}
    return {}


def read_record(model_dir: Union[str, os.PathLike]) -> dict:
    """`record_of` the folder's model_card.json ({} when it has none or it cannot be read)."""
    path = Path(model_dir) / "model_card.json"
    try:
        card = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        card = {}
    return record_of(card)


def describe(rec: dict) -> str:
    """One line for a person: what the model was trained on."""
    if not rec:
        return "what this model was trained on is not recorded"
    what = "the procedural phantom" if rec.get("source") == PHANTOM else "your frames"
    if rec.get("source") == PHANTOM and rec.get("style"):
        what += f" ({rec['style']} style)"
    parts = [f"trained on {what}"]
    if rec.get("frames"):
        parts.append(f"{rec['frames']} frames")
    if rec.get("resolution"):
        parts.append(f"at {rec['resolution']}")
    return ", ".join(parts)


def unlike_training(rec: dict, image: np.ndarray) -> list[str]:
    """The statistics in which `image` lies more than `Z_LIMIT` spreads from the training frames' ([] when it
    does not, or the record has no statistics)."""
    st = rec.get("stats") or {}
    if list(st.get("names", [])) != list(STAT_NAMES):
        return []
    mean, std = np.array(st["mean"], np.float64), np.array(st["std"], np.float64)
    z = np.abs(image_stats(image) - mean) / np.maximum(std, STD_FLOOR)
    return [STAT_NAMES[i] for i in np.flatnonzero(z > Z_LIMIT)]


def frame_warning(rec: dict, image: Optional[np.ndarray]) -> Optional[str]:
    """A warning to show before a result made from `image` can be accepted, or None.

    It fires when the frame is unlike the training frames (`unlike_training`), and for a phantom-trained model
    whose card has no statistics to compare with (then every real frame is presumed unlike the phantom)."""
    if not rec or image is None:
        return None
    phantom = rec.get("source") == PHANTOM
    if rec.get("stats"):
        off = unlike_training(rec, image)
        if not off:
            return None
        what = "the phantom frames" if phantom else "its training frames"
        return (f"This frame is unlike {what} the model was trained on ({', '.join(_plain(n) for n in off)}): "
                f"the result may be wrong. {'This model knows only the phantom; ' + TRAIN_HINT if phantom else ''}"
                ).strip()
    if phantom:
        return f"This model was trained only on the procedural phantom, not on frames like yours; {TRAIN_HINT}."
    return None


def _plain(name: str) -> str:
    named = {"saturation": "colour saturation", "grain": "grain and noise"}
    if name in named:
        return named[name]
    colour = {"r": "red", "g": "green", "b": "blue"}[name[-1]]
    return f"{'brightness' if name.startswith('mean') else 'contrast'} of {colour}"
