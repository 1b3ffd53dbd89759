"""A guard for tests that put a FIFO where a file is read: on code that opens it blocking (the bug under test),
the reader would wait forever; `unblock_after` writes nothing and closes the FIFO after a while, so that such
a reader gets end-of-file and the test fails instead of hanging the run."""
from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path


def unblock_after(fifo: Path, seconds: float = 15.0) -> threading.Event:
    """Start a daemon thread that, after `seconds`, opens `fifo` for writing whenever a reader waits on it
    and closes it at once (until the returned event is set)."""
    done = threading.Event()

    def run():
        if done.wait(seconds):
            return
        while not done.is_set():
            with contextlib.suppress(OSError):  # ENXIO: no reader yet
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            time.sleep(0.05)

    threading.Thread(target=run, name="fifo-unblock", daemon=True).start()
    return done
