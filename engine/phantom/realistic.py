"""The "realistic" phantom style: the ways real surgical video differs from the clean cartoon.

The plain renderer gives every class a near-constant colour, so a pixel's colour alone nearly names its
class. This style post-processes the rendered frame (the label is never touched) with what a real
microscope camera adds, drawn per video (`VideoLook`) and jittered per frame:

- tissue colour: skin, iris, sclera/cornea and tape hue, saturation and brightness change per video;
- specular highlights: bright streaks along instrument shafts and the microscope lamps' reflections on
  the cornea;
- exposure and illumination falloff: an overall gain and an off-centre radial falloff of the light;
- white balance / colour cast: per-channel gains per video;
- defocus (Gaussian) and motion blur (a short line kernel in a random direction, in some frames);
- sensor noise: signal-dependent (shot) noise plus read noise, slightly colour-correlated;
- compression: the frame goes through JPEG at a per-video quality (blocking and ringing).

Every draw comes from `rng_for(seed, video, TAG_LOOK / TAG_LOOK_FRAME, ...)`, so the same seed, video and
frame always give the same bytes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from engine.phantom import materials as M
from engine.phantom.canvas import Canvas
from engine.phantom.scene import Scene, rng_for

STYLES = ("plain", "realistic")
TAG_LOOK, TAG_LOOK_FRAME = 10, 11
CORNEA = 6
_TISSUE = (M.SKIN, M.IRIS, M.SCLERA, M.TAPE)
_METALLIC = M.flag_lut(M.METALLIC)


def check_style(style: str) -> str:
    if style not in STYLES:
        raise ValueError(f"unknown phantom style {style!r}; choose one of {', '.join(STYLES)}")
    return style


@dataclass(frozen=True)
class VideoLook:
    """One video's camera and tissue: what stays the same from frame to frame."""

    exposure: float                       # overall gain
    falloff: float                        # strength of the radial light falloff
    falloff_centre: tuple[float, float]   # its centre, as fractions of the frame
    white_balance: tuple[float, float, float]
    tissue_hsv: dict                      # material -> (hue shift in OpenCV units, saturation x, value x)
    defocus: float                        # Gaussian sigma at 960 px width
    motion_chance: float                  # share of frames with motion blur
    noise: float                          # read-noise std (0-255 scale)
    shot: float                           # shot-noise factor
    jpeg_quality: int
    lamps: int                            # microscope lamp reflections on the cornea
    specular: float                       # highlight strength


def sample_look(seed: int, video: int) -> VideoLook:
    rng = rng_for(seed, video, TAG_LOOK)
    wb = rng.uniform(0.78, 1.22, 3)
    wb = wb / wb.mean()
    tissue = {m: (float(rng.uniform(-9, 9)), float(rng.uniform(0.6, 1.45)), float(rng.uniform(0.75, 1.2)))
              for m in _TISSUE}
    return VideoLook(
        exposure=float(math.exp(rng.uniform(math.log(0.6), math.log(1.35)))),
        falloff=float(rng.uniform(0.15, 0.65)),
        falloff_centre=(float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.3, 0.7))),
        white_balance=(float(wb[0]), float(wb[1]), float(wb[2])),
        tissue_hsv=tissue,
        defocus=float(rng.uniform(0.0, 2.5)),
        motion_chance=float(rng.uniform(0.1, 0.5)),
        noise=float(rng.uniform(2.0, 7.0)),
        shot=float(rng.uniform(0.3, 1.0)),
        jpeg_quality=int(rng.integers(35, 80)),
        lamps=int(rng.integers(1, 4)),
        specular=float(rng.uniform(0.5, 1.0)),
    )


def _tissue_colour(img: np.ndarray, material: np.ndarray, look: VideoLook) -> np.ndarray:
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV).astype(np.float32)
    for m, (dh, ds, dv) in look.tissue_hsv.items():
        sel = material == m
        if not sel.any():
            continue
        hsv[..., 0][sel] = np.mod(hsv[..., 0][sel] + dh, 180.0)
        hsv[..., 1][sel] *= ds
        hsv[..., 2][sel] *= dv
    np.clip(hsv, 0, [179, 255, 255], out=hsv)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)


def _specular(img: np.ndarray, canvas: Canvas, scene: Scene, look: VideoLook, rng: np.random.Generator) -> None:
    """Add highlights in place (float32 image): streaks on metal, lamp reflections on the cornea."""
    h, w = canvas.label.shape
    metal = _METALLIC[canvas.material]
    if metal.any():
        centre = rng.uniform(0.2, 0.6)
        streak = np.exp(-((canvas.shade - centre) / 0.12) ** 2) * metal
        img += (look.specular * 170.0 * streak)[..., None]
    cornea = (canvas.label == CORNEA) | (canvas.label == 0)
    if cornea.any():
        ys, xs = np.nonzero(cornea)
        cx, cy = float(xs.mean()), float(ys.mean())
        spread = 0.35 * math.sqrt(len(xs) / math.pi)
        spots = np.zeros((h, w), np.float32)
        for _ in range(look.lamps):
            px = int(cx + rng.uniform(-spread, spread))
            py = int(cy + rng.uniform(-spread, spread))
            ax = max(2, int(rng.uniform(4, 12) * scene.scale))
            ay = max(2, int(ax * rng.uniform(0.4, 1.0)))
            cv2.ellipse(spots, (px, py), (ax, ay), float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
        spots = cv2.GaussianBlur(spots, (0, 0), max(0.8, 2.0 * scene.scale)) * cornea
        img += (look.specular * 220.0 * spots)[..., None]


def _illumination(img: np.ndarray, look: VideoLook, rng: np.random.Generator) -> None:
    h, w = img.shape[:2]
    cx, cy = look.falloff_centre[0] * w, look.falloff_centre[1] * h
    ys = ((np.arange(h, dtype=np.float32) - cy) / (0.7 * w)) ** 2
    xs = ((np.arange(w, dtype=np.float32) - cx) / (0.7 * w)) ** 2
    fall = 1.0 - look.falloff * np.minimum(ys[:, None] + xs[None, :], 1.5)
    gain = look.exposure * float(rng.uniform(0.9, 1.1))
    img *= (fall * gain)[..., None] * np.asarray(look.white_balance, np.float32)


def _blur(img: np.ndarray, look: VideoLook, scale: float, rng: np.random.Generator) -> np.ndarray:
    sigma = look.defocus * scale * float(rng.uniform(0.7, 1.3))
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    if rng.uniform() < look.motion_chance:
        length = max(3, int(round(rng.uniform(4, 16) * scale)))
        angle = rng.uniform(0, math.pi)
        k = np.zeros((length, length), np.float32)
        c = (length - 1) / 2
        dx, dy = math.cos(angle) * c, math.sin(angle) * c
        cv2.line(k, (int(round(c - dx)), int(round(c - dy))), (int(round(c + dx)), int(round(c + dy))), 1.0, 1)
        img = cv2.filter2D(img, -1, k / max(k.sum(), 1e-6), borderType=cv2.BORDER_REFLECT)
    return img


def _noise(img: np.ndarray, look: VideoLook, rng: np.random.Generator) -> None:
    h, w = img.shape[:2]
    lum = np.clip(img.mean(axis=2, keepdims=True), 0, 255)
    std = np.sqrt(look.noise ** 2 + look.shot * lum)
    shared = rng.standard_normal((h, w, 1), dtype=np.float32)
    own = rng.standard_normal((h, w, 3), dtype=np.float32)
    img += std * (0.6 * shared + 0.8 * own)


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV always has a JPEG codec
        return img
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def apply_realistic(image: np.ndarray, canvas: Canvas, scene: Scene, look: VideoLook, frame: int) -> np.ndarray:
    """The realistic version of a plain rendered frame (RGB uint8 HxWx3); the label is not changed."""
    rng = rng_for(scene.seed, scene.video, TAG_LOOK_FRAME, frame)
    img = _tissue_colour(image, canvas.material, look).astype(np.float32)
    _specular(img, canvas, scene, look, rng)
    _illumination(img, look, rng)
    img = _blur(img, look, scene.scale, rng)
    _noise(img, look, rng)
    np.clip(np.rint(img), 0, 255, out=img)
    return _jpeg(img.astype(np.uint8), look.jpeg_quality)
