"""The synthetic-pair part of `engine.project.Project`: pairs, their labels and their per-pair stroke journals.

A mixin of `Project` (which sets `_pairs`, a PairStore, `_pair_journals`, a PairJournals, and `_writable`).
"""
from __future__ import annotations

import numpy as np

from engine.project.errors import ProjectError
from engine.project.pairs import PairRecord


class ProjectPairs:
    def add_pair(self, image: np.ndarray, label: np.ndarray, source: str, provenance: dict,
                 parent_key: str | None = None) -> int:
        """Store a synthetic pair (status "pending"); returns its id."""
        self._writable("store a pair")
        if parent_key is not None:
            self.record(parent_key)
        return self._pairs.add(image, label, source, provenance, parent_key)

    def pairs(self, status: str | None = None, source: str | None = None) -> list[PairRecord]:
        return self._pairs.list(status, source)

    def pair(self, pair_id: int) -> PairRecord:
        return self._pairs.get(pair_id)

    def load_pair(self, pair_id: int) -> tuple[np.ndarray, np.ndarray]:
        return self._pairs.load(pair_id)

    def set_pair_status(self, pair_id: int, status: str) -> None:
        self._writable("change a pair's status")
        self._pairs.set_status(pair_id, status)

    def save_pair_label(self, pair_id: int, label: np.ndarray) -> None:
        """Replace a synthetic pair's label atomically (IDs 0..35 or 255, same size as its image), then drop
        the pair's journal strokes."""
        self._writable("save a pair label")
        self._pairs.save_label(pair_id, label)
        self._pair_journals.saved(pair_id, label)

    def pair_journal_append(self, pair_id: int, record) -> None:
        """Append one finished stroke on a pair's label (an engine.edits.UndoRecord) to the pair's journal;
        written before returning, like `journal_append` for frames."""
        self._writable("record a stroke")
        self.pair(pair_id)
        self._pair_journals.append(pair_id, record.to_bytes(), lambda: self._pairs.load(pair_id)[1])

    def pair_strokes(self, pair_id: int) -> list:
        """The journal strokes (UndoRecords, in order) drawn on a pair's label since it was last saved."""
        from engine.edits import UndoRecord  # the edit ops own the record format

        saved = self._pairs.load(pair_id)[1]
        try:
            return [UndoRecord.from_bytes(b) for b in self._pair_journals.live(pair_id, saved)]
        except ValueError as exc:
            raise ProjectError(f"a journal stroke of pair {pair_id} cannot be read ({exc}); discard the "
                               "recovery") from None

    def pending_pair_recovery(self) -> dict[int, int]:
        """Pair id -> number of journal strokes drawn since that pair's label was last saved."""
        counts = {}
        for pid in self._pair_journals.with_entries():
            try:
                n = len(self._pair_journals.live(pid, self._pairs.load(pid)[1]))
            except ProjectError:  # the pair is gone or unreadable: nothing to replay onto
                continue
            if n:
                counts[pid] = n
        return counts

    def discard_pair_recovery(self, pair_id: int) -> None:
        """Forget the unsaved strokes of a pair."""
        self._pair_journals.clear(pair_id)

    def update_pair_provenance(self, pair_id: int, updates: dict) -> dict:
        """Merge scores or notes into a pair's provenance."""
        self._writable("change a pair's provenance")
        return self._pairs.update_provenance(pair_id, updates)

    def delete_pair(self, pair_id: int) -> None:
        self._writable("delete a pair")
        self._pair_journals.forget(pair_id)
        self._pairs.delete(pair_id)
