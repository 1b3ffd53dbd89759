"""The two things a label session edits: a frame of a project and a synthetic pair of a project."""
from __future__ import annotations

import numpy as np

from engine.edits import UndoRecord


class FrameTarget:
    """A project frame: strokes go to the project journal, saves to the project's labels."""

    def __init__(self, project, key: str):
        self.project, self.key, self.name = project, key, key

    def journal(self, rec: UndoRecord) -> None:
        if not self.project.read_only:  # a read-only project (another writer has it) keeps nothing
            self.project.journal_append(self.key, rec)

    def save(self, label: np.ndarray) -> None:
        self.project.save_label(self.key, label)


class PairTarget:
    """A synthetic pair: strokes go to the pair's journal, saves replace its label (the image stays)."""

    def __init__(self, project, pair_id: int):
        self.project, self.pair_id, self.name = project, int(pair_id), f"pair #{int(pair_id)}"

    def journal(self, rec: UndoRecord) -> None:
        if not self.project.read_only:
            self.project.pair_journal_append(self.pair_id, rec)

    def save(self, label: np.ndarray) -> None:
        self.project.save_pair_label(self.pair_id, label)
