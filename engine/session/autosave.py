"""When to save without being asked: `delay_ms` after the last edit, never while nothing is unsaved.

The policy decides; the front end owns the clock (the desktop uses a single-shot QTimer, a script may call
`due` with its own time)."""
from __future__ import annotations

import time
from typing import Optional


class AutosavePolicy:
    """Save `delay_ms` after the last edit (every edit restarts the wait); `delay_ms <= 0` disables it."""

    def __init__(self, delay_ms: int = 3000):
        self.delay_ms = int(delay_ms)
        self._since: Optional[float] = None  # monotonic time of the last edit not yet saved

    @property
    def enabled(self) -> bool:
        return self.delay_ms > 0

    @property
    def pending(self) -> bool:
        return self._since is not None

    def edited(self, now: Optional[float] = None) -> bool:
        """An edit happened; True when an autosave should now be (re)scheduled."""
        self._since = time.monotonic() if now is None else now
        return self.enabled

    def saved(self) -> None:
        """Nothing is unsaved any more (saved, or the frame/pair was closed)."""
        self._since = None

    def due(self, now: Optional[float] = None) -> bool:
        """True when an edit is unsaved and `delay_ms` passed since the last one."""
        if not self.enabled or self._since is None:
            return False
        now = time.monotonic() if now is None else now
        return (now - self._since) * 1000.0 >= self.delay_ms
