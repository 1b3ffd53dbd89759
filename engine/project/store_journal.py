"""The stroke-journal part of `engine.project.Project`: journalling finished strokes and recovering the ones a
crash left unsaved.

A mixin of `Project` (which sets `_journal`, `_revs`, `_keyset`, `_lock`, `record`, `load_label` and `_writable`).
"""
from __future__ import annotations

import numpy as np

from engine.project.errors import ProjectError
from engine.project.journal import JournalEntry


class ProjectJournal:
    last_recovery: tuple[int, int] = (0, 0)  # (strokes replayed, strokes skipped) of the last recovery

    def _is_live(self, entry: JournalEntry) -> bool:
        return entry.base_rev == self._revs.get(entry.key, 0)

    def journal_append(self, key: str, record) -> None:
        """Append one finished stroke (an engine.edits.UndoRecord) to the journal; written before returning."""
        self._writable("record a stroke")
        self.record(key)
        data = record.to_bytes()
        with self._lock:
            self._journal.append(JournalEntry(key, self._revs.get(key, 0), bytes(data)))

    @property
    def journal_dropped_strokes(self) -> int:
        """How many strokes the journal's repair on opening cut off with a torn or damaged tail (0: none)."""
        return self._journal.dropped_strokes

    @property
    def journal_damage(self) -> str | None:
        """What that repair cut, in words for the user; None when the journal was whole."""
        return self._journal.damage_message()

    def pending_recovery(self) -> dict[str, int]:
        """Frame key -> number of journal strokes drawn since that frame's label was last saved."""
        counts: dict[str, int] = {}
        with self._lock:
            for e in self._journal.entries():
                if self._is_live(e) and e.key in self._keyset:
                    counts[e.key] = counts.get(e.key, 0) + 1
        return counts

    def recover(self, key: str) -> np.ndarray:
        """The saved label of `key` with its unsaved journal strokes re-applied (nothing is written). A stroke
        that cannot be replayed is skipped, the others are applied; `last_recovery` holds (replayed, skipped)."""
        return self.recover_counted(key)[0]

    def recover_counted(self, key: str) -> tuple[np.ndarray, int, int]:
        """(label, strokes replayed, strokes skipped as unreadable) of a recovery of `key`."""
        from engine.edits import UndoRecord  # the edit ops own the record format

        label = self.load_label(key).copy()
        with self._lock:
            entries = [e for e in self._journal.entries() if e.key == key and self._is_live(e)]
        replayed = skipped = 0
        reason = ""
        for e in entries:
            try:
                result = UndoRecord.from_bytes(e.data).redo(label)
            except (ValueError, IndexError) as exc:  # one unreadable stroke does not cost the frame the others
                skipped += 1
                reason = reason or str(exc)
                continue
            replayed += 1
            if isinstance(result, np.ndarray):
                label = result
        if skipped and not replayed:
            raise ProjectError(f"the journal strokes of {key} cannot be replayed ({reason}); discard the recovery")
        self.last_recovery = (replayed, skipped)
        return label, replayed, skipped

    def discard_recovery(self, key: str | None = None) -> None:
        """Forget the unsaved strokes of one frame (or of all frames)."""
        self._writable("discard strokes")
        with self._lock:
            if key is None:
                self._journal.keep(lambda e: False)
            else:
                self._journal.keep(lambda e: e.key != key and self._is_live(e))
