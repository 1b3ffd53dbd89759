"""UndoStack: per-frame undo/redo history with step and memory limits.

Small records are kept as they are; records over ``compress_over`` bytes are kept as their compact
``to_bytes`` form (a long thin stroke has a big box but almost nothing changed in it), so the memory
the history holds follows the amount of change. When a limit is passed the oldest steps are dropped;
the newest step is always kept.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from engine.edits.record import UndoRecord

COMPRESS_OVER = 64 * 1024


@dataclass
class _Entry:
    record: UndoRecord | None
    blob: bytes | None

    @classmethod
    def store(cls, rec: UndoRecord, compress_over: int) -> "_Entry":
        if rec.nbytes > compress_over:
            return cls(None, rec.to_bytes())
        return cls(rec, None)

    def load(self) -> UndoRecord:
        return self.record if self.record is not None else UndoRecord.from_bytes(self.blob)  # type: ignore[arg-type]

    @property
    def nbytes(self) -> int:
        return self.record.nbytes if self.record is not None else len(self.blob)  # type: ignore[arg-type]


class UndoStack:
    """Undo/redo history of one frame's label."""

    def __init__(self, max_steps: int = 500, max_bytes: int = 256 * 2**20,
                 compress_over: int = COMPRESS_OVER) -> None:
        if max_steps < 1 or max_bytes < 1:
            raise ValueError("max_steps and max_bytes must be at least 1")
        self.max_steps = int(max_steps)
        self.max_bytes = int(max_bytes)
        self.compress_over = int(compress_over)
        self._undo: deque[_Entry] = deque()
        self._redo: list[_Entry] = []
        self._nbytes = 0

    def push(self, rec: UndoRecord | None) -> None:
        """Add a done edit (None is ignored, so ops' results can be pushed directly); clears redo."""
        if rec is None:
            return
        for e in self._redo:
            self._nbytes -= e.nbytes
        self._redo.clear()
        entry = _Entry.store(rec, self.compress_over)
        self._undo.append(entry)
        self._nbytes += entry.nbytes
        while len(self._undo) > 1 and (len(self._undo) > self.max_steps or self._nbytes > self.max_bytes):
            self._nbytes -= self._undo.popleft().nbytes

    def undo(self, label: np.ndarray) -> UndoRecord | None:
        """Revert the newest step in `label`; returns its record (for the dirty rect) or None."""
        if not self._undo:
            return None
        entry = self._undo[-1]
        rec = entry.load()
        rec.undo(label)  # raises (stack unchanged) if the label is not this frame's
        self._undo.pop()
        self._redo.append(entry)
        return rec

    def redo(self, label: np.ndarray) -> UndoRecord | None:
        """Re-apply the newest undone step in `label`; returns its record or None."""
        if not self._redo:
            return None
        entry = self._redo[-1]
        rec = entry.load()
        rec.redo(label)  # raises (stack unchanged) if the label is not this frame's
        self._redo.pop()
        self._undo.append(entry)
        return rec

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_description(self) -> str:
        """Description of the step `undo` would revert ("" if none)."""
        return self._undo[-1].load().description if self._undo else ""

    @property
    def redo_description(self) -> str:
        """Description of the step `redo` would re-apply ("" if none)."""
        return self._redo[-1].load().description if self._redo else ""

    @property
    def nbytes(self) -> int:
        """Bytes held by all undo and redo steps."""
        return self._nbytes

    @property
    def redo_len(self) -> int:
        return len(self._redo)

    def __len__(self) -> int:
        """Number of steps that can be undone."""
        return len(self._undo)

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
        self._nbytes = 0
