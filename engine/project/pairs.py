"""Synthetic image/label pairs kept in a project, with their provenance.

Each pair lives in `<project>/pairs/<id>/image.png` and `label.png`; its row in the `pairs` table holds the
source (e.g. "synthesis", "text_edit", "augment"), a JSON provenance dict (model, seed, prompt, parent ...),
the frame it was derived from, and a review status: pending, accepted or rejected.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.imageio import ImageReadError, read_image, read_label, write_image, write_label
from engine.project.errors import ProjectError
from engine.project.paths import check_relpath, resolve_inside

PAIR_STATUSES = ("pending", "accepted", "rejected")
#: the one rule of synthetic pairs, shown where they are made, in Curation and in the export dialog
PAIR_RULE = ("A synthetic pair is model output: “Add to curation” stores it as pending; only pairs accepted in "
             "Curation are exported as accepted synthetic pairs.")
ADD_TO_CURATION = "Add to curation"


def pair_counts(statuses) -> str:
    """"N accepted (exported), M pending in Curation, R rejected" from the pairs' statuses."""
    n = {s: 0 for s in PAIR_STATUSES}
    for s in statuses:
        n[s] = n.get(s, 0) + 1
    return (f"{n['accepted']} accepted (exported), {n['pending']} pending in Curation (not exported until "
            f"accepted there), {n['rejected']} rejected")

_COLUMNS = "id, source, provenance, parent_key, status, image_path, label_path, width, height, created_at"


@dataclass(frozen=True)
class PairRecord:
    """One synthetic pair as stored; `image_path`/`label_path` are absolute paths inside the project."""

    id: int
    source: str
    provenance: dict = field(hash=False)
    parent_key: str | None
    status: str
    image_path: Path
    label_path: Path
    width: int
    height: int
    created_at: float


def _check_source(source: str) -> str:
    if not isinstance(source, str) or not source.strip() or len(source) > 64:
        raise ProjectError(f"a pair source is a short name such as 'synthesis', got {source!r}")
    return source.strip()


def _check_arrays(image: np.ndarray, label: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ProjectError(f"a pair image must be an HxWx3 uint8 RGB array, got "
                           f"{getattr(image, 'shape', type(image))} {getattr(image, 'dtype', '')}")
    if not isinstance(label, np.ndarray) or label.dtype != np.uint8 or label.ndim != 2:
        raise ProjectError(f"a pair label must be an HxW uint8 array, got "
                           f"{getattr(label, 'shape', type(label))} {getattr(label, 'dtype', '')}")
    if label.shape != image.shape[:2]:
        raise ProjectError(f"pair image is {image.shape[1]}x{image.shape[0]} but its label is "
                           f"{label.shape[1]}x{label.shape[0]}; they must match")


class PairStore:
    """Pairs of one project: rows in `conn`, files under `root/pairs/`. Shares the project's lock."""

    def __init__(self, conn: sqlite3.Connection, root: Path, lock: threading.RLock):
        self._conn = conn
        self._root = Path(root)
        self._lock = lock

    def add(self, image: np.ndarray, label: np.ndarray, source: str, provenance: dict,
            parent_key: str | None = None) -> int:
        """Store a pair (files written atomically before the row commits); returns its id."""
        _check_arrays(image, label)
        source = _check_source(source)
        try:
            prov_json = json.dumps(dict(provenance or {}), sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ProjectError(f"pair provenance must be a JSON-serialisable dict: {exc}") from None
        if parent_key is not None:
            check_relpath(parent_key, "parent frame key")
        h, w = label.shape
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                cur = conn.execute(
                    "INSERT INTO pairs (source, provenance, parent_key, status, image_path, label_path, width, "
                    "height, created_at) VALUES (?, ?, ?, 'pending', '', '', ?, ?, ?)",
                    (source, prov_json, parent_key, w, h, time.time()))
                pair_id = int(cur.lastrowid)
                image_rel, label_rel = f"pairs/{pair_id}/image.png", f"pairs/{pair_id}/label.png"
                write_image(resolve_inside(self._root, image_rel, "pair image path"), image)
                write_label(resolve_inside(self._root, label_rel, "pair label path"), label)
                conn.execute("UPDATE pairs SET image_path=?, label_path=? WHERE id=?", (image_rel, label_rel, pair_id))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                if "pair_id" in locals():
                    shutil.rmtree(self._root / "pairs" / str(pair_id), ignore_errors=True)
                raise
        return pair_id

    def list(self, status: str | None = None, source: str | None = None) -> list[PairRecord]:
        """Pairs in id order, optionally filtered by status and/or source."""
        if status is not None and status not in PAIR_STATUSES:
            raise ProjectError(f"unknown pair status {status!r}: use one of {', '.join(PAIR_STATUSES)}")
        where, args = [], []
        if status is not None:
            where.append("status=?")
            args.append(status)
        if source is not None:
            where.append("source=?")
            args.append(source)
        sql = f"SELECT {_COLUMNS} FROM pairs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [self._record(r) for r in rows]

    def get(self, pair_id: int) -> PairRecord:
        with self._lock:
            row = self._conn.execute(f"SELECT {_COLUMNS} FROM pairs WHERE id=?", (int(pair_id),)).fetchone()
        if row is None:
            raise ProjectError(f"there is no synthetic pair with id {pair_id} in this project")
        return self._record(row)

    def load(self, pair_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(image, label) of a pair."""
        rec = self.get(pair_id)
        try:
            return read_image(rec.image_path), read_label(rec.label_path)
        except ImageReadError as exc:
            raise ProjectError(f"synthetic pair {pair_id} cannot be read: {exc}") from None

    def save_label(self, pair_id: int, label: np.ndarray) -> None:
        """Replace a pair's label (after a repair in the canvas) with one atomic write; the image stays."""
        rec = self.get(pair_id)
        if not isinstance(label, np.ndarray) or label.dtype != np.uint8 or label.shape != (rec.height, rec.width):
            raise ProjectError(f"the label of pair {pair_id} must be a {rec.width}x{rec.height} uint8 array, got "
                               f"{getattr(label, 'shape', type(label))} {getattr(label, 'dtype', '')}")
        bad = np.setdiff1d(np.unique(label), np.r_[np.arange(36), 255])
        if bad.size:
            raise ProjectError(f"the label of pair {pair_id} holds class IDs {bad.tolist()} outside 0..35 and 255")
        write_label(rec.label_path, label)

    def update_provenance(self, pair_id: int, updates: dict) -> dict:
        """Merge `updates` (e.g. scores computed later) into a pair's provenance; returns the new provenance."""
        with self._lock:
            rec = self.get(pair_id)
            merged = {**rec.provenance, **dict(updates)}
            try:
                text = json.dumps(merged, sort_keys=True, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise ProjectError(f"pair provenance must be JSON-serialisable: {exc}") from None
            self._conn.execute("UPDATE pairs SET provenance=? WHERE id=?", (text, rec.id))
        return merged

    def set_status(self, pair_id: int, status: str) -> None:
        if status not in PAIR_STATUSES:
            raise ProjectError(f"unknown pair status {status!r}: use one of {', '.join(PAIR_STATUSES)}")
        with self._lock:
            cur = self._conn.execute("UPDATE pairs SET status=? WHERE id=?", (status, int(pair_id)))
        if cur.rowcount == 0:
            raise ProjectError(f"there is no synthetic pair with id {pair_id} in this project")

    def delete(self, pair_id: int) -> None:
        """Remove a pair's row, then its files."""
        rec = self.get(pair_id)
        with self._lock:
            self._conn.execute("DELETE FROM pairs WHERE id=?", (rec.id,))
        shutil.rmtree(rec.image_path.parent, ignore_errors=True)

    def _record(self, row: tuple) -> PairRecord:
        pid, source, prov, parent, status, image_rel, label_rel, w, h, created = row
        try:
            provenance = json.loads(prov)
        except json.JSONDecodeError:
            provenance = {}
        return PairRecord(
            id=int(pid), source=source, provenance=provenance, parent_key=parent, status=status,
            image_path=resolve_inside(self._root, image_rel, f"pair {pid} image path"),
            label_path=resolve_inside(self._root, label_rel, f"pair {pid} label path"),
            width=int(w), height=int(h), created_at=float(created),
        )
