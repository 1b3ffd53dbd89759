"""Putting a frame together: draw the label from geometry (anatomy, then instruments), then render the image
from it. `VideoRenderer` keeps one video's scene and textures so consecutive frames share them.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Iterator

import cv2
import numpy as np

from engine.phantom.anatomy import draw_anatomy
from engine.phantom.canvas import Canvas
from engine.phantom.instruments import draw_instrument
from engine.phantom.motion import (
    DEFAULT_MOTION, FRAME_STEP, RETRACTOR_WIDEN, check_motion, instrument_phases, sample_motion, warp,
)
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
    cartoon, or "realistic": camera and tissue variation on top, `engine.phantom.realistic`) and a motion
    ("surgery", the default, or the version-1 "still", `engine.phantom.motion`). The label does not depend on
    the style.

    `render(k)` is sampled frame k (video frame k * FRAME_STEP under "surgery"); `render_video_frame(f)` is any
    video frame f (under "still" a video has only its sampled frames, so f is k)."""

    def __init__(self, seed: int, video: int, width: int = BASE_W, height: int = BASE_H, style: str = "plain",
                 motion: str = DEFAULT_MOTION):
        self.seed, self.video = int(seed), int(video)
        self.style = check_style(style)
        self.motion = check_motion(motion)
        self.scene: Scene = sample_scene(self.seed, self.video, int(width), int(height))
        self._textures: SceneTextures | None = None
        self._look = sample_look(self.seed, self.video) if style == "realistic" else None
        self._moves = sample_motion(self.seed, self.video) if motion == "surgery" else None

    def label(self, frame: int) -> Canvas:
        """Draw sampled frame `frame`'s label (with material and shading maps) from geometry only, before any
        camera motion."""
        if self._moves is not None:
            return self._draw_video_frame(frame * FRAME_STEP)
        scene = self.scene
        canvas = Canvas(scene.height, scene.width)
        t = float(frame)
        draw_anatomy(canvas, scene, t)
        for plan in scene.phase(frame).instruments:
            draw_instrument(canvas, scene, plan, t)
        return canvas

    def _draw_video_frame(self, f: int) -> Canvas:
        scene, moves = self.scene, self._moves
        dx, dy, rot = moves.eye(f, scene.scale)
        c, s = math.cos(rot), math.sin(rot)

        def turn(v):
            return (c * v[0] - s * v[1], s * v[0] + c * v[1])

        moved = dataclasses.replace(scene, center=(scene.center[0] + dx, scene.center[1] + dy),
                                    opening_angle=scene.opening_angle + rot, iris_offset=turn(scene.iris_offset),
                                    pupil_offset=turn(scene.pupil_offset),
                                    retractors=[dataclasses.replace(r, width=r.width * RETRACTOR_WIDEN)
                                                for r in scene.retractors])
        canvas = Canvas(scene.height, scene.width)
        t = f / FRAME_STEP
        draw_anatomy(canvas, moved, t)
        ti = f * moves.instrument_rate
        for phase, retract in instrument_phases(f, scene.phase_length * FRAME_STEP):
            if retract < 1.0:
                for plan in scene.phase(phase * scene.phase_length).instruments:
                    draw_instrument(canvas, moved, plan, ti, retract)
        return canvas

    def render(self, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """(image RGB uint8 HxWx3, label uint8 HxW) of sampled frame `frame` (0, 1, 2, ...)."""
        if frame < 0:
            raise ValueError(f"frame index must be >= 0, got {frame}")
        return self.render_video_frame(frame * FRAME_STEP if self._moves is not None else frame)

    def render_video_frame(self, f: int) -> tuple[np.ndarray, np.ndarray]:
        """(image, label) of video frame `f` (every frame under "surgery"; the sampled frame f under "still")."""
        if f < 0:
            raise ValueError(f"frame index must be >= 0, got {f}")
        with single_threaded_cv2():
            if self._moves is None:
                canvas = self.label(f)
            else:
                canvas = self._draw_video_frame(f)
            if self._textures is None:
                self._textures = SceneTextures(self.scene)
            rng = rng_for(self.seed, self.video, TAG_FRAME, f)
            t = float(f) if self._moves is None else f / FRAME_STEP
            image = render_image(canvas, self.scene, self._textures, t, rng)
            if self._moves is not None:
                image, canvas = self._camera(image, canvas, f)
            if self._look is not None:
                image = apply_realistic(image, canvas, self.scene, self._look, f)
        return image, canvas.label

    def video_label(self, f: int) -> np.ndarray:
        """The label of video frame `f` alone (no image rendered): for measuring motion."""
        with single_threaded_cv2():
            if self._moves is None:
                return self.label(f).label
            m = self._moves.camera(f, self.scene.width, self.scene.height)
            return warp(self._draw_video_frame(f).label, m, nearest=True)

    def _camera(self, image: np.ndarray, canvas: Canvas, f: int) -> tuple[np.ndarray, Canvas]:
        """The microscope's zoom and pan (the whole frame, textures included) and its light flicker."""
        m = self._moves.camera(f, self.scene.width, self.scene.height)
        out = Canvas(canvas.height, canvas.width)
        out.label = warp(canvas.label, m, nearest=True)
        out.material = warp(canvas.material, m, nearest=True)
        out.shade = warp(canvas.shade, m, nearest=False)
        moved = warp(image, m, nearest=False).astype(np.float32) * np.float32(self._moves.gain(f))
        return np.clip(np.rint(moved), 0, 255).astype(np.uint8), out


def render_frame(seed: int, width: int = BASE_W, height: int = BASE_H,
                 style: str = "plain", motion: str = DEFAULT_MOTION) -> tuple[np.ndarray, np.ndarray]:
    """One phantom frame: (image RGB uint8 HxWx3, label uint8 HxW of original CaDIS IDs).

    The same seed always gives the same arrays. It is the first frame of video 0 of that seed.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return VideoRenderer(int(seed), 0, width, height, style, motion).render(0)
