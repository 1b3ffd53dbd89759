"""What a person gives a segment-anything model: points (positive or negative), a box, a region of a class.

Coordinates are frame pixels (x, y); a point means the pixel's centre. `parse_point` / `parse_box` read the
CLI's "X,Y[,+|-]" and "X0,Y0,X1,Y1".
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Prompt:
    """Points [(x, y, positive)], an optional box (x0, y0, x1, y1) and an optional HxW bool region."""

    points: tuple[tuple[int, int, bool], ...] = ()
    box: tuple[int, int, int, int] | None = None
    region: np.ndarray | None = field(default=None, compare=False)

    def is_empty(self) -> bool:
        return not self.points and self.box is None and self.region is None

    def check(self, h: int, w: int) -> None:
        """Raise ValueError (one line) for a prompt outside a frame of `h` x `w`."""
        if self.is_empty():
            raise ValueError("give at least one point, a box or a region to segment")
        for x, y, _ in self.points:
            if not (0 <= x < w and 0 <= y < h):
                raise ValueError(f"point {x},{y} is outside the {w}x{h} frame")
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
                raise ValueError(f"box {x0},{y0},{x1},{y1} is not inside the {w}x{h} frame with x0 < x1 and y0 < y1")
        if self.region is not None:
            if self.region.shape != (h, w) or self.region.dtype != bool:
                raise ValueError(f"the region prompt should be a {w}x{h} bool mask")
            if not self.region.any():
                raise ValueError("the region prompt is empty")

    def with_point(self, x: int, y: int, positive: bool) -> "Prompt":
        return Prompt(self.points + ((int(x), int(y), bool(positive)),), self.box, self.region)


def parse_point(text: str) -> tuple[int, int, bool]:
    """"X,Y" or "X,Y,+" (positive) / "X,Y,-" (negative) -> (x, y, positive)."""
    parts = [p.strip() for p in str(text).split(",")]
    sign = parts.pop() if len(parts) == 3 else "+"
    if len(parts) != 2 or sign not in ("+", "-", "1", "0") or not all(_is_int(p) for p in parts):
        raise ValueError(f"--point {text!r}: write X,Y or X,Y,+ / X,Y,- with whole pixel numbers")
    return int(parts[0]), int(parts[1]), sign in ("+", "1")


def parse_box(text: str) -> tuple[int, int, int, int]:
    """"X0,Y0,X1,Y1" -> the box (exclusive ends)."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 4 or not all(_is_int(p) for p in parts):
        raise ValueError(f"--box {text!r}: write X0,Y0,X1,Y1 with whole pixel numbers")
    x0, y0, x1, y1 = map(int, parts)
    return x0, y0, x1, y1


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit() and len(text) <= 7
