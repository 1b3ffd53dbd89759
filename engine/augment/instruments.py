"""Finding instruments in a CaDIS label, and the anatomy hidden under them.

An *instrument* is a connected group of instrument-class pixels: the connected components (8-neighbour)
of a tip class together with the components of its handle class (`engine.taxonomy.HANDLE_OF`) that touch
them. A handle whose tip is not visible is an instrument of its own (`handle_only`). Each instrument knows
its tip point (the tip-class pixel farthest from where the instrument enters: the frame border it touches,
or its handle) so layout operations can keep tips over the eye.

`fill_vacated` gives pixels an instrument left behind plausible anatomy: inside the convex hull of the
visible pupil they become pupil, inside the hull of pupil + iris they become iris, elsewhere the nearest
other anatomy class (a distance transform per class). Pupil therefore never grows outside the iris.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from engine.taxonomy import ANATOMY_IDS, HANDLE_OF, IGNORE, INSTRUMENT_IDS

PUPIL, IRIS, CORNEA = 0, 4, 6
EYE_IDS = (PUPIL, IRIS, CORNEA)
HANDLE_IDS = frozenset(HANDLE_OF.values())
TIP_OF = {h: t for t, h in HANDLE_OF.items()}
_INSTRUMENT_LUT = np.zeros(256, bool)
_INSTRUMENT_LUT[list(INSTRUMENT_IDS)] = True
_ANATOMY_LUT = np.zeros(256, bool)
_ANATOMY_LUT[list(ANATOMY_IDS)] = True


def instrument_mask(label: np.ndarray) -> np.ndarray:
    """HxW bool: pixels of any instrument class (7..35)."""
    return _INSTRUMENT_LUT[label]


def anatomy_mask(label: np.ndarray) -> np.ndarray:
    """HxW bool: pixels of an anatomy class (0..6)."""
    return _ANATOMY_LUT[label]


@dataclass(frozen=True)
class Instrument:
    """One instrument of a label. `mask` is HxW bool over the whole frame; points are (x, y)."""

    tip_class: int
    classes: tuple[int, ...]
    mask: np.ndarray = field(repr=False, compare=False)
    tip: tuple[float, float]
    anchor: tuple[float, float] | None
    touches_border: bool
    area: int

    @property
    def handle_only(self) -> bool:
        """True when only a handle is visible (its tip is hidden or outside the frame)."""
        return self.tip_class in HANDLE_IDS

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1), inclusive."""
        ys, xs = np.nonzero(self.mask)
        return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())

    def describe(self) -> dict:
        """JSON-ready summary for provenance."""
        return {"tip_class": self.tip_class, "classes": list(self.classes), "area": self.area,
                "tip": [round(self.tip[0], 1), round(self.tip[1], 1)]}


def _components(binary: np.ndarray, min_area: int) -> list[np.ndarray]:
    n, comp, stats, _ = cv2.connectedComponentsWithStats(binary.astype(np.uint8), connectivity=8)
    return [comp == i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= min_area]


def _touch(a: np.ndarray, b: np.ndarray) -> bool:
    grown = cv2.dilate(a.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return bool((grown & b).any())


def border_pixels(mask: np.ndarray, width: int = 1) -> np.ndarray:
    """The part of `mask` lying within `width` pixels of the frame border."""
    edge = np.zeros_like(mask, dtype=bool)
    edge[:width, :] = edge[-width:, :] = True
    edge[:, :width] = edge[:, -width:] = True
    return mask & edge


def _centroid(mask: np.ndarray) -> tuple[float, float]:
    ys, xs = np.nonzero(mask)
    return float(xs.mean()), float(ys.mean())


def _tip_point(label: np.ndarray, mask: np.ndarray, tip_class: int) -> tuple[tuple[float, float], tuple | None, bool]:
    edge = border_pixels(mask, 2)
    touches = bool(edge.any())
    handle = mask & np.isin(label, list(HANDLE_IDS)) if tip_class not in HANDLE_IDS else np.zeros_like(mask)
    if touches:
        anchor = _centroid(edge)
    elif handle.any():
        anchor = _centroid(handle)
    else:
        anchor = None
    tip_pixels = mask & (label == tip_class)
    ys, xs = np.nonzero(tip_pixels)
    if anchor is None:
        return (float(xs.mean()), float(ys.mean())), None, touches
    d = (xs - anchor[0]) ** 2 + (ys - anchor[1]) ** 2
    i = int(np.argmax(d))
    return (float(xs[i]), float(ys[i])), anchor, touches


def find_instruments(label: np.ndarray, min_area: int = 8) -> list[Instrument]:
    """All instruments of a label (largest first). Components under `min_area` pixels are ignored."""
    if label.ndim != 2 or label.dtype != np.uint8:
        raise ValueError(f"a label is an HxW uint8 array of CaDIS IDs, got {label.dtype} {label.shape}")
    present = [int(c) for c in np.unique(label) if _INSTRUMENT_LUT[c]]
    nodes: list[tuple[int, np.ndarray]] = []
    for c in present:
        nodes += [(c, m) for m in _components(label == c, min_area)]
    parent = list(range(len(nodes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (ci, mi) in enumerate(nodes):
        handle = HANDLE_OF.get(ci)
        if handle is None:
            continue
        for j, (cj, mj) in enumerate(nodes):
            if cj == handle and _touch(mi, mj):
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(nodes)):
        groups.setdefault(root(i), []).append(i)
    found = []
    for members in groups.values():
        mask = np.zeros(label.shape, bool)
        classes: list[int] = []
        for i in members:
            mask |= nodes[i][1]
            if nodes[i][0] not in classes:
                classes.append(nodes[i][0])
        tips = [c for c in classes if c not in HANDLE_IDS]
        tip_class = tips[0] if tips else classes[0]
        classes = [tip_class] + [c for c in classes if c != tip_class]
        tip, anchor, touches = _tip_point(label, mask, tip_class)
        found.append(Instrument(tip_class, tuple(classes), mask, tip, anchor, touches, int(mask.sum())))
    found.sort(key=lambda inst: (-inst.area, inst.tip_class, inst.tip))
    return found


# ------------------------------------------------------------------------------------------------ filling
def _hull(mask: np.ndarray) -> np.ndarray:
    """Filled convex hull of a bool mask (all False when the mask is empty)."""
    out = np.zeros(mask.shape, np.uint8)
    pts = cv2.findNonZero(mask.astype(np.uint8))
    if pts is not None and len(pts) >= 3:
        cv2.fillConvexPoly(out, cv2.convexHull(pts), 1)
    elif pts is not None:
        out[mask] = 1
    return out.astype(bool) | mask


def nearest_class(label: np.ndarray, sources: np.ndarray, classes) -> np.ndarray:
    """HxW uint8: for every pixel, the class of the nearest `sources` pixel among `classes` (ties go to the
    lower class ID). Pixels are IGNORE where no source exists."""
    best = np.full(label.shape, np.inf, np.float32)
    out = np.full(label.shape, IGNORE, np.uint8)
    for c in sorted(classes):
        src = sources & (label == c)
        if not src.any():
            continue
        dist = cv2.distanceTransform((~src).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        closer = dist < best
        best[closer] = dist[closer]
        out[closer] = c
    return out


def fill_vacated(label: np.ndarray, vacated: np.ndarray) -> np.ndarray:
    """A copy of `label` whose `vacated` pixels hold plausible anatomy; every other pixel is unchanged.

    Pupil inside the convex hull of the visible pupil, iris inside the hull of pupil + iris, elsewhere the
    nearest anatomy class other than pupil and iris. Without any anatomy to copy the pixels become IGNORE.
    """
    out = label.copy()
    if not vacated.any():
        return out
    visible = anatomy_mask(label) & ~vacated
    if not visible.any():
        out[vacated] = IGNORE
        return out
    pupil_hull = _hull(visible & (label == PUPIL))
    eye_hull = _hull(visible & ((label == PUPIL) | (label == IRIS)))
    out[vacated & pupil_hull] = PUPIL
    out[vacated & eye_hull & ~pupil_hull] = IRIS
    rest = vacated & ~eye_hull
    if rest.any():
        others = [c for c in ANATOMY_IDS if c not in (PUPIL, IRIS)]
        sources = visible & np.isin(label, others)
        fill = nearest_class(label, sources if sources.any() else visible,
                             others if sources.any() else ANATOMY_IDS)
        out[rest] = fill[rest]
    return out


def anatomy_under(label: np.ndarray) -> np.ndarray:
    """The label with every instrument pixel replaced by the anatomy most likely hidden under it."""
    return fill_vacated(label, instrument_mask(label))


def pupil_leaks(label: np.ndarray) -> int:
    """Pupil pixels that touch (4-neighbour) anatomy other than pupil or iris: 0 when the pupil lies inside
    the iris (instruments and IGNORE may touch it)."""
    pupil = (label == PUPIL).astype(np.uint8)
    if not pupil.any():
        return 0
    bad = (anatomy_mask(label) & (label != PUPIL) & (label != IRIS)).astype(np.uint8)
    cross = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.uint8)
    near_bad = cv2.dilate(bad, cross).astype(bool)
    return int((pupil.astype(bool) & near_bad).sum())


def point_over_eye(anatomy: np.ndarray, point: tuple[float, float]) -> bool:
    """True when `point` (x, y) lies in the frame over cornea, iris or pupil of the anatomy layer."""
    x, y = int(round(point[0])), int(round(point[1]))
    h, w = anatomy.shape
    return 0 <= x < w and 0 <= y < h and int(anatomy[y, x]) in EYE_IDS
