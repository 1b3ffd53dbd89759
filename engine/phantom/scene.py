"""Layout sampling: one `Scene` per video (eye, skin, tape, retractors, hand, lighting, textures) and the
instrument plan of each surgical "phase" (a few consecutive frames using the same instruments).

Every random draw comes from a numpy Generator seeded with `SeedSequence([seed, video, tag, index])`, so a
scene, a phase or a frame depends only on its own numbers: no time, no global state, no hashing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.phantom.instruments_catalog import SPECS, pick_instruments, step_sequence

TAG_SCENE, TAG_PHASE, TAG_FRAME = 0, 1, 2
BASE_W, BASE_H = 960, 540


def rng_for(seed: int, video: int, tag: int, index: int = 0) -> np.random.Generator:
    """The Generator of one scene / phase / frame (independent streams, stable across runs)."""
    if min(seed, video, tag, index) < 0:
        raise ValueError("seed, video and frame numbers must be non-negative integers")
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(video), tag, int(index)])))


@dataclass
class Retractor:
    """A lid speculum arm hooking the eyelid margin at `angle` on the eye-opening outline."""

    angle: float
    span: float          # half-angle of the part that follows the lid margin
    width: float
    blade: bool          # a flat blade instead of a wire loop
    spread: float        # how far the two arms open towards the frame edge


@dataclass
class Hand:
    """A gloved hand entering at a frame edge."""

    anchor: tuple[float, float]   # a point on the frame edge
    direction: float              # angle pointing into the frame
    size: float
    fingers: int
    glove: tuple[int, int, int]


@dataclass
class InstrumentPlan:
    """One instrument in a phase: its class, incision and how its tip moves over the frames."""

    cls: int
    incision: float        # polar angle of the incision on the limbus (radians, image coordinates)
    size: float            # width multiplier
    tip_angle: float       # where the tip points at inside the pupil / around the limbus
    tip_radius: float      # 0..1 of the pupil radius (chamber instruments)
    wobble: tuple[float, float, float, float]  # amplitude / phase of the slow motion
    bend: float            # bend of the tip (cannulas, cystotome)
    opening: float         # jaw opening (forceps) or blade variant
    handle_color: int      # index into the handle colours
    detail: int            # seed of small per-instrument details (cotton outline)


@dataclass
class Phase:
    start: int
    instruments: list[InstrumentPlan]


@dataclass
class Scene:
    """Everything shared by the frames of one video."""

    width: int
    height: int
    scale: float
    center: tuple[float, float]            # eye (opening) centre at frame 0
    drift: tuple[float, float, float, float]  # amplitude x, y and angular speeds of the eye drift
    opening_axes: tuple[float, float]       # semi-axes of the eye opening
    opening_angle: float
    opening_pointy: float
    iris_offset: tuple[float, float]
    iris_radius: float
    pupil_ratio: float
    pupil_offset: tuple[float, float]
    skin_rgb: tuple[int, int, int]
    sclera_rgb: tuple[int, int, int]
    iris_rgb: tuple[int, int, int]
    tape: list[np.ndarray]                  # polygons in frame coordinates
    tape_rgb: tuple[int, int, int]
    retractors: list[Retractor]
    hand: Hand | None
    gain: float
    cast: tuple[float, float, float]
    vignette: float
    blur: float
    noise: float
    texture_seed: int
    main_incision: float
    side_incision: float
    phase_length: int
    steps: list[str]                        # surgical step of each phase (cycled if the video is longer)
    seed: int
    video: int
    _phases: dict[int, Phase] = field(default_factory=dict, repr=False)

    # -- per-frame geometry -------------------------------------------------------------------------------
    def eye_center(self, t: float) -> np.ndarray:
        ax, ay, wx, wy = self.drift
        return np.array([self.center[0] + ax * math.sin(wx * t), self.center[1] + ay * math.sin(wy * t + 1.0)])

    def iris_center(self, t: float) -> np.ndarray:
        return self.eye_center(t) + np.asarray(self.iris_offset)

    def pupil_center(self, t: float) -> np.ndarray:
        return self.iris_center(t) + np.asarray(self.pupil_offset)

    @property
    def pupil_radius(self) -> float:
        return self.iris_radius * self.pupil_ratio

    def opening_polygon(self, t: float, n: int = 96) -> np.ndarray:
        """The eyelid opening (almond shape) as a polygon."""
        return self.opening_points(t, np.linspace(0.0, 2 * np.pi, n, endpoint=False))

    def opening_points(self, t: float, th: np.ndarray) -> np.ndarray:
        """Points of the eyelid-opening outline at parameter angles `th` (Nx2)."""
        a, b = self.opening_axes
        th = np.asarray(th, np.float64)
        ex = a * np.cos(th)
        ey = b * np.sin(th) * (1.0 - self.opening_pointy + self.opening_pointy * np.abs(np.sin(th)) ** 0.5)
        c, s = math.cos(self.opening_angle), math.sin(self.opening_angle)
        cx, cy = self.eye_center(t)
        return np.stack([cx + c * ex - s * ey, cy + s * ex + c * ey], axis=1)

    def phase(self, frame: int) -> Phase:
        """The instrument plan in force at `frame` (phases of `phase_length` frames, sampled lazily)."""
        k = frame // self.phase_length
        if k not in self._phases:
            self._phases[k] = sample_phase(self, k)
        return self._phases[k]


def _choice(rng: np.random.Generator, options: list):
    return options[int(rng.integers(len(options)))]


SKIN_TONES = [(196, 120, 72), (176, 96, 52), (214, 150, 112), (150, 84, 50), (222, 170, 140), (190, 110, 80)]
IRIS_TONES = [(120, 74, 42), (92, 60, 38), (104, 116, 124), (112, 108, 66), (140, 96, 56), (78, 86, 100)]
TAPE_TONES = [(214, 226, 236), (200, 214, 226), (232, 230, 214)]
GLOVES = [(236, 222, 196), (214, 200, 176), (170, 190, 220), (226, 214, 204)]


def _allowed_angle(phi: float) -> bool:
    """Incisions whose instrument leaves the frame through a side, so the handle shows."""
    return abs(math.sin(phi)) <= 0.8


def sample_scene(seed: int, video: int, width: int = BASE_W, height: int = BASE_H) -> Scene:
    """Draw the scene of one video."""
    if width < 32 or height < 32:
        raise ValueError(f"frame size {width}x{height} is too small: use at least 32x32")
    rng = rng_for(seed, video, TAG_SCENE)
    sc = min(width / BASE_W, height / BASE_H)
    zoom = rng.uniform(0.85, 1.12)
    ri = 162.0 * zoom * sc
    cx = width / 2 + rng.uniform(-70, 70) * sc
    cy = height / 2 + rng.uniform(-22, 22) * sc
    b = ri + rng.uniform(70, 135) * sc
    a = max(b * rng.uniform(1.35, 1.75), ri + 150 * sc)
    opening_angle = rng.uniform(-0.18, 0.18)
    drift = (rng.uniform(3, 12) * sc, rng.uniform(2, 8) * sc, rng.uniform(0.15, 0.4), rng.uniform(0.1, 0.35))
    iris_offset = (rng.uniform(-18, 18) * sc, rng.uniform(-10, 10) * sc)
    pupil_ratio = rng.uniform(0.46, 0.66)
    max_off = ri * (1 - pupil_ratio) * 0.25
    pupil_offset = (rng.uniform(-max_off, max_off), rng.uniform(-max_off, max_off))

    skin = _jitter(rng, _choice(rng, SKIN_TONES), 14)
    sclera = _jitter(rng, (238, 222, 214), 10)
    iris = _jitter(rng, _choice(rng, IRIS_TONES), 12)
    tape_rgb = _jitter(rng, _choice(rng, TAPE_TONES), 8)
    tape = _sample_tape(rng, width, height, sc)

    retractors = []
    for base in (-math.pi / 2, math.pi / 2):  # upper and lower lid
        if rng.random() < 0.9:
            retractors.append(Retractor(
                angle=base + (1 if rng.random() < 0.5 else -1) * rng.uniform(0.2, 0.75), span=rng.uniform(0.22, 0.42),
                width=rng.uniform(5, 9) * sc, blade=bool(rng.random() < 0.35), spread=rng.uniform(0.15, 0.5)))

    side = -1.0 if rng.random() < 0.5 else 1.0
    main = (0.0 if side > 0 else math.pi) + rng.uniform(-0.75, 0.75)
    other = main + math.pi + rng.uniform(-0.7, 0.7)
    if not _allowed_angle(other):
        other = main + math.pi

    hand = None
    if rng.random() < 0.3:
        exit_side = math.cos(main) >= 0
        hx = width + 10 * sc if exit_side else -10 * sc
        hand = Hand(anchor=(hx, cy + rng.uniform(40, 200) * sc), direction=math.pi if exit_side else 0.0,
                    size=rng.uniform(90, 130) * sc, fingers=int(rng.integers(2, 5)), glove=_choice(rng, GLOVES))

    return Scene(
        width=width, height=height, scale=sc, center=(cx, cy), drift=drift, opening_axes=(a, b),
        opening_angle=opening_angle, opening_pointy=rng.uniform(0.15, 0.45), iris_offset=iris_offset,
        iris_radius=ri, pupil_ratio=pupil_ratio, pupil_offset=pupil_offset, skin_rgb=skin, sclera_rgb=sclera,
        iris_rgb=iris, tape=tape, tape_rgb=tape_rgb, retractors=retractors, hand=hand,
        gain=rng.uniform(0.85, 1.08),
        cast=(rng.uniform(0.96, 1.08), rng.uniform(0.92, 1.02), rng.uniform(0.82, 0.98)),
        vignette=rng.uniform(0.25, 0.6), blur=rng.uniform(0.5, 1.2), noise=rng.uniform(1.5, 4.5),
        texture_seed=int(rng.integers(2**31)), main_incision=main, side_incision=other,
        phase_length=int(rng.integers(2, 5)), steps=step_sequence(rng, 64), seed=seed, video=video,
    )


def _jitter(rng: np.random.Generator, rgb, amount: float) -> tuple[int, int, int]:
    return tuple(int(np.clip(c + rng.uniform(-amount, amount), 0, 255)) for c in rgb)


def _sample_tape(rng: np.random.Generator, width: int, height: int, sc: float) -> list[np.ndarray]:
    """Two to four tape strips near the frame corners, running roughly along an edge."""
    corners = [(0, 0), (width, 0), (0, height), (width, height)]
    order = rng.permutation(4)[: int(rng.integers(2, 5))]
    strips = []
    for i in order:
        x, y = corners[int(i)]
        inward = math.atan2(height / 2 - y, width / 2 - x)
        along_x = rng.random() < 0.6  # along the top/bottom edge or along the side edge
        ang = (0.0 if along_x else math.pi / 2) + rng.uniform(-0.4, 0.4)
        reach = rng.uniform(40, 110) * sc
        cx = x + math.copysign(rng.uniform(60, 200) * sc if along_x else reach, math.cos(inward))
        cy = y + math.copysign(reach if along_x else rng.uniform(40, 150) * sc, math.sin(inward))
        half_len, half_w = rng.uniform(140, 260) * sc, rng.uniform(26, 50) * sc
        u = np.array([math.cos(ang), math.sin(ang)])
        n = np.array([-u[1], u[0]])
        c = np.array([cx, cy])
        strips.append(np.array([c - u * half_len - n * half_w, c + u * half_len - n * half_w,
                                c + u * half_len + n * half_w, c - u * half_len + n * half_w]))
    return strips


def sample_phase(scene: Scene, index: int) -> Phase:
    """The instruments of phase `index`: 1-3 classes, common ones often and rare ones rarely."""
    rng = rng_for(scene.seed, scene.video, TAG_PHASE, index)
    classes = pick_instruments(rng, scene.steps[index % len(scene.steps)])
    plans = []
    used: list[float] = []
    for i, cls in enumerate(classes):
        if i == 0:
            phi = scene.main_incision
        elif i == 1:
            phi = scene.side_incision
        else:
            phi = _free_angle(rng, used)
        phi += rng.uniform(-0.12, 0.12)
        used.append(phi)
        spec = SPECS[cls]
        plans.append(InstrumentPlan(
            cls=cls, incision=phi, size=rng.uniform(0.95, 1.35), tip_angle=rng.uniform(0, 2 * math.pi),
            tip_radius=rng.uniform(0.0, 0.7),
            wobble=(rng.uniform(0.1, 0.35), rng.uniform(0, 2 * math.pi), rng.uniform(0.2, 0.6),
                    rng.uniform(0, 2 * math.pi)),
            bend=rng.uniform(-0.6, 0.6) if spec.bend else 0.0, opening=rng.uniform(0.0, 1.0),
            handle_color=int(rng.integers(4)), detail=int(rng.integers(2**31)),
        ))
    return Phase(start=index * scene.phase_length, instruments=plans)


def _free_angle(rng: np.random.Generator, used: list[float]) -> float:
    """An allowed incision angle at least ~45 degrees from the ones in use (falls back to the best found)."""
    best, best_gap = 0.0, -1.0
    for _ in range(24):
        phi = rng.uniform(0, 2 * math.pi)
        if not _allowed_angle(phi):
            continue
        gap = min(abs(math.remainder(phi - u, 2 * math.pi)) for u in used) if used else math.pi
        if gap > best_gap:
            best, best_gap = phi, gap
        if gap > 0.8:
            break
    return best
