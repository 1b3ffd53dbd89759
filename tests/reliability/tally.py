"""Counters the reliability tests add to (fuzz cases tried, soak operations, kills survived ...).

`tests/reliability/conftest.py` prints them at the end of the session, so CI output reports the figures.
Always import this module as `tests.reliability.tally` so every test shares one set of counters.
"""
from __future__ import annotations

from collections import Counter

COUNTS: Counter[str] = Counter()

# Order and wording of the summary line; other names are printed after these.
LABELS = {
    "fuzz_cases": "fuzz cases tried",
    "fuzz_refused": "of them refused with a clear error",
    "soak_ops": "soak edit operations",
    "soak_undo_redo": "soak undo/redo steps",
    "disk_full_cases": "disk-full writes simulated",
    "kills_survived": "app kills survived",
    "strokes_recovered": "strokes recovered after kills",
    "job_faults": "job faults injected",
    "lock_refusals": "second writers refused",
    "export_kills": "export kills cleaned up after",
    "rebuild_kills": "rebuild kills survived",
    "losses": "losses (failed reliability tests)",
}


def add(name: str, n: int = 1) -> None:
    """Add `n` to the counter `name`."""
    COUNTS[name] += n


def summary() -> str:
    """One line: 'fuzz cases tried 1234, soak edit operations 5000, ...' (only counters that moved)."""
    names = [k for k in LABELS if k in COUNTS] + sorted(k for k in COUNTS if k not in LABELS)
    if not names:
        return ""
    if "losses" not in COUNTS:
        names.append("losses")
    return ", ".join(f"{LABELS.get(k, k)} {COUNTS.get(k, 0)}" for k in names)
