"""One loaded model kept between jobs, reloaded only when what it was loaded from changes (Qt-free)."""
from __future__ import annotations

import threading
from typing import Any, Callable, Hashable, Optional


class ModelCache:
    """One loaded model object at a time, keyed (e.g. by folder, weights time and device).

    `use(key, load, fn)` runs `fn(obj)` under a lock, loading with `load()` when the key changed. Jobs of
    one group therefore never run the same model concurrently: a stale job holds the lock only until its
    next cancellation check."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: Optional[Hashable] = None
        self._obj: Any = None

    def use(self, key: Hashable, load: Callable[[], Any], fn: Callable[[Any], Any]) -> Any:
        with self._lock:
            if self._key != key or self._obj is None:
                self._obj, self._key = None, None
                self._obj = load()
                self._key = key
            return fn(self._obj)

    def peek(self) -> Any:
        """The loaded object (None before the first load); for tests and status lines."""
        return self._obj

    def clear(self) -> None:
        with self._lock:
            self._obj, self._key = None, None
