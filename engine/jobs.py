"""One job mechanism for everything long.

An engine job is a plain function that accepts `progress(fraction, message)` and `cancelled()` callbacks
(both optional) and returns a result or raises. The CLI drives it with a tqdm bar, the desktop with a
worker thread. Nothing here knows about Qt.
"""
from __future__ import annotations

from typing import Callable, Optional

ProgressFn = Callable[[float, str], None]
CancelledFn = Callable[[], bool]


class JobCancelled(Exception):
    """Raised inside a job when the user cancelled it; callers treat it as a clean stop, not an error."""


class JobContext:
    """Bundles the two callbacks; `check()` raises JobCancelled when the job was cancelled."""

    def __init__(self, progress: Optional[ProgressFn] = None, cancelled: Optional[CancelledFn] = None):
        self._progress = progress
        self._cancelled = cancelled

    def report(self, fraction: float, message: str = "") -> None:
        if self._progress is not None:
            self._progress(max(0.0, min(1.0, float(fraction))), message)

    def is_cancelled(self) -> bool:
        return bool(self._cancelled and self._cancelled())

    def check(self) -> None:
        if self.is_cancelled():
            raise JobCancelled("cancelled by the user")

    def sub(self, start: float, end: float) -> "JobContext":
        """A context whose 0..1 progress maps onto [start, end] of this one."""
        return JobContext(lambda f, m: self.report(start + (end - start) * f, m), self._cancelled)


def as_context(progress: Optional[ProgressFn] = None, cancelled: Optional[CancelledFn] = None,
               ctx: Optional[JobContext] = None) -> JobContext:
    return ctx if ctx is not None else JobContext(progress, cancelled)
