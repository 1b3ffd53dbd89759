"""The project store: edited labels, review statuses, notes, the edit journal and synthetic pairs, kept in a
folder next to the (never written) dataset. See engine/project/store.py for the layout."""
from engine.project.errors import ProjectError
from engine.project.journal import Journal, JournalEntry
from engine.project.locate import PROJECT_SUFFIX, default_project_dir, is_project_dir
from engine.project.pairs import PAIR_STATUSES, PairRecord
from engine.project.paths import check_relpath, resolve_inside
from engine.project.store import STATUSES, UNFINISHED, Project

__all__ = [
    "STATUSES", "UNFINISHED", "PAIR_STATUSES", "Project", "ProjectError", "PairRecord", "Journal", "JournalEntry",
    "PROJECT_SUFFIX", "default_project_dir", "is_project_dir", "check_relpath", "resolve_inside",
]
