"""Putting a 16:9 frame at the model's resolution and bringing the result back to the frame's size.

Two ways, chosen by `mode`:

- "pad" (default): scale the frame to fit inside the model canvas keeping its aspect, centre it and fill
  the rest by mirroring the frame's border (no black bars for the model to "repair"). Back: crop the frame's
  box and resize to the original size. With the default resolution (model width, height matching the
  frame's aspect, rounded up to what the model accepts) only a thin band is padded.
- "tile": scale the frame so that its short side fills the canvas and cover it with overlapping
  canvas-sized tiles (two for 16:9 on a square canvas). Each tile is edited on its own and the results are
  blended back with linear feathering over the overlaps. More detail per pixel, one edit per tile.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

FRAMINGS = ("pad", "tile")


def check_resolution(size: tuple[int, int], multiple: int) -> tuple[int, int]:
    """Refuse sizes the model cannot take, suggesting the nearest that it can."""
    w, h = int(size[0]), int(size[1])
    if w % multiple or h % multiple or w < multiple or h < multiple:
        sw = max(multiple, round(w / multiple) * multiple)
        sh = max(multiple, round(h / multiple) * multiple)
        raise ValueError(f"resolution {w}x{h} does not suit this model: both sides must be multiples of "
                         f"{multiple} (e.g. {sw}x{sh})")
    return w, h


def default_resolution(frame_size: tuple[int, int], native: int, multiple: int) -> tuple[int, int]:
    """Model width = `native`; height keeps the frame's aspect, rounded UP to a multiple (the frame fits)."""
    fw, fh = frame_size
    if fw >= fh:
        w = native
        h = max(multiple, math.ceil(native * fh / fw / multiple) * multiple)
    else:
        h = native
        w = max(multiple, math.ceil(native * fw / fh / multiple) * multiple)
    return w, h


@dataclass(frozen=True)
class Framing:
    """How one frame maps onto model-sized canvases; `split` and `merge` apply it."""

    mode: str
    frame_size: tuple[int, int]     # (w, h) of the original frame
    model_size: tuple[int, int]     # (W, H) of each canvas
    scaled_size: tuple[int, int]    # the frame's size once scaled
    offsets: tuple[tuple[int, int], ...]  # pad: where the scaled frame sits in the canvas; tile: each tile's
    #                                       top-left corner in the scaled frame

    @property
    def num_tiles(self) -> int:
        return len(self.offsets) if self.mode == "tile" else 1

    def split(self, image: np.ndarray) -> list[np.ndarray]:
        """The canvases (HxWx3 uint8, model size) to edit."""
        _check_image(image, self.frame_size)
        sw, sh = self.scaled_size
        W, H = self.model_size
        scaled = _resize(image, (sw, sh))
        if self.mode == "pad":
            ox, oy = self.offsets[0]
            return [_mirror_pad(scaled, oy, H - sh - oy, ox, W - sw - ox)]
        return [np.ascontiguousarray(scaled[y:y + H, x:x + W]) for x, y in self.offsets]

    def merge(self, canvases: list[np.ndarray]) -> np.ndarray:
        """The edited canvases back as one frame at the original size (HxWx3 uint8)."""
        if len(canvases) != self.num_tiles:
            raise ValueError(f"expected {self.num_tiles} canvas(es), got {len(canvases)}")
        W, H = self.model_size
        sw, sh = self.scaled_size
        for c in canvases:
            if c.shape != (H, W, 3):
                raise ValueError(f"canvas has shape {c.shape}, expected {(H, W, 3)}")
        if self.mode == "pad":
            ox, oy = self.offsets[0]
            scaled = canvases[0][oy:oy + sh, ox:ox + sw]
        else:
            acc = np.zeros((sh, sw, 3), np.float64)
            wsum = np.zeros((sh, sw, 1), np.float64)
            ramp = _feather(W, H, self.offsets, (sw, sh))
            for (x, y), c, wgt in zip(self.offsets, canvases, ramp):
                acc[y:y + H, x:x + W] += c.astype(np.float64) * wgt[..., None]
                wsum[y:y + H, x:x + W] += wgt[..., None]
            scaled = np.clip(np.rint(acc / np.maximum(wsum, 1e-12)), 0, 255).astype(np.uint8)
        return _resize(np.ascontiguousarray(scaled), self.frame_size)


def plan_framing(frame_size: tuple[int, int], model_size: tuple[int, int], mode: str = "pad") -> Framing:
    """Work out the scale and the canvas / tile positions for a frame of `frame_size` (w, h)."""
    fw, fh = int(frame_size[0]), int(frame_size[1])
    W, H = int(model_size[0]), int(model_size[1])
    if min(fw, fh, W, H) <= 0:
        raise ValueError(f"sizes must be positive: frame {fw}x{fh}, model {W}x{H}")
    if mode == "pad":
        s = min(W / fw, H / fh)
        sw, sh = min(W, max(1, round(fw * s))), min(H, max(1, round(fh * s)))
        return Framing("pad", (fw, fh), (W, H), (sw, sh), (((W - sw) // 2, (H - sh) // 2),))
    if mode == "tile":
        s = max(W / fw, H / fh)  # short side fills the canvas
        sw, sh = max(W, round(fw * s)), max(H, round(fh * s))
        xs = _positions(sw, W)
        ys = _positions(sh, H)
        return Framing("tile", (fw, fh), (W, H), (sw, sh), tuple((x, y) for y in ys for x in xs))
    raise ValueError(f"unknown framing {mode!r}: use {' or '.join(FRAMINGS)}")


def _positions(length: int, tile: int) -> list[int]:
    """Evenly spread tile starts covering [0, length) with at least tile/8 overlap between neighbours."""
    if length <= tile:
        return [0]
    n = math.ceil((length - tile / 8) / (tile - tile / 8))
    n = max(2, n)
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]


def _feather(W: int, H: int, offsets, scaled_size) -> list[np.ndarray]:
    """Per-tile weights: 1 inside, ramping linearly to ~0 at edges that overlap another tile."""
    sw, sh = scaled_size
    out = []
    for x, y in offsets:
        wx = np.ones(W)
        wy = np.ones(H)
        ramp_w, ramp_h = max(1, W // 4), max(1, H // 4)
        r = (np.arange(ramp_w) + 1) / (ramp_w + 1)
        if x > 0:
            wx[:ramp_w] = np.minimum(wx[:ramp_w], r)
        if x + W < sw:
            wx[-ramp_w:] = np.minimum(wx[-ramp_w:], r[::-1])
        r = (np.arange(ramp_h) + 1) / (ramp_h + 1)
        if y > 0:
            wy[:ramp_h] = np.minimum(wy[:ramp_h], r)
        if y + H < sh:
            wy[-ramp_h:] = np.minimum(wy[-ramp_h:], r[::-1])
        out.append(np.outer(wy, wx))
    return out


def _mirror_pad(img: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    if top == bottom == left == right == 0:
        return np.ascontiguousarray(img)
    h, w = img.shape[:2]
    # reflect needs the image to be larger than the border; fall back to edge replication otherwise
    border = cv2.BORDER_REFLECT_101 if max(top, bottom) < h and max(left, right) < w else cv2.BORDER_REPLICATE
    return cv2.copyMakeBorder(img, top, bottom, left, right, border)


def _resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    if img.shape[1] == w and img.shape[0] == h:
        return np.ascontiguousarray(img)
    shrinking = w < img.shape[1] and h < img.shape[0]
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def _check_image(image: np.ndarray, size: tuple[int, int]) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB frame, got {image.dtype} {image.shape}")
    if (image.shape[1], image.shape[0]) != tuple(size):
        raise ValueError(f"frame is {image.shape[1]}x{image.shape[0]} but the framing was planned for "
                         f"{size[0]}x{size[1]}")


def plan_for_model(frame_size: tuple[int, int], resolution, mode: str, native: int, multiple: int) -> Framing:
    """The framing of a frame for a model: `resolution` (W, H) or the model's default, checked, then planned."""
    res = tuple(resolution) if resolution else default_resolution(frame_size, native, multiple)
    return plan_framing(frame_size, check_resolution(res, multiple), mode)


def split_mask(plan: Framing, mask: np.ndarray) -> list[np.ndarray]:
    """A frame-size bool mask put on the plan's canvases like the frame (True wherever any of it lands)."""
    img = np.repeat((mask.astype(np.uint8) * 255)[..., None], 3, axis=2)
    return [c[..., 0] > 0 for c in plan.split(img)]
