"""The one error type of the project store: its message says what went wrong and what to do."""
from __future__ import annotations


class ProjectError(ValueError):
    """A project could not be opened or an operation on it was refused; the message is meant for the user."""
