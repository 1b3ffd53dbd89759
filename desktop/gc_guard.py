"""Python's cycle collector runs only in the GUI thread.

Left automatic, the collector runs in whichever thread happens to allocate when a threshold is crossed; a
worker thread building a model then destroys Qt widgets that were part of unreachable cycles, outside the
GUI thread, and the app crashes (seen as a segfault inside `torch.nn.Module.__init__` on a worker). So
automatic collection is switched off and a timer in the GUI thread collects the generations whose counters
crossed their thresholds, as the automatic collector would have."""
from __future__ import annotations

import gc

INTERVAL_MS = 500


def collect_due() -> int:
    """Collect the oldest generation whose allocation counter passed its threshold (none: 0 objects)."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    for generation in (2, 1, 0):
        if thresholds[generation] and counts[generation] > thresholds[generation]:
            return gc.collect(generation)
    return 0


def install_main_thread_gc(app) -> None:
    """Switch automatic collection off and collect from a GUI-thread timer owned by `app` (idempotent)."""
    from PySide6.QtCore import QTimer

    gc.disable()
    if getattr(app, "_cadis_gc_timer", None) is not None:
        return
    timer = QTimer(app)
    timer.setInterval(INTERVAL_MS)
    timer.timeout.connect(collect_due)
    timer.start()
    app._cadis_gc_timer = timer
