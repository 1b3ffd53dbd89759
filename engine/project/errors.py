"""The one error type of the project store: its message says what went wrong and what to do."""
from __future__ import annotations


class ProjectError(ValueError):
    """A project could not be opened or an operation on it was refused; the message is meant for the user."""


class ProjectDamagedError(ProjectError):
    """The project database is empty, corrupt or not a project database. Nothing was changed; the message
    says what was found and how to rebuild it (`engine.project.rebuild.rebuild_database`)."""

    def __init__(self, db_path, reason: str):
        from pathlib import Path

        self.db_path = Path(db_path)
        self.project_dir = self.db_path.parent
        self.reason = reason
        super().__init__(
            f"the project database {self.db_path} is damaged or not a project database ({reason}); nothing was "
            "changed. It can be rebuilt "
            "from the saved label PNGs and the edit journal (statuses and notes are kept where they can still be "
            f"read; the damaged file is kept beside it): `cadis rebuild-project {self.project_dir}`")
