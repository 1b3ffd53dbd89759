"""The labelling-team part of `engine.project.Project`: who labels with this project, the work package it
holds, who labelled and reviewed each frame, every annotator's version of a merged frame, and disputes.

A mixin of `Project` (which sets `_conn`, `_lock`, `root`, `record`, `_check_label` and `_writable`).
Tables (schema 2, engine.project.db): `frame_people`, `label_versions`, `disputes`; the annotator and the
package live in `meta` (`annotator`, `team.package`). Versions are PNGs at `versions/<author>/<key>.png`.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass

import numpy as np

from engine.imageio import read_label, write_label
from engine.project import db as dbm
from engine.project.db import transaction
from engine.project.errors import ProjectError
from engine.project.paths import label_relpath, resolve_inside

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
REVIEW_STATUSES = ("done", "flagged", "rejected")  # setting one of these records the reviewer


def check_person(name: str, what: str = "annotator name") -> str:
    """A person's short name: letters, digits, `_ . -`, at most 32 characters, starting with a letter/digit."""
    if not isinstance(name, str) or not _NAME.match(name.strip()):
        raise ProjectError(f"{what} {name!r} is not allowed: use letters, digits, '_', '.' or '-' (1 to 32 "
                           "characters, starting with a letter or digit)")
    return name.strip()


def label_sha256(label: np.ndarray) -> str:
    """The identity of a label's pixels (shape included), to tell identical versions apart from different ones."""
    h = hashlib.sha256(f"{label.shape[0]}x{label.shape[1]}:".encode())
    h.update(np.ascontiguousarray(label, dtype=np.uint8).tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class LabelVersion:
    key: str
    author: str
    label_path: str  # relative to the project
    sha256: str
    status: str
    package: str


@dataclass(frozen=True)
class Dispute:
    key: str
    authors: tuple[str, ...]
    method: str  # how the proposed label was made: "majority", "reviewed", "weighted"
    agreement: float | None  # mean pairwise IoU of the versions (over the classes any holds)
    open: bool
    decision: list  # [{"x":, "y":, "author":, "pixels":}, ...] regions taken from a version
    decided_by: str
    decided_at: float | None


class ProjectTeam:
    # ------------------------------------------------------------------------------------ who and what
    @property
    def annotator(self) -> str:
        """Who labels with this project ('' when nobody was named); recorded with every label save."""
        with self._lock:
            return dbm.get_meta(self._conn, "annotator", "") or ""

    def set_annotator(self, name: str) -> None:
        self._writable("set the annotator")
        name = check_person(name)
        with self._lock, transaction(self._conn):
            dbm.set_meta(self._conn, "annotator", name)

    def package(self) -> dict | None:
        """The work package this project holds ({"id", "annotator", "frames", "overlap", ...}) or None."""
        with self._lock:
            text = dbm.get_meta(self._conn, "team.package")
        if not text:
            return None
        try:
            info = json.loads(text)
        except ValueError:
            raise ProjectError(f"the work package recorded in {self.root} cannot be read; open the dataset "
                               "with a new project instead") from None
        if not isinstance(info, dict) or not isinstance(info.get("frames"), list):
            raise ProjectError(f"the work package recorded in {self.root} is malformed")
        return info

    def set_package(self, info: dict) -> None:
        """Record a work package: from now on `frame_keys()` lists only its frames (after reopening)."""
        self._writable("record a work package")
        check_person(info.get("annotator", ""))
        unknown = [k for k in info["frames"] if k not in self._keyset]
        if unknown:
            raise ProjectError(f"the package lists {len(unknown)} frames that are not in the dataset, e.g. {unknown[0]}")
        with self._lock, transaction(self._conn):
            dbm.set_meta(self._conn, "team.package", json.dumps(info, sort_keys=True))
            dbm.set_meta(self._conn, "annotator", info["annotator"])

    # ------------------------------------------------------------------------------------ who labelled
    def _record_person(self, key: str, column: str) -> None:
        """Inside the caller's transaction: add the project's annotator to `column` of the frame."""
        name = dbm.get_meta(self._conn, "annotator", "") or ""
        if not name:
            return
        row = self._conn.execute(f"SELECT {column} FROM frame_people WHERE key=?", (key,)).fetchone()
        names = [n for n in (row[0].split(",") if row and row[0] else []) if n]
        if name not in names:
            names.append(name)
        self._conn.execute(
            f"INSERT INTO frame_people (key, {column}, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE "
            f"SET {column}=excluded.{column}, updated_at=excluded.updated_at", (key, ",".join(names), time.time()))

    def set_people(self, key: str, labelled_by: list[str], reviewed_by: list[str] | None = None) -> None:
        """Set who labelled (and, unless None, who reviewed) a frame, e.g. after a merge."""
        self._writable("record who labelled a frame")
        self.record(key)
        lab = ",".join(check_person(n) for n in labelled_by)
        with self._lock, transaction(self._conn):
            self._conn.execute(
                "INSERT INTO frame_people (key, labelled_by, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE "
                "SET labelled_by=excluded.labelled_by, updated_at=excluded.updated_at", (key, lab, time.time()))
            if reviewed_by is not None:
                rev = ",".join(check_person(n) for n in reviewed_by)
                self._conn.execute("UPDATE frame_people SET reviewed_by=? WHERE key=?", (rev, key))

    def people(self) -> dict[str, tuple[list[str], list[str]]]:
        """Frame key -> (who labelled it, who reviewed it), for frames with a record."""
        with self._lock:
            rows = self._conn.execute("SELECT key, labelled_by, reviewed_by FROM frame_people").fetchall()
        return {k: ([n for n in lab.split(",") if n], [n for n in rev.split(",") if n]) for k, lab, rev in rows}

    # ------------------------------------------------------------------------------------ versions
    def _version_rel(self, key: str, author: str) -> str:
        return f"versions/{check_person(author, 'version author')}/" + label_relpath(key)[len("labels/"):]

    def put_version(self, key: str, author: str, label: np.ndarray, status: str = "", package: str = "") -> bool:
        """Keep `author`'s version of a frame's label; returns False when the same pixels were already kept."""
        self._writable("keep a label version")
        self._check_label(key, label)
        rel = self._version_rel(key, author)
        sha = label_sha256(label)
        with self._lock:
            row = self._conn.execute("SELECT sha256, status, package FROM label_versions WHERE key=? AND author=?",
                                     (key, author)).fetchone()
            if row is not None and tuple(row) == (sha, status, package):
                return False
            if row is None or row[0] != sha:
                write_label(resolve_inside(self.root, rel, "version path"), label)
            with transaction(self._conn):
                self._conn.execute(
                    "INSERT OR REPLACE INTO label_versions (key, author, label_path, sha256, status, package) "
                    "VALUES (?, ?, ?, ?, ?, ?)", (key, author, rel, sha, status, package))
        return True

    def versions(self, key: str | None = None) -> list[LabelVersion]:
        """Every kept version (of one frame, or of all), ordered by frame then author."""
        sql = "SELECT key, author, label_path, sha256, status, package FROM label_versions"
        with self._lock:
            rows = (self._conn.execute(sql + " WHERE key=? ORDER BY author", (key,)) if key is not None
                    else self._conn.execute(sql + " ORDER BY key, author")).fetchall()
        return [LabelVersion(*r) for r in rows]

    def load_version(self, key: str, author: str) -> np.ndarray:
        with self._lock:
            row = self._conn.execute("SELECT label_path FROM label_versions WHERE key=? AND author=?",
                                     (key, author)).fetchone()
        if row is None:
            raise ProjectError(f"no version of {key} by {author} is kept in {self.root.name}")
        return read_label(resolve_inside(self.root, row[0], "version path"))

    # ------------------------------------------------------------------------------------ disputes
    def set_dispute(self, key: str, authors: list[str], method: str, agreement: float | None) -> None:
        """Open (or re-open) a dispute: the frame's versions differ and its label is a proposal to review."""
        self._writable("record a dispute")
        self.record(key)
        with self._lock, transaction(self._conn):
            self._conn.execute(
                "INSERT OR REPLACE INTO disputes (key, authors, method, agreement, open) VALUES (?, ?, ?, ?, 1)",
                (key, ",".join(authors), method, agreement))

    def disputes(self, open_only: bool = False) -> list[Dispute]:
        sql = "SELECT key, authors, method, agreement, open, decision, decided_by, decided_at FROM disputes"
        with self._lock:
            rows = self._conn.execute(sql + (" WHERE open=1" if open_only else "") + " ORDER BY key").fetchall()
        order = {k: i for i, k in enumerate(self.dataset_keys())}
        out = []
        for k, authors, method, agreement, is_open, decision, by, at in rows:
            try:
                steps = json.loads(decision)
            except ValueError:
                steps = []
            out.append(Dispute(k, tuple(a for a in authors.split(",") if a), method, agreement, bool(is_open),
                               steps if isinstance(steps, list) else [], by, at))
        return sorted(out, key=lambda d: order.get(d.key, len(order)))

    def record_decision(self, key: str, step: dict | None, settled: bool) -> None:
        """Append one review step (a region taken from a version) to a dispute; `settled` closes it. The
        reviewer is the project's annotator."""
        self._writable("record a review decision")
        with self._lock, transaction(self._conn):
            row = self._conn.execute("SELECT decision FROM disputes WHERE key=?", (key,)).fetchone()
            if row is None:
                raise ProjectError(f"frame {key} has no dispute to decide")
            steps = json.loads(row[0] or "[]")
            if step is not None:
                steps.append(step)
            self._conn.execute("UPDATE disputes SET decision=?, decided_by=?, decided_at=?, open=? WHERE key=?",
                               (json.dumps(steps, sort_keys=True), dbm.get_meta(self._conn, "annotator", "") or "",
                                time.time(), 0 if settled else 1, key))
            if settled:
                self._record_person(key, "reviewed_by")

    def dataset_keys(self) -> list[str]:
        """Every frame of the dataset, also those outside this project's work package."""
        return [f.key for f in self.dataset.frames]

    def frame_agreement(self) -> dict[str, float]:
        """Frame key -> the annotators' agreement (mean pairwise IoU) on frames with two or more versions:
        the dispute's figure, or 1.0 where every version is the same."""
        with self._lock:
            shas = self._conn.execute("SELECT key, COUNT(*), COUNT(DISTINCT sha256) FROM label_versions "
                                      "GROUP BY key HAVING COUNT(*) >= 2").fetchall()
            measured = dict(self._conn.execute("SELECT key, agreement FROM disputes WHERE agreement IS NOT NULL"))
        return {k: (1.0 if distinct == 1 else float(measured.get(k, 0.0))) for k, _n, distinct in shas}
