"""Mask-guided upsampling: a small frame (lifted on a small copy of the mask) -> the mask's own size, with
the edges drawn where the full-size mask has them (a preview's cheap stand-in for the upsampler's full pass).

Plain bicubic resizing blends the colours of neighbouring classes across every label edge, at the small
frame's pixel pitch (4 px wide at a quarter of 960x540), and loses structures thinner than a small pixel.
Here the frame is resized bilinear, and at every full-size pixel whose 2x2 bilinear taps in the small
frame hold another label than its own (the edge band) the colour is interpolated from the taps that carry
the pixel's own label only (joint bilateral upsampling with the label as the range term; where all taps
agree it is the bilinear value, so the band has no seam). A pixel with no tap of its own class takes the
class's colour from a wider window of the small frame (normalized box filter), else its mean over the small
frame, else keeps the bilinear value.
Cost: two morphology passes on the small label and a few numpy gathers over the edge band (a small part
of a CaDIS frame), no network pass.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

WIDE = 9  # window (small pixels) of the second try for a pixel without a same-class neighbour


@functools.lru_cache(maxsize=8)
def _taps(small: int, full: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per full-size coordinate: the two small-frame taps of bilinear sampling (half-pixel centres) and the
    weight of the second."""
    s = (np.arange(full, dtype=np.float32) + 0.5) * (small / full) - 0.5
    s = np.clip(s, 0, small - 1)
    i0 = np.floor(s).astype(np.intp)
    i1 = np.minimum(i0 + 1, small - 1)
    return i0, i1, (s - i0).astype(np.float32)


def edge_band(small_label: np.ndarray, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the full-size pixels whose bilinear taps (the 2x2 small pixels around them) hold another
    label than their own: where plain resizing mixes classes."""
    (hs, ws), (h, w) = small_label.shape, label.shape
    y0, _, _ = _taps(hs, h)
    x0, _, _ = _taps(ws, w)
    kernel, anchor = np.ones((2, 2), np.uint8), (0, 0)  # the window rows/cols i0 .. i0+1
    hi = cv2.dilate(small_label, kernel, anchor=anchor, borderType=cv2.BORDER_REPLICATE)
    lo = cv2.erode(small_label, kernel, anchor=anchor, borderType=cv2.BORDER_REPLICATE)
    ry, rx = np.bincount(y0, minlength=hs), np.bincount(x0, minlength=ws)  # i0 is monotone: repeat, not gather
    hi = np.repeat(np.repeat(hi, ry, axis=0), rx, axis=1)
    lo = np.repeat(np.repeat(lo, ry, axis=0), rx, axis=1)
    return np.nonzero((hi != label) | (lo != label))


def mask_guided_resize(small: np.ndarray, small_label: np.ndarray, label: np.ndarray) -> np.ndarray:
    """`small` (hxwx3 uint8, made for `small_label`) -> HxWx3 uint8 at `label`'s size (see the module)."""
    if small.shape[:2] != small_label.shape:
        raise ValueError(f"the small frame is {small.shape[:2]} but its label {small_label.shape}")
    h, w = label.shape
    if small.shape[:2] == (h, w):
        return small.copy()
    out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    ys, xs = edge_band(small_label, label)
    if not len(ys):
        return out
    (hs, ws) = small_label.shape
    y0, y1, fy = _taps(hs, h)
    x0, x1, fx = _taps(ws, w)
    a, b, c, d = y0[ys], y1[ys], x0[xs], x1[xs]
    wy, wx = fy[ys], fx[xs]
    lab = label[ys, xs]
    src = small.astype(np.float32)
    acc = np.zeros((len(ys), 3), np.float32)
    tot = np.zeros(len(ys), np.float32)
    for ty, tx, wt in ((a, c, (1 - wy) * (1 - wx)), (a, d, (1 - wy) * wx), (b, c, wy * (1 - wx)), (b, d, wy * wx)):
        wt = (wt + 1e-6) * (small_label[ty, tx] == lab)  # a same-class tap counts even at weight 0
        acc += src[ty, tx] * wt[:, None]
        tot += wt
    has = tot > 0
    vals = np.empty((len(ys), 3), np.float32)
    vals[has] = acc[has] / tot[has, None]
    lost = np.nonzero(~has)[0]
    if len(lost):
        vals[lost] = _class_colours(src, small_label, lab[lost], a[lost], c[lost], out[ys[lost], xs[lost]])
    out[ys, xs] = np.clip(vals + 0.5, 0, 255).astype(np.uint8)
    return out


def _class_colours(src, small_label, classes, ty, tx, fallback) -> np.ndarray:
    """Colours for band pixels with no same-class tap: the class's mean over a WIDE window of the small frame
    around the pixel, else over the whole small frame, else `fallback` (the class is absent there)."""
    vals = fallback.astype(np.float32)
    for cls in np.unique(classes):
        sel = np.nonzero(classes == cls)[0]
        m = (small_label == cls).astype(np.float32)
        if not m.any():
            continue
        num = cv2.boxFilter(src * m[..., None], -1, (WIDE, WIDE), normalize=False)
        den = cv2.boxFilter(m, -1, (WIDE, WIDE), normalize=False)
        local_den = den[ty[sel], tx[sel]]
        mean = (src * m[..., None]).sum((0, 1)) / m.sum()
        near = local_den > 0.5
        vals[sel] = np.where(near[:, None], num[ty[sel], tx[sel]] / np.maximum(local_den, 1e-6)[:, None], mean)
    return vals
