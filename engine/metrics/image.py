"""Image quality metrics on uint8 RGB arrays: PSNR and SSIM.

SSIM is the standard form of Wang et al. (2004): an 11x11 Gaussian window with sigma 1.5, K1 = 0.01,
K2 = 0.03, data range 255, averaged over the "valid" region (windows fully inside the image). It is taken
on luminance (ITU-R BT.601 Y) or on each RGB channel and averaged.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

WINDOW = 11
SIGMA = 1.5
K1, K2 = 0.01, 0.03
DATA_RANGE = 255.0


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if a.dtype != np.uint8 or b.dtype != np.uint8:
        raise TypeError(f"expected uint8 images, got {a.dtype} and {b.dtype}")
    return a, b


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB over all pixels and channels; inf for identical images."""
    a, b = _pair(a, b)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(DATA_RANGE ** 2 / mse)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 RGB -> HxW float64 BT.601 luma in 0..255."""
    rgb = rgb.astype(np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def _ssim_plane(x: np.ndarray, y: np.ndarray) -> float:
    """Mean SSIM of two float64 HxW planes over the valid region."""
    r = WINDOW // 2

    def blur(img: np.ndarray) -> np.ndarray:
        # A Gaussian blur cropped by the window radius equals a "valid" convolution: border handling
        # never reaches the kept pixels.
        return cv2.GaussianBlur(img, (WINDOW, WINDOW), SIGMA, borderType=cv2.BORDER_REFLECT)[r:-r, r:-r]

    c1, c2 = (K1 * DATA_RANGE) ** 2, (K2 * DATA_RANGE) ** 2
    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * sxy + c2)
    den = (mx * mx + my * my + c1) * (sxx + syy + c2)
    return float(np.mean(num / den))


def ssim(a: np.ndarray, b: np.ndarray, channels: str = "luminance") -> float:
    """Structural similarity of two uint8 images (HxW or HxWx3 RGB), 1.0 for identical images.

    `channels`: "luminance" (SSIM of the BT.601 luma) or "rgb" (mean of the per-channel SSIMs).
    Images must be at least 11x11.
    """
    a, b = _pair(a, b)
    if a.shape[0] < WINDOW or a.shape[1] < WINDOW:
        raise ValueError(f"SSIM needs images of at least {WINDOW}x{WINDOW}, got {a.shape[1]}x{a.shape[0]}")
    if a.ndim == 2:
        return _ssim_plane(a.astype(np.float64), b.astype(np.float64))
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected HxW or HxWx3 images, got shape {a.shape}")
    if channels == "luminance":
        return _ssim_plane(luminance(a), luminance(b))
    if channels == "rgb":
        return float(np.mean([_ssim_plane(a[..., c].astype(np.float64), b[..., c].astype(np.float64))
                              for c in range(3)]))
    raise ValueError(f"channels must be 'luminance' or 'rgb', got {channels!r}")
