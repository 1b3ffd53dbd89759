"""Helpers the model panels share: finding the model folder, a thread-safe model cache, pixmaps."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Hashable, Optional

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QWidget

from desktop.qt_image import rgb_to_qimage

NO_MODEL_HELP = ("Train one with Models → Train synthesis model… (a few hundred steps on your done frames "
                 "already give a usable preview), or pick a model folder in File → Preferences… → "
                 "Models and device.")


def model_folder_problem(model_dir: str) -> Optional[str]:
    """None when `model_dir` is a usable synthesis model folder, else a message saying what to do."""
    from engine.models.model_dir import ModelFolderError, check_model_folder

    if not model_dir:
        return f"No synthesis model is set up yet. {NO_MODEL_HELP}"
    try:
        check_model_folder(model_dir)
    except ModelFolderError as exc:
        return f"No usable synthesis model: {exc}. {NO_MODEL_HELP}"
    if not (Path(model_dir) / "config.json").is_file():
        return f"No usable synthesis model: {model_dir} has no config.json. {NO_MODEL_HELP}"
    return None


def weights_stamp(model_dir: str | Path) -> tuple[str, float]:
    """Identity of a model folder's current weights: (resolved path, modification time)."""
    path = Path(model_dir).resolve()
    try:
        return str(path), (path / "diffusion_pytorch_model.safetensors").stat().st_mtime
    except OSError:
        return str(path), 0.0


class ModelCache:
    """One loaded model object at a time, keyed (e.g. by folder, weights time and device).

    `use(key, load, fn)` runs `fn(obj)`, loading with `load()` when the key changed. Exclusive (the default):
    `fn` runs under the lock, so jobs never run the same object concurrently (for objects with per-call
    state); a stale job holds the lock only until its next cancellation check. Not exclusive: the lock
    covers only the look-up and the load, and `fn` runs on its own reference, so a long job never blocks
    another user of the cache (for objects whose calls are independent, such as the synthesis pipelines)."""

    def __init__(self, exclusive: bool = True) -> None:
        self._lock = threading.Lock()
        self._key: Optional[Hashable] = None
        self._obj: Any = None
        self.exclusive = exclusive

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The object for `key`, loaded (under the lock) when the key changed."""
        with self._lock:
            if self._key != key or self._obj is None:
                self._obj, self._key = None, None
                self._obj = load()
                self._key = key
            return self._obj

    def use(self, key: Hashable, load: Callable[[], Any], fn: Callable[[Any], Any]) -> Any:
        if not self.exclusive:
            return fn(self.get(key, load))
        with self._lock:
            if self._key != key or self._obj is None:
                self._obj, self._key = None, None
                self._obj = load()
                self._key = key
            return fn(self._obj)

    def peek(self) -> Any:
        """The loaded object (None before the first load); for tests and status lines."""
        return self._obj

    def clear(self) -> None:
        with self._lock:
            self._obj, self._key = None, None


def pixmap_of(image: np.ndarray, max_w: int = 0, max_h: int = 0) -> QPixmap:
    """An RGB image as a pixmap, scaled (keeping the aspect) to fit max_w x max_h when given."""
    pm = QPixmap.fromImage(rgb_to_qimage(image))
    if max_w and max_h:
        pm = pm.scaled(max_w, max_h, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return pm


def hint_label(text: str = "", parent: Optional[QWidget] = None, error: bool = False) -> QLabel:
    """A word-wrapped hint (or error) line in the app's style."""
    label = QLabel(text, parent)
    label.setObjectName("error" if error else "hint")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
