"""numpy <-> QImage / QPixmap helpers.

Conventions: images in numpy are HxWx3 uint8 RGB (or HxW uint8 grey); ARGB buffers are HxW uint32 holding
Qt's native 0xAARRGGBB values, which is exactly the memory layout of `QImage.Format_ARGB32(_Premultiplied)`.

`wrap_argb32` shares memory with the numpy buffer (no copy): writes to the array show up in the image at
once, which is what the canvas overlay relies on for incremental updates. The caller must keep the array
alive for as long as the image is used. Everything else copies, so the result owns its pixels.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def argb_values(rgb: np.ndarray, alpha: np.ndarray | int = 255) -> np.ndarray:
    """(N, 3) uint8 RGB (+ alpha per row or one alpha) -> (N,) uint32 0xAARRGGBB, premultiplied by alpha."""
    rgb = np.asarray(rgb, dtype=np.uint32)
    a = np.broadcast_to(np.asarray(alpha, dtype=np.uint32), rgb.shape[:1])
    pre = (rgb * a[:, None] + 127) // 255  # premultiply, rounded
    return (a << 24) | (pre[:, 0] << 16) | (pre[:, 1] << 8) | pre[:, 2]


def wrap_argb32(buf: np.ndarray, premultiplied: bool = True) -> QImage:
    """View an HxW C-contiguous uint32 array as a QImage without copying (keep `buf` alive!)."""
    if buf.dtype != np.uint32 or buf.ndim != 2 or not buf.flags.c_contiguous:
        raise ValueError(f"need a C-contiguous HxW uint32 array, got {buf.dtype} with shape {buf.shape}")
    h, w = buf.shape
    fmt = QImage.Format_ARGB32_Premultiplied if premultiplied else QImage.Format_ARGB32
    return QImage(buf.data, w, h, w * 4, fmt)


def rgb_to_qimage(image: np.ndarray) -> QImage:
    """HxWx3 RGB or HxW grey uint8 -> an owned `Format_RGB32` QImage (the fastest format to draw)."""
    if image.dtype != np.uint8:
        raise ValueError(f"images must be uint8, got {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"need an HxWx3 RGB image, got shape {image.shape}")
    image = np.ascontiguousarray(image[:, :, :3])
    h, w = image.shape[:2]
    view = QImage(image.data, w, h, w * 3, QImage.Format_RGB888)
    return view.convertToFormat(QImage.Format_RGB32)  # a deep copy Qt owns


def qimage_to_rgba(image: QImage) -> np.ndarray:
    """Any QImage -> an HxWx4 uint8 RGBA numpy copy (handy for comparing screenshots)."""
    img = image.convertToFormat(QImage.Format_RGBA8888)
    h, w, stride = img.height(), img.width(), img.bytesPerLine()
    raw = np.frombuffer(img.constBits(), dtype=np.uint8, count=h * stride).reshape(h, stride)
    return raw[:, : w * 4].reshape(h, w, 4).copy()


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """Any QImage -> an HxWx3 uint8 RGB numpy copy (alpha dropped)."""
    return np.ascontiguousarray(qimage_to_rgba(image)[:, :, :3])


def pixmap_of(image: np.ndarray, max_w: int = 0, max_h: int = 0) -> QPixmap:
    """An RGB image as a pixmap, scaled (keeping the aspect) to fit max_w x max_h when given."""
    pm = QPixmap.fromImage(rgb_to_qimage(image))
    if max_w and max_h:
        pm = pm.scaled(max_w, max_h, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return pm
