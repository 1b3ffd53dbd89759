"""A contact sheet of phantom frames and their colourised labels (for docs and quick visual checks)."""
from __future__ import annotations

import cv2
import numpy as np

from engine.phantom.frame import VideoRenderer
from engine.taxonomy import colorize


def contact_sheet(pairs: list[tuple[np.ndarray, np.ndarray]], columns: int = 3,
                  tile: tuple[int, int] = (320, 180)) -> np.ndarray:
    """Images in a grid on top, their colourised labels in the same grid below (RGB uint8)."""
    if not pairs:
        raise ValueError("no frames to show")
    tw, th = tile

    def grid(tiles: list[np.ndarray]) -> np.ndarray:
        blank = np.zeros((th, tw, 3), np.uint8)
        tiles = tiles + [blank] * (-len(tiles) % columns)
        rows = [np.hstack(tiles[i:i + columns]) for i in range(0, len(tiles), columns)]
        return np.vstack(rows)

    images = [cv2.resize(img, (tw, th), interpolation=cv2.INTER_AREA) for img, _ in pairs]
    labels = [cv2.resize(colorize(lab), (tw, th), interpolation=cv2.INTER_NEAREST) for _, lab in pairs]
    top, bottom = grid(images), grid(labels)
    gap = np.full((max(th // 30, 2), top.shape[1], 3), 255, np.uint8)
    return np.vstack([top, gap, bottom])


def sample_sheet(seed: int = 0, videos: int = 3, frames: tuple[int, ...] = (0, 5)) -> np.ndarray:
    """The sheet of `frames` of each of `videos` phantom videos (full-size frames, downscaled)."""
    pairs = []
    for k in frames:
        for v in range(1, videos + 1):
            pairs.append(VideoRenderer(seed, v).render(k))
    return contact_sheet(pairs, columns=videos)
