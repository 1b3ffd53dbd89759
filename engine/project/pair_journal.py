"""Edit journals of synthetic pairs: one append-only file per pair, `pairs/<id>/journal.bin`.

Same framing as the frames' journal (engine.project.journal). A pair's label has no revision number, so
each entry's `base_rev` is a 64-bit digest of the saved label the stroke was drawn on: an entry whose digest
differs from the saved label's is stale (its save finished before a kill could drop it) and is ignored.
Saving a pair's label writes it atomically, then empties the pair's journal.
"""
from __future__ import annotations

import hashlib
import threading
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from engine.project.errors import ProjectError
from engine.project.journal import Journal, JournalEntry, scan_entries
from engine.project.nofollow import is_regular, read_regular
from engine.project.paths import resolve_inside

JOURNAL_NAME = "journal.bin"
MAX_PAIR_JOURNAL_BYTES = 256 << 20  # strokes since the pair's last save: a few MB at most


def label_digest(label: np.ndarray) -> int:
    """64-bit content digest of a label (shape and pixels)."""
    h = hashlib.blake2b(digest_size=8)
    h.update(np.asarray(label.shape, np.int64).tobytes())
    h.update(np.ascontiguousarray(label).tobytes())
    return int.from_bytes(h.digest(), "little")


class PairJournals:
    """The journals of every pair of a project under `root/pairs/`; opened lazily, thread-safe."""

    def __init__(self, root: Path, fsync: bool = True):
        self._root = Path(root)
        self._fsync = fsync
        self._lock = threading.RLock()
        self._open: dict[int, Journal] = {}
        self._digests: dict[int, int] = {}  # digest of each pair's saved label, once known

    def path(self, pair_id: int) -> Path:
        """The pair's journal; ProjectError if its folder is a link out of the project (never written through)."""
        return resolve_inside(self._root, f"pairs/{int(pair_id)}/{JOURNAL_NAME}", "pair journal")

    def _journal(self, pair_id: int) -> Journal:
        pair_id = int(pair_id)
        if pair_id not in self._open:
            self._open[pair_id] = Journal(self.path(pair_id), fsync=self._fsync)
        return self._open[pair_id]

    def append(self, pair_id: int, data: bytes, load_saved: Callable[[], np.ndarray]) -> None:
        """Append one stroke (record bytes) drawn since the pair's label was saved; written before returning.
        `load_saved` reads the saved label (only the first time: its digest is kept)."""
        pair_id = int(pair_id)
        with self._lock:
            if pair_id not in self._digests:
                self._digests[pair_id] = label_digest(load_saved())
            self._journal(pair_id).append(JournalEntry(str(pair_id), self._digests[pair_id], bytes(data)))

    def live(self, pair_id: int, saved: np.ndarray) -> list[bytes]:
        """Record bytes of the strokes drawn on `saved` (the pair's saved label), in order."""
        digest = label_digest(saved)
        return [e.data for e in self._entries(pair_id) if e.base_rev == digest]

    def _entries(self, pair_id: int) -> list[JournalEntry]:
        with self._lock:
            if int(pair_id) in self._open:
                return self._open[int(pair_id)].entries()
            try:  # a regular file inside the pair folder, of bounded size: a link, FIFO or huge file is not read
                return scan_entries(read_regular(self.path(pair_id), "pair journal", MAX_PAIR_JOURNAL_BYTES))[0]
            except ProjectError as exc:
                warnings.warn(f"{exc}; its strokes are not recovered", stacklevel=2)
                return []

    def with_entries(self) -> list[int]:
        """Ids of pairs whose journal file holds at least one whole entry (live or stale)."""
        found = []
        for path in (self._root / "pairs").glob(f"*/{JOURNAL_NAME}"):
            if path.parent.name.isdigit() and is_regular(path) and path.stat().st_size and self._entries(int(path.parent.name)):
                found.append(int(path.parent.name))
        return sorted(found)

    def saved(self, pair_id: int, label: np.ndarray) -> None:
        """The pair's label `label` was just saved: later strokes are drawn on it; drop the earlier ones."""
        with self._lock:
            self._digests[int(pair_id)] = label_digest(label)
            self.clear(pair_id)

    def clear(self, pair_id: int) -> None:
        """Drop every stroke of a pair (after its label was saved, or to discard the recovery)."""
        with self._lock:
            if int(pair_id) in self._open:
                self._open[int(pair_id)].keep(lambda e: False)
            elif self.path(pair_id).is_file():
                self._journal(pair_id).keep(lambda e: False)

    def forget(self, pair_id: int) -> None:
        """Close a pair's journal (before its folder is deleted)."""
        with self._lock:
            self._digests.pop(int(pair_id), None)
            journal = self._open.pop(int(pair_id), None)
            if journal is not None:
                journal.close()

    def close(self) -> None:
        with self._lock:
            for journal in self._open.values():
                journal.close()
            self._open.clear()
