"""Putting a frame together: draw the label from geometry (anatomy, then instruments), then render the image
from it. `VideoRenderer` keeps one video's scene and textures so consecutive frames share them.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import cv2
import numpy as np

from engine.phantom.anatomy import draw_anatomy
from engine.phantom.canvas import Canvas
from engine.phantom.instruments import draw_instrument
from engine.phantom.realistic import apply_realistic, check_style, sample_look
from engine.phantom.render import SceneTextures, render_image
from engine.phantom.scene import BASE_H, BASE_W, TAG_FRAME, Scene, rng_for, sample_scene


@contextlib.contextmanager
def single_threaded_cv2() -> Iterator[None]:
    """Run OpenCV on one thread inside the block (reproducible, and polite on shared machines)."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


class VideoRenderer:
    """Renders the frames of one phantom video (`seed`, `video`) at a given size, in a style ("plain", the
    cartoon, or "realistic": camera and tissue variation on top, `engine.phantom.realistic`). The label
    does not depend on the style."""

    def __init__(self, seed: int, video: int, width: int = BASE_W, height: int = BASE_H, style: str = "plain"):
        self.seed, self.video = int(seed), int(video)
        self.style = check_style(style)
        self.scene: Scene = sample_scene(self.seed, self.video, int(width), int(height))
        self._textures: SceneTextures | None = None
        self._look = sample_look(self.seed, self.video) if style == "realistic" else None

    def label(self, frame: int) -> Canvas:
        """Draw frame `frame`'s label (with material and shading maps) from geometry only."""
        scene = self.scene
        canvas = Canvas(scene.height, scene.width)
        t = float(frame)
        draw_anatomy(canvas, scene, t)
        for plan in scene.phase(frame).instruments:
            draw_instrument(canvas, scene, plan, t)
        return canvas

    def render(self, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """(image RGB uint8 HxWx3, label uint8 HxW) of frame index `frame` (0, 1, 2, ...)."""
        if frame < 0:
            raise ValueError(f"frame index must be >= 0, got {frame}")
        with single_threaded_cv2():
            canvas = self.label(frame)
            if self._textures is None:
                self._textures = SceneTextures(self.scene)
            rng = rng_for(self.seed, self.video, TAG_FRAME, frame)
            image = render_image(canvas, self.scene, self._textures, float(frame), rng)
            if self._look is not None:
                image = apply_realistic(image, canvas, self.scene, self._look, frame)
        return image, canvas.label


def render_frame(seed: int, width: int = BASE_W, height: int = BASE_H,
                 style: str = "plain") -> tuple[np.ndarray, np.ndarray]:
    """One phantom frame: (image RGB uint8 HxWx3, label uint8 HxW of original CaDIS IDs).

    The same seed always gives the same arrays. It is the first frame of video 0 of that seed.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return VideoRenderer(int(seed), 0, width, height, style).render(0)
