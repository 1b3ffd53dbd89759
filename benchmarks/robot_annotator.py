"""A robot annotator that corrects a starting label the way a person does, with the app's own edit ops.

    result = correct(start, truth, target=0.98)   # RobotResult: actions, painted pixels, by tool

Until the frame reaches `target` pixel accuracy against the truth (unlabelled pixels count as wrong) it takes the
largest wrong region (a connected set of pixels of one true class that the label gets wrong) and fixes it with:

- a flood fill (1 action) when the label's region under a seed there is mostly (>= 60 %) of that true class;
- a polygon (1 action; its vertices are counted as clicks) when the region is large (>= 4,000 px at 960x540), its
  outline simplified to 2 px like a careful click-by-click outline;
- otherwise brush strokes (1 action each) with a brush as wide as the region is thick (radius 3-15 px at
  960x540): as many side-by-side passes as the region is thicker than the brush, each pass cut into strokes of
  at most 300 px along the region; the robot keeps the brush inside the region (writes exactly its pixels), an
  idealised careful annotator, so its counts are a lower bound of a person's.

Flood fills and polygons go through `engine.edits` (flood_fill, fill_polygon): the app's pixel rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from engine.edits import PaintPolicy, fill_polygon, flood_fill
from engine.edits.commit import commit_sparse

POLYGON_MIN_AREA = 4000
FLOOD_SHARE = 0.6
MAX_ACTIONS = 400
STROKE_LENGTH = 300   # px (at 960 wide) one brush stroke covers before the person lifts the pen


@dataclass
class RobotResult:
    actions: int = 0
    painted: int = 0
    clicks: int = 0
    by_tool: dict = field(default_factory=lambda: {"flood": 0, "polygon": 0, "brush": 0})
    accuracy: float = 0.0
    reached: bool = False


def _largest_wrong_region(label: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, int] | None:
    wrong = label != truth
    best, best_area, best_cls = None, 0, -1
    for c in np.unique(truth[wrong]):
        n, comp, stats, _ = cv2.connectedComponentsWithStats((wrong & (truth == c)).astype(np.uint8), connectivity=8)
        if n < 2:
            continue
        i = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        if stats[i, cv2.CC_STAT_AREA] > best_area:
            best_area, best, best_cls = int(stats[i, cv2.CC_STAT_AREA]), comp == i, int(c)
    return None if best is None else (best, best_cls)


def _seed(region: np.ndarray) -> tuple[int, int]:
    """The region's most inner pixel (x, y): where a person clicks."""
    dist = cv2.distanceTransform(np.pad(region, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return int(x), int(y)


def _apply(rec, result: RobotResult, tool: str, clicks: int = 1) -> bool:
    result.actions += 1
    result.clicks += clicks
    result.by_tool[tool] += 1
    if rec is None:
        return False
    result.painted += int(rec.changed().sum())
    return True


def _flood(label, truth, region, cls, result) -> bool:
    x, y = _seed(region)
    under = label[y, x]
    n, comp = cv2.connectedComponents((label == under).astype(np.uint8), connectivity=4)
    k = comp == comp[y, x]
    if np.count_nonzero(k & (truth == cls)) < FLOOD_SHARE * np.count_nonzero(k):
        return False
    return _apply(flood_fill(label, (x, y), cls), result, "flood")


def _polygon(label, truth, region, cls, result) -> bool:
    contours, _ = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return False
    outline = cv2.approxPolyDP(max(contours, key=cv2.contourArea), 2.0 * label.shape[1] / 960, True)[:, 0, :]
    if len(outline) < 3:
        return False
    return _apply(fill_polygon(label, outline.astype(np.float64), cls), result, "polygon", clicks=len(outline))


def _brush(label, truth, region, cls, result) -> bool:
    """Brush strokes along the region: a brush as wide as the region is thick (radius 3-15 px at 960x540), as many
    side-by-side passes as the region is thicker than the brush, each pass cut into strokes of at most
    STROKE_LENGTH px along the region (length ~ area / thickness). The person keeps the brush inside the region:
    exactly its pixels are written."""
    scale = label.shape[1] / 960
    dist = cv2.distanceTransform(np.pad(region, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    thickness = max(1.0, 2.0 * float(dist.max()))
    radius = float(np.clip(thickness / 2, 3 * scale, 15 * scale))
    passes = int(np.ceil(thickness / (2 * radius)))
    length = float(region.sum()) / thickness
    strokes = passes * max(1, int(np.ceil(length / (STROKE_LENGTH * scale))))
    ys, xs = np.nonzero(region)
    rec = commit_sparse(label, ys, xs, np.full(ys.size, cls, np.uint8), PaintPolicy(), "robot brush")
    for i in range(min(strokes, MAX_ACTIONS - result.actions)):
        _apply(rec if i == 0 else None, result, "brush")
    return rec is not None


def correct(start: np.ndarray, truth: np.ndarray, target: float = 0.98) -> RobotResult:
    """Correct a copy of `start` towards `truth` until `target` pixel accuracy (or MAX_ACTIONS)."""
    label = start.copy()
    result = RobotResult()
    stuck = 0
    while result.actions < MAX_ACTIONS:
        acc = float((label == truth).mean())
        if acc >= target:
            result.accuracy, result.reached = acc, True
            return result
        found = _largest_wrong_region(label, truth)
        if found is None:
            break
        region, cls = found
        before = np.count_nonzero(label != truth)
        if not _flood(label, truth, region, cls, result):
            if not (region.sum() >= POLYGON_MIN_AREA * (label.size / (960 * 540)) and
                    _polygon(label, truth, region, cls, result)):
                _brush(label, truth, region, cls, result)
        if np.count_nonzero(label != truth) >= before:
            stuck += 1
            if stuck > 3:  # an edit that makes nothing better: paint the region exactly with the brush's rows
                _brush(label, truth, region, cls, result)
                if np.count_nonzero(label != truth) >= before:
                    break
        else:
            stuck = 0
    result.accuracy = float((label == truth).mean())
    result.reached = result.accuracy >= target
    return result
