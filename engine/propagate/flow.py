"""Dense optical flow between two frames and carrying a label map along it (OpenCV Farneback by default, DIS
presets as options; chosen by measurement in ADR 0013).

Flow is computed on grey frames scaled to `FLOW_WIDTH` pixels wide (speed; the label is still warped at full
size). `carry(label, conf, src_grey, dst_grey)` returns the label seen from the destination frame (each
destination pixel takes the class of the source pixel the flow points to, nearest neighbour: class IDs are
never blended) and a per-pixel confidence: the source confidence times the forward-backward consistency of the
flow there (a pixel whose flow does not come back to where it started is occluded, newly visible or tracked
wrongly), 0 where the flow points outside the source frame (those take the nearest border class) or at an unlabelled pixel.
"""
from __future__ import annotations

import cv2
import numpy as np

from engine.taxonomy import IGNORE

FLOW_WIDTH = 480


def grey_for_flow(rgb: np.ndarray, width: int = FLOW_WIDTH) -> np.ndarray:
    """The frame as the flow sees it: grey, at most `width` wide."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    h, w = grey.shape
    if w > width:
        grey = cv2.resize(grey, (width, max(8, round(h * width / w))), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(grey)


METHODS = ("farneback", "dis-medium", "dis-fast")   # measured in ADR 0013; farneback is the default
DEFAULT_METHOD = "farneback"
_DIS: dict = {}


def flow(a: np.ndarray, b: np.ndarray, method: str = DEFAULT_METHOD) -> np.ndarray:
    """HxWx2 float32 flow from grey frame `a` to `b` (a pixel x of a is at x + flow[x] in b)."""
    if method == "farneback":
        return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 4, 21, 3, 5, 1.1, 0)
    if method not in _DIS:
        if method not in METHODS:
            raise ValueError(f"unknown flow method {method!r}: choose one of {', '.join(METHODS)}")
        preset = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM if method == "dis-medium" else cv2.DISOPTICAL_FLOW_PRESET_FAST
        _DIS[method] = cv2.DISOpticalFlow_create(preset)
    return _DIS[method].calc(a, b, None)


def _sample(field: np.ndarray, mapx: np.ndarray, mapy: np.ndarray, interp=cv2.INTER_LINEAR) -> np.ndarray:
    return cv2.remap(field, mapx, mapy, interp, borderMode=cv2.BORDER_REPLICATE)


def consistency(back: np.ndarray, fwd: np.ndarray) -> np.ndarray:
    """Per-pixel forward-backward consistency in 0..1 of the destination frame, at flow size.

    `back` is the flow from the destination to the source, `fwd` from the source to the destination; a pixel is
    consistent when going there and back lands where it started (soft version of Sundaram et al.'s test:
    |e|^2 against 0.01 (|w|^2 + |w'|^2) + 0.5 px^2)."""
    h, w = back.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    fwd_there = _sample(fwd, gx + back[..., 0], gy + back[..., 1])
    err = np.sum((back + fwd_there) ** 2, axis=2)
    tol = 0.01 * (np.sum(back ** 2, axis=2) + np.sum(fwd_there ** 2, axis=2)) + 0.5
    return np.exp(-err / (2.0 * tol)).astype(np.float32)


def carry(label: np.ndarray, conf: np.ndarray, src_grey: np.ndarray, dst_grey: np.ndarray,
          method: str = DEFAULT_METHOD) -> tuple[np.ndarray, np.ndarray]:
    """(label, confidence) of the destination frame carried from the source frame's; full size in and out."""
    H, W = label.shape
    back = flow(dst_grey, src_grey, method)
    fwd = flow(src_grey, dst_grey, method)
    cons = consistency(back, fwd)
    fh, fw = back.shape[:2]
    sx, sy = W / fw, H / fh
    back_full = cv2.resize(back, (W, H), interpolation=cv2.INTER_LINEAR)
    cons_full = cv2.resize(cons, (W, H), interpolation=cv2.INTER_LINEAR)
    gx, gy = np.meshgrid(np.arange(W, dtype=np.float32), np.arange(H, dtype=np.float32))
    mapx = gx + back_full[..., 0] * sx
    mapy = gy + back_full[..., 1] * sy
    new_label = cv2.remap(label, mapx, mapy, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
    new_conf = cv2.remap(conf.astype(np.float32), mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=0.0) * cons_full
    outside = (mapx < -0.5) | (mapy < -0.5) | (mapx > W - 0.5) | (mapy > H - 0.5) | (new_label == IGNORE)
    new_conf[outside] = 0.0
    return new_label, np.clip(new_conf, 0.0, 1.0)
