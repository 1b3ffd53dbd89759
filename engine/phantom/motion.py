"""How a phantom video moves from one video frame to the next (phantom version 3).

Two motions:

- "surgery" (the default): measured against real CaDIS label copies (shared/cadis_reference.md; calibration in
  docs/benchmarks/phantom_motion.md). Per video frame f: the microscope zooms and pans (a similarity warp of the
  whole rendered frame, never showing past the scene's edge), the eye translates and rotates in the scene,
  instruments wobble at working speed, leave at the end of a phase and the next phase's instruments enter
  (sliding in along their shaft, so two of them can cross), and the light flickers.
- "still" (phantom version 1): one time step per sampled frame, slow eye drift only (the old default; frame k
  of a sample is frame index k, with no frames in between).

Sampled frame k of a dataset is video frame k * FRAME_STEP under "surgery"; every frame in between exists, which
is what `cadis phantom --video` writes. All draws come from `rng_for(seed, video, TAG_MOTION)`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from engine.phantom.scene import rng_for

MOTIONS = ("surgery", "still")
DEFAULT_MOTION = "surgery"
TAG_MOTION = 12
FRAME_STEP = 30          # video frames between two sampled frames, as in CaDIS
LEAVE, ENTER = 14, 8     # frames the old instruments take to leave, the new ones to enter, before a phase starts
# Calibrated against the real label-copy figures (docs/benchmarks/phantom_motion.md): ranges drawn per video.
# Version 3 (this): slower, smoother re-centring (30-frame moves) and a stronger 85-95-frame drift, so a 10-frame
# gap changes less and a 30-frame gap more (version 2: 10-frame moves every 25-45 frames, 0.58-0.62 mIoU at 10).
EYE_INTERVAL = (35, 55)      # frames between two eye re-centrings
CAMERA_INTERVAL = (35, 60)   # frames between two microscope moves
TRANSITION = 30              # frames one move takes (at most the interval less one)
EYE_X, EYE_Y, EYE_ROT = (21, 50), (10, 29), (0.05, 0.2)
DRIFT, DRIFT_PERIOD = (18, 30), (85, 95)   # px and frames of a rhythmic drift on top
ZOOM = (0.10, 0.32)
INSTRUMENT_RATE = (1 / 20, 1 / 10)
RETRACTOR_WIDEN = 5.0        # the lid speculum as thick as in real frames (version 2: 2.0; version 1: thin wires)


def check_motion(motion: str) -> str:
    if motion not in MOTIONS:
        raise ValueError(f"unknown phantom motion {motion!r}: choose one of {', '.join(MOTIONS)}")
    return motion


def _wave(terms: list[tuple[float, float, float]], f: float) -> float:
    return sum(a * math.sin(2 * math.pi * f / period + ph) for a, period, ph in terms)


def _knot(seed: int, video: int, channel: int, index: int) -> np.ndarray:
    """Three uniform(-1, 1) numbers: where one motion channel goes at its knot `index`."""
    return rng_for(seed, video, TAG_MOTION, 1 + 2 * index + channel).uniform(-1.0, 1.0, 3)


@dataclass(frozen=True)
class Moves:
    """One channel that holds still, then moves to a new random place (surgeons re-centre in bursts): knots every
    `interval` frames, the last `transition` frames of each interval blend to the next knot."""

    seed: int
    video: int
    channel: int
    interval: int
    transition: int

    def at(self, f: float) -> np.ndarray:
        k = int(f // self.interval)
        into = f - k * self.interval
        a = _knot(self.seed, self.video, self.channel, k)
        start = self.interval - self.transition
        if into <= start:
            return a
        w = _smooth((into - start) / self.transition)
        return (1 - w) * a + w * _knot(self.seed, self.video, self.channel, k + 1)


@dataclass(frozen=True)
class Motion:
    """One video's motion: bursts of eye and camera motion (`Moves`) plus a slow drift (amplitude, period, phase)."""

    eye_moves: Moves
    eye_amp: tuple           # (x px, y px, rotation radians) at base scale
    drift_x: list
    drift_y: list
    camera_moves: Moves
    zoom: float              # zoom factor 1 .. 1 + zoom
    flicker: tuple           # (amount, period, phase) of the light's gain
    instrument_rate: float   # instrument time units per video frame

    def eye(self, f: float, scale: float) -> tuple[float, float, float]:
        """(dx, dy, rotation) of the eye in the scene at video frame f."""
        u = self.eye_moves.at(f)
        ax, ay, ar = self.eye_amp
        return ((ax * u[0] + _wave(self.drift_x, f)) * scale, (ay * u[1] + _wave(self.drift_y, f)) * scale, ar * u[2])

    def camera(self, f: float, width: int, height: int) -> np.ndarray:
        """2x3 affine from scene to frame pixels at video frame f (zoom >= 1 about a panned centre)."""
        u = self.camera_moves.at(f)
        z = 1.0 + self.zoom * (0.5 + 0.5 * u[0])
        px, py = width / 2 * (1 - 1 / z) * u[1], height / 2 * (1 - 1 / z) * u[2]
        cx, cy = (width - 1) / 2, (height - 1) / 2
        # frame = z * (scene - (c + p)) + c
        return np.array([[z, 0.0, cx - z * (cx + px)], [0.0, z, cy - z * (cy + py)]], np.float64)

    def gain(self, f: float) -> float:
        amount, period, ph = self.flicker
        return 1.0 + amount * math.sin(2 * math.pi * f / period + ph) + 0.5 * amount * math.sin(2 * math.pi * f / 7.3)


def sample_motion(seed: int, video: int) -> Motion:
    rng = rng_for(seed, video, TAG_MOTION)

    def terms(n, amp, periods):
        return [(float(rng.uniform(*amp)) * (1 if rng.random() < 0.5 else -1), float(rng.uniform(*periods)),
                 float(rng.uniform(0, 2 * math.pi))) for _ in range(n)]

    eye_interval = int(rng.integers(*EYE_INTERVAL))
    cam_interval = int(rng.integers(*CAMERA_INTERVAL))
    return Motion(
        eye_moves=Moves(seed, video, 0, eye_interval, min(eye_interval - 1, TRANSITION)),
        eye_amp=(float(rng.uniform(*EYE_X)), float(rng.uniform(*EYE_Y)), float(rng.uniform(*EYE_ROT))),
        drift_x=terms(1, DRIFT, DRIFT_PERIOD), drift_y=terms(1, DRIFT, DRIFT_PERIOD),
        camera_moves=Moves(seed, video, 1, cam_interval, min(cam_interval - 1, TRANSITION)),
        zoom=float(rng.uniform(*ZOOM)),
        flicker=(float(rng.uniform(0.02, 0.06)), float(rng.uniform(15, 45)), float(rng.uniform(0, 2 * math.pi))),
        instrument_rate=float(rng.uniform(*INSTRUMENT_RATE)),
    )


def instrument_phases(f: int, phase_frames: int) -> list[tuple[int, float]]:
    """[(phase index, retraction 0..1)] of the instruments shown at video frame f: 0 is in place, 1 out of view.
    The last LEAVE + ENTER frames before a phase starts, the old phase's instruments slide out and then the new
    ones slide in, so every sampled frame (a multiple of FRAME_STEP) shows its phase fully in place."""
    j = f // phase_frames
    to_next = (j + 1) * phase_frames - f          # frames until the next phase starts (1 .. phase_frames)
    if to_next > LEAVE + ENTER:
        return [(j, 0.0)]
    if to_next > ENTER:                           # leaving
        return [(j, _smooth((LEAVE + ENTER - to_next + 1) / LEAVE))]
    return [(j + 1, _smooth(to_next / (ENTER + 1)))]


def _smooth(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


def warp(arr: np.ndarray, m: np.ndarray, nearest: bool) -> np.ndarray:
    h, w = arr.shape[:2]
    return cv2.warpAffine(arr, m, (w, h), flags=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
