"""Where an edit may write: the paint policy, and the argument checks every edit op shares.

A policy is evaluated on the *current* value of each pixel through a 256-entry lookup table, so
``policy.allowed(region)`` is one numpy indexing operation whatever the mode.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from engine.taxonomy import CLASS_NAMES, IGNORE

MODES = ("everywhere", "over_class", "over_unlabelled")


@dataclass(frozen=True)
class PaintPolicy:
    """Which existing pixels an edit may overwrite.

    mode:
        ``"everywhere"`` (any pixel), ``"over_class"`` (only pixels of class ``target``; the UI's
        "only over background class" passes the chosen background here) or ``"over_unlabelled"``
        (only pixels that are 255).
    target:
        the class for ``"over_class"``.
    locked:
        classes never overwritten, in every mode.
    """

    mode: str = "everywhere"
    target: int | None = None
    locked: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown paint mode {self.mode!r}; use one of {', '.join(MODES)}")
        if self.mode == "over_class":
            if self.target is None:
                raise ValueError('paint mode "over_class" needs a target class (PaintPolicy(target=...))')
            check_value(self.target, "target class")
        if not isinstance(self.locked, frozenset):
            object.__setattr__(self, "locked", frozenset(self.locked))
        for c in self.locked:
            check_value(c, "locked class")

    @cached_property
    def lut(self) -> np.ndarray:
        """256-entry bool table: may a pixel holding this value be overwritten?"""
        if self.mode == "everywhere":
            table = np.ones(256, dtype=bool)
        else:
            table = np.zeros(256, dtype=bool)
            table[IGNORE if self.mode == "over_unlabelled" else self.target] = True
        if self.locked:
            table[list(self.locked)] = False
        table.setflags(write=False)
        return table

    @property
    def allows_everything(self) -> bool:
        """True when the policy never forbids a pixel (lets ops skip the table lookup)."""
        return bool(self.lut.all())

    def allows(self, value: int) -> bool:
        """May a pixel that currently holds `value` be overwritten?"""
        return bool(self.lut[int(value)])

    def allowed(self, region: np.ndarray) -> np.ndarray:
        """Bool array, same shape as the uint8 `region`: True where the policy lets an edit write."""
        return self.lut[region]


def check_label(label: np.ndarray) -> None:
    """Raise a clear error unless `label` is an editable HxW uint8 array."""
    if not isinstance(label, np.ndarray):
        raise TypeError(f"label must be a numpy array, got {type(label).__name__}")
    if label.ndim != 2 or label.dtype != np.uint8:
        raise ValueError(f"label must be a 2-D uint8 array (H, W), got shape {label.shape} dtype {label.dtype}")
    if not label.flags.writeable:
        raise ValueError("label is read-only; edits change it in place (pass a writable copy)")


def check_value(value: int, what: str = "value") -> int:
    """Return `value` as int if it fits in a uint8 label, else raise ValueError."""
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be an integer class ID 0..255, got {value!r}") from None
    if v != value or not 0 <= v <= 255:
        raise ValueError(f"{what} must be a class ID 0..35 or 255 (unlabelled), got {value!r}")
    return v


def class_name(value: int) -> str:
    """Human name of a label value for undo descriptions ("Iris", "Unlabelled", "Class 40")."""
    if value == IGNORE:
        return "Unlabelled"
    if 0 <= value < len(CLASS_NAMES):
        return CLASS_NAMES[value]
    return f"Class {value}"
