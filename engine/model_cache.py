"""One loaded model kept between jobs, reloaded only when what it was loaded from changes (Qt-free)."""
from __future__ import annotations

import threading
from typing import Any, Callable, Hashable, Optional


class ModelCache:
    """One loaded model object at a time, keyed (e.g. by folder, weights time and device).

    `use(key, load, fn)` runs `fn(obj)`, loading with `load()` when the key changed. Exclusive (the default):
    `fn` runs under the lock, so jobs never run the same object concurrently (for objects with per-call
    state); a stale job holds the lock only until its next cancellation check. Not exclusive: the lock
    covers only the look-up and the load, and `fn` runs on its own reference, so a long job never blocks
    another user of the cache (for objects whose calls are independent, such as the synthesis pipelines)."""

    def __init__(self, exclusive: bool = True) -> None:
        self._lock = threading.Lock()
        self._key: Optional[Hashable] = None
        self._obj: Any = None
        self.exclusive = exclusive

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The object for `key`, loaded (under the lock) when the key changed."""
        with self._lock:
            if self._key != key or self._obj is None:
                self._obj, self._key = None, None
                self._obj = load()
                self._key = key
            return self._obj

    def use(self, key: Hashable, load: Callable[[], Any], fn: Callable[[Any], Any]) -> Any:
        if not self.exclusive:
            return fn(self.get(key, load))
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
