"""Image filters at twice the working resolution: the fine structure the diffusion features cannot see.

The diffusion model sees a frame at its own sample size (128x72 for the starter model), so an
instrument shaft or an eye retractor a dozen pixels wide in a 960x540 frame is one or two pixels
there, and its decoder activations are blurred over the surrounding cornea and tape. These channels come
from the frame itself, resized to twice the working size, as in interactive pixel classifiers (ilastik's
filter bank): the CIE Lab colour smoothed at two scales, gradient magnitudes, and the two eigenvalues of
the Hessian of lightness (ridges and valleys: thin bright or dark lines) at three scales, all
scale-normalised; then area-averaged to the working size. They are appended after every other channel
(`FeatureConfig.image_filters`).
"""
from __future__ import annotations

import cv2
import numpy as np

SIGMAS = (1.0, 2.0, 4.0)
SMOOTH_SIGMAS = (2.0, 4.0)
#: Lab smoothed (3 x 2) + lightness gradient (3) + Lab a/b gradient (2) + Hessian eigenvalues (2 x 3)
FILTER_CHANNELS = 3 * len(SMOOTH_SIGMAS) + len(SIGMAS) + 2 + 2 * len(SIGMAS)


def _gauss(x: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def _gradient(x: np.ndarray, sigma: float) -> np.ndarray:
    s = _gauss(x, sigma)
    gx = cv2.Sobel(s, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
    gy = cv2.Sobel(s, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    return np.sqrt(gx * gx + gy * gy) * sigma


def _hessian_eigen(x: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    s = _gauss(x, sigma)
    xx = cv2.Sobel(s, cv2.CV_32F, 2, 0, ksize=3, scale=0.25)
    yy = cv2.Sobel(s, cv2.CV_32F, 0, 2, ksize=3, scale=0.25)
    xy = cv2.Sobel(s, cv2.CV_32F, 1, 1, ksize=3, scale=0.25)
    half_trace = (xx + yy) / 2
    root = np.sqrt(((xx - yy) / 2) ** 2 + xy * xy)
    k = sigma * sigma
    return (half_trace + root) * k, (half_trace - root) * k


def filter_bank(image: np.ndarray, work_size: tuple[int, int]) -> np.ndarray:
    """HxWx3 uint8 RGB -> (FILTER_CHANNELS, h, w) float32 at `work_size` = (h, w), roughly unit scale."""
    h, w = work_size
    big = cv2.resize(image, (2 * w, 2 * h), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(big.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    light, a, b = lab[..., 0] / 50.0 - 1.0, lab[..., 1] / 50.0, lab[..., 2] / 50.0
    maps: list[np.ndarray] = []
    for sigma in SMOOTH_SIGMAS:
        maps += [_gauss(c, sigma) for c in (light, a, b)]
    maps += [_gradient(light, sigma) * 4 for sigma in SIGMAS]
    maps += [_gradient(c, 2.0) * 4 for c in (a, b)]
    for sigma in SIGMAS:
        maps += [e * 8 for e in _hessian_eigen(light, sigma)]
    stack = np.stack(maps, axis=-1)
    small = cv2.resize(stack, (w, h), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small.transpose(2, 0, 1), dtype=np.float32)
