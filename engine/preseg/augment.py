"""Photometric copies of the labelled frames, so a head sees more than one video's look.

A head trained on a few frames of one video learns that video's white balance, exposure and sharpness
along with its anatomy. Training on the frames plus jittered copies (per-channel gain, gamma, defocus,
sensor noise; every other copy mirrored, with its label) was measured on the phantom tuning draw and one
reported draw (docs/benchmarks/preseg.md): mIoU +0.08 to +0.12 on the realistic style, mixed on the plain
one. Copies are made lazily, deterministically from `seed`, and never touch the original frames.
The shift statistics of a head are fitted on the original frames only (`engine.preseg.train`).
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from .sampling import FrameSource


def jittered(image: np.ndarray, label: np.ndarray, rng: np.random.Generator, mirror: bool
             ) -> tuple[np.ndarray, np.ndarray]:
    """A photometric copy of an HxWx3 uint8 frame (white balance, exposure, defocus, noise), mirrored
    left-right when `mirror`; the label changes only with the mirror."""
    x = image.astype(np.float32) / 255.0
    x = np.clip(x * rng.uniform(0.8, 1.2, 3).astype(np.float32)[None, None, :], 0, 1) ** rng.uniform(0.7, 1.4)
    if rng.random() < 0.5:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.5, 2.0))
    x = x + rng.normal(0, rng.uniform(0, 0.025), x.shape).astype(np.float32)
    out = (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)
    if mirror:
        return np.ascontiguousarray(out[:, ::-1]), np.ascontiguousarray(label[:, ::-1])
    return out, label


def augmented_sources(frames: Sequence[FrameSource], copies: int, seed: int = 0) -> list[FrameSource]:
    """`copies` jittered copies of every frame (copy j of frame i mirrored when j is even), each loaded
    only when needed and the same for the same seed."""
    out = []
    for j in range(copies):
        for i, fr in enumerate(frames):
            def load(fr=fr, i=i, j=j):
                image, label = fr.load()
                return jittered(image, label, np.random.default_rng((seed, i, j)), j % 2 == 0)
            out.append(FrameSource(f"{fr.key}#aug{j}", load))
    return out
