"""Which instruments the phantom draws and how often.

A video walks through the steps of a cataract operation in order (incision, viscoelastic, capsulorhexis,
hydrodissection, phaco, cortex removal, lens implantation, ...), each step with its typical main instrument
and often the micromanipulator through the side port. Common classes (phaco, micromanipulator, I/A,
cannulas) appear in many phases, rare ones (Mendez ring, iris hooks, suture needle, cotton, marker,
vitrector) are seldom added, as in CaDIS.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.taxonomy import HANDLE_OF


@dataclass(frozen=True)
class InstrumentSpec:
    """How one instrument class is drawn and placed."""

    cls: int
    kind: str        # drawing routine: cannula, cystotome, micro, knife, phaco, ia, injector, forceps, ...
    placement: str   # chamber (tip inside the pupil), incision (tip near the limbus), surface, special
    bend: bool = False

    @property
    def handle(self) -> int | None:
        """The separate handle class, or None when the handle belongs to the instrument's own class."""
        return HANDLE_OF.get(self.cls)


_SPEC_LIST = [
    InstrumentSpec(7, "cannula", "chamber", bend=True),       # hydrodissection cannula
    InstrumentSpec(8, "cannula", "chamber", bend=True),       # viscoelastic cannula
    InstrumentSpec(9, "cystotome", "chamber", bend=True),
    InstrumentSpec(10, "cannula", "chamber", bend=True),      # Rycroft cannula
    InstrumentSpec(11, "forceps", "surface"),                 # Bonn forceps
    InstrumentSpec(12, "knife", "incision"),                  # primary knife
    InstrumentSpec(13, "phaco", "chamber"),
    InstrumentSpec(14, "injector", "incision"),
    InstrumentSpec(15, "ia", "chamber"),
    InstrumentSpec(16, "knife", "incision"),                  # secondary knife
    InstrumentSpec(17, "micro", "chamber", bend=True),
    InstrumentSpec(19, "forceps", "chamber"),                 # capsulorhexis forceps
    InstrumentSpec(25, "suture", "surface"),
    InstrumentSpec(26, "forceps", "surface"),                 # needle holder
    InstrumentSpec(27, "cannula", "chamber", bend=True),      # Charleux cannula
    InstrumentSpec(29, "vitrector", "chamber"),
    InstrumentSpec(30, "ring", "special"),                    # Mendez ring
    InstrumentSpec(31, "marker", "surface"),
    InstrumentSpec(33, "forceps", "surface"),                 # Troutman forceps
    InstrumentSpec(34, "cotton", "surface"),
    InstrumentSpec(35, "hooks", "special"),                   # iris hooks
]
SPECS: dict[int, InstrumentSpec] = {s.cls: s for s in _SPEC_LIST}
DRAWN_CLASSES: tuple[int, ...] = tuple(sorted(SPECS))


@dataclass(frozen=True)
class SurgicalStep:
    """One step of the operation: main-incision instruments and side-port instruments (None = nothing)."""

    name: str
    main: dict[int, float]
    side: dict[int | None, float]
    stay: float  # chance that the next phase is still this step (long steps such as phaco stay longer)


STEPS: dict[str, SurgicalStep] = {s.name: s for s in (
    SurgicalStep("incision", {12: 3, 16: 2}, {None: 3, 11: 1, 17: 1, 33: 0.4}, 0.25),
    SurgicalStep("viscoelastic", {8: 1}, {None: 2, 17: 1}, 0.25),
    SurgicalStep("capsulorhexis", {9: 3, 19: 3}, {None: 1, 17: 2, 11: 0.3}, 0.45),
    SurgicalStep("hydrodissection", {7: 1}, {None: 1.5, 17: 1}, 0.3),
    SurgicalStep("phaco", {13: 1}, {17: 4, None: 1}, 0.7),
    SurgicalStep("cortex", {15: 1}, {17: 1, None: 1}, 0.45),
    SurgicalStep("lens", {14: 1}, {17: 1.5, None: 1}, 0.3),
    SurgicalStep("hydration", {10: 3, 27: 1}, {None: 1, 17: 0.5}, 0.25),
)}
ORDER = ("incision", "viscoelastic", "capsulorhexis", "hydrodissection", "phaco", "cortex", "viscoelastic",
         "lens", "cortex", "hydration")
# Rare instruments, added to a phase now and then (as a third instrument).
EXTRAS: dict[int, float] = {29: 0.7, 30: 0.4, 31: 0.5, 34: 0.6, 35: 0.4, 25: 0.6, 26: 0.6, 33: 0.5, 11: 0.5}
EXTRA_CHANCE = 0.12


def _weighted(rng: np.random.Generator, table: dict) -> object:
    keys = list(table)
    w = np.array([table[k] for k in keys], np.float64)
    return keys[int(rng.choice(len(keys), p=w / w.sum()))]


def step_sequence(rng: np.random.Generator, phases: int) -> list[str]:
    """The step of each phase of a video: it joins the operation at a random step and goes on in order."""
    pos = int(rng.integers(len(ORDER)))
    seq = []
    for _ in range(phases):
        seq.append(ORDER[pos])
        if rng.random() >= STEPS[ORDER[pos]].stay:
            pos = (pos + 1) % len(ORDER)
    return seq


def pick_instruments(rng: np.random.Generator, step: str) -> list[int]:
    """1-3 distinct instrument classes for one phase of `step`: main, maybe a side-port one, rarely an extra."""
    spec = STEPS[step]
    chosen = [int(_weighted(rng, spec.main))]
    side = _weighted(rng, spec.side)
    if side is not None:
        chosen.append(int(side))
    if rng.random() < EXTRA_CHANCE or len(chosen) == 1 and rng.random() < EXTRA_CHANCE:
        extra = int(_weighted(rng, EXTRAS))
        if extra not in chosen:
            chosen.append(extra)
    if 25 in chosen and 26 in chosen:  # the suture routine already draws the needle in a needle holder
        chosen.remove(26)
    return chosen[:3]
