"""The model-made part of `engine.project.Project`: which label pixels a model wrote and no person has
edited or reviewed since.

Accepting a proposal (pre-segmentation now; propagation and click-to-segment use the same call,
`engine.session.ProjectSession.accept_model_output`) records, per frame, the class the model wrote into
each accepted pixel: `model-made/<key>.png` (uint8, 255 where no model value is recorded) plus a row of the
`model_made` table (source, the number of model-made pixels of the saved label, time). A pixel is
model-made while the label still holds the model's value there: an edit that changes it (brush, fill,
eraser, repair, undo of the accept) makes it a person's pixel without any bookkeeping, and a redo makes
it the model's again. Marking the frame Done is NOT a review (a frame filled by the model and marked
Done is exactly the case to catch); reviewing is its own step (`review_model_made`, the Pre-segment
panel's "Reviewed" button) and forgets the frame's record.

A mixin of `Project` (which sets `_conn`, `_lock`, `root`, `_writable`, `record`, `load_label`).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from engine.imageio import read_label, write_label
from engine.project.db import transaction
from engine.project.errors import ProjectError
from engine.project.paths import check_relpath, resolve_inside

NONE = 255
FOLDER = "model-made"


def model_made_relpath(key: str) -> str:
    """`model-made/<key with .png>`, beside the project's `labels/<key>.png`."""
    check_relpath(key, "frame key")
    return f"{FOLDER}/" + (key if key.lower().endswith(".png") else key + ".png")


class ProjectModelMade:
    def _model_path(self, key: str) -> Path:
        self.record(key)
        return resolve_inside(self.root, model_made_relpath(key), "model-made path")

    def model_values(self, key: str) -> np.ndarray | None:
        """HxW uint8: the class a model wrote into each pixel (255: none recorded); None without a record."""
        path = self._model_path(key)
        if not path.is_file():
            return None
        try:
            return read_label(path)
        except Exception as exc:  # noqa: BLE001 - a broken record must not stop the frame from opening
            raise ProjectError(f"the model-made record of {key} ({path}) cannot be read: {exc}") from None

    def model_made_mask(self, key: str, label: np.ndarray | None = None) -> np.ndarray:
        """HxW bool: pixels of `label` (default: the saved label) that still hold the model's value."""
        label = self.load_label(key) if label is None else label
        values = self.model_values(key)
        if values is None or values.shape != label.shape:
            return np.zeros(label.shape, bool)
        return (values != NONE) & (label == values)

    def mark_model_made(self, key: str, label: np.ndarray, region: np.ndarray, source: str) -> int:
        """Record that a model (`source`, e.g. "preseg") wrote `label[region]`; returns the frame's model-made
        pixel count in `label`. Written at once (before the label is saved): after a crash the journal
        replays the accept and the pixels are the model's again."""
        self._writable("record model-made pixels")
        if region.shape != label.shape:
            raise ProjectError(f"model-made region {region.shape} does not match the label {label.shape}")
        with self._lock:
            values = self.model_values(key)
            if values is None or values.shape != label.shape:
                values = np.full(label.shape, NONE, np.uint8)
            values[region] = label[region]
            path = self._model_path(key)
            write_label(path, values)
            pixels = int(((values != NONE) & (label == values)).sum())
            self._store_row(key, source, pixels)
        return pixels

    def _store_row(self, key: str, source: str | None, pixels: int) -> None:
        with transaction(self._conn):
            self._conn.execute(
                "INSERT INTO model_made (key, source, pixels, mask_path, updated_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET pixels=excluded.pixels, updated_at=excluded.updated_at, "
                "source=CASE WHEN ? IS NULL THEN source WHEN instr(source, ?) > 0 THEN source "
                "ELSE source || ',' || excluded.source END",
                (key, source or "", pixels, model_made_relpath(key), time.time(), source, source or ""))

    def update_model_made(self, key: str, label: np.ndarray) -> None:
        """After a save: recount the frame's model-made pixels in the saved `label`."""
        with self._lock:
            if key not in self.model_made_pixels():
                return
            values = self.model_values(key)
            pixels = 0 if values is None or values.shape != label.shape else int(
                ((values != NONE) & (label == values)).sum())
            self._store_row(key, None, pixels)

    def review_model_made(self, key: str) -> int:
        """A person has looked at the frame's model-made pixels and keeps them: forget the record (they are
        the person's labels from now on). Returns how many pixels were model-made."""
        self._writable("mark model-made pixels reviewed")
        with self._lock:
            n = self.model_made_pixels().get(key, 0)
            with transaction(self._conn):
                self._conn.execute("DELETE FROM model_made WHERE key=?", (key,))
            path = self._model_path(key)
            if path.is_file():
                path.unlink()
        return n

    def model_made_pixels(self) -> dict[str, int]:
        """{frame key: model-made pixels of its saved label} for every frame with a record (one query)."""
        with self._lock:
            return {k: int(n) for k, n in self._conn.execute("SELECT key, pixels FROM model_made")}

    def salvage_model_made(self) -> int:
        """Give every `model-made/<key>.png` without a table row (a database rebuilt after damage) its row
        back, its pixels counted against the saved label; returns how many rows came back."""
        folder = self.root / FOLDER
        if not folder.is_dir():
            return 0
        known = set(self.model_made_pixels())
        back = 0
        for path in sorted(folder.rglob("*.png")):
            rel = path.relative_to(self.root / FOLDER).as_posix()
            key = next((k for k in (rel, rel[:-4]) if k in self._keyset), None)
            if key is None or key in known:
                continue
            try:
                values = read_label(path)
                label = self.load_label(key)
            except Exception:  # noqa: BLE001 - an unreadable leftover stays as it is
                continue
            pixels = int(((values != NONE) & (label == values)).sum()) if values.shape == label.shape else 0
            self._store_row(key, "salvaged", pixels)
            back += 1
        return back

    def human_label(self, key: str, label: np.ndarray | None = None) -> np.ndarray:
        """The label with its model-made pixels set to 255: what training and label checks may take as a
        person's work."""
        label = self.load_label(key) if label is None else label
        mask = self.model_made_mask(key, label)
        if not mask.any():
            return label
        out = label.copy()
        out[mask] = NONE
        return out
