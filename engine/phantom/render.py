"""Rendering the image from the drawn label: base colours by material, textures (skin, sclera vessels,
radial iris fibres, red reflex), cylinder shading and highlights on instruments, shadows, microscope lighting
(vignette, colour cast), mild blur and sensor noise.

Textures and vessels come from the scene's own Generator, so they are the same in every frame of a video;
the frame Generator only drives per-frame light flicker, highlight jitter and noise.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from engine.phantom import materials as M
from engine.phantom.canvas import Canvas
from engine.phantom.scene import Scene

_METALLIC = M.flag_lut(M.METALLIC)
_SHADED = M.flag_lut(M.SHADED)


def _texture_weights() -> np.ndarray:
    """(256, 3) weights of the low / mid / fine noise in the multiplicative texture of each material."""
    w = np.zeros((256, 3), np.float32)
    w[M.SKIN] = (0.13, 0.07, 0.05)
    w[M.TAPE] = (0.0, 0.03, 0.02)
    w[M.SCLERA] = (0.025, 0.02, 0.015)
    return w


_TEXTURE_WEIGHTS = _texture_weights()


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells_y: int, cells_x: int) -> np.ndarray:
    """Value noise in about [-1, 1]: a small random grid upsampled with bicubic interpolation."""
    grid = rng.standard_normal((max(cells_y, 2), max(cells_x, 2))).astype(np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


class SceneTextures:
    """The textures of one video, built once per scene and reused for all its frames."""

    def __init__(self, scene: Scene):
        h, w, sc = scene.height, scene.width, scene.scale
        rng = np.random.Generator(np.random.PCG64(scene.texture_seed))
        self.low = _smooth_noise(rng, h, w, 7, 12)
        self.mid = _smooth_noise(rng, h, w, 40, 70)
        self.fine = _smooth_noise(rng, h, w, max(h // 3, 2), max(w // 3, 2))
        self.fibre_k = rng.integers(18, 140, 24).astype(np.float32)
        self.fibre_phase = rng.uniform(0, 2 * math.pi, 24).astype(np.float32)
        self.fibre_amp = rng.uniform(0.3, 1.0, 24).astype(np.float32)
        self.vessels = _sample_vessels(rng, scene)
        self.vessel_rgb = np.array([170, 40, 42], np.float32) + rng.uniform(-15, 15, 3).astype(np.float32)
        self.light_dir = rng.uniform(-0.6, -0.2)
        self.reflex = rng.uniform(0.85, 1.1)
        self.scale = sc


def _sample_vessels(rng: np.random.Generator, scene: Scene) -> list[np.ndarray]:
    """Wavy vessels from the lid margin toward the limbus, as polylines relative to the eye centre."""
    vessels = []
    centre = np.asarray(scene.eye_center(0))
    ri = scene.iris_radius
    for _ in range(int(rng.integers(6, 14))):
        th = rng.uniform(0, 2 * math.pi)
        start = scene.opening_points(0, np.array([th]))[0] - centre
        r0 = float(np.hypot(*start))
        ang = math.atan2(start[1], start[0])
        steps = int(rng.integers(10, 18))
        stop = ri + rng.uniform(5, 40) * scene.scale
        pts = []
        turn = 0.0
        for j in range(steps + 1):
            r = r0 + (stop - r0) * j / steps
            turn = 0.6 * turn + rng.uniform(-0.035, 0.035)
            ang += turn
            pts.append((r * math.cos(ang), r * math.sin(ang)))
            if j == steps // 2 and rng.random() < 0.5:  # a side branch
                b_ang, b_r, branch = ang, r, [pts[-1]]
                for _ in range(int(rng.integers(3, 7))):
                    b_r += (stop - r0) / steps * rng.uniform(0.5, 1.0)
                    b_ang += rng.uniform(0.02, 0.07) * (1 if j % 2 else -1)
                    branch.append((b_r * math.cos(b_ang), b_r * math.sin(b_ang)))
                vessels.append(np.array(branch, np.float32))
        vessels.append(np.array(pts, np.float32))
    return vessels


def render_image(canvas: Canvas, scene: Scene, tex: SceneTextures, t: float,
                 rng: np.random.Generator) -> np.ndarray:
    """The RGB uint8 image of a drawn frame."""
    h, w = canvas.label.shape
    label, mat = canvas.label, canvas.material
    glove = scene.hand.glove if scene.hand is not None else (230, 220, 200)
    lut = M.material_lut(scene.skin_rgb, scene.tape_rgb, glove, scene.iris_rgb, scene.sclera_rgb)
    img = lut[mat]

    # Surfaces: multiplicative texture per material.
    weights = _TEXTURE_WEIGHTS[mat]
    tex_gain = 1.0 + weights[..., 0] * tex.low + weights[..., 1] * tex.mid + weights[..., 2] * tex.fine
    img *= tex_gain[..., None]
    sclera = label == 6

    _paint_vessels(img, scene, tex, t, sclera)
    _paint_iris(img, scene, tex, t, mat == M.IRIS)
    _paint_pupil(img, scene, tex, t, mat == M.PUPIL, rng)
    _lid_shadow(img, scene, t, label)
    _shade_instruments(img, canvas, tex)
    _cast_shadows(img, label, scene.scale)
    _light(img, scene, t, rng)

    sigma = scene.blur * scene.scale * rng.uniform(0.85, 1.15)
    if sigma > 0.25:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(scene.noise)
    np.rint(img, out=img)
    np.clip(img, 0, 255, out=img)
    return img.astype(np.uint8)


def _paint_vessels(img: np.ndarray, scene: Scene, tex: SceneTextures, t: float, sclera: np.ndarray) -> None:
    h, w = sclera.shape
    mask = np.zeros((h, w), np.uint8)
    centre = scene.eye_center(t)
    thick = max(1, int(round(1.2 * scene.scale)))
    for v in tex.vessels:
        pts = np.round((v + centre) * 16).astype(np.int32)
        cv2.polylines(mask, [pts], False, 255, thick, cv2.LINE_AA, 4)
    ys, xs = np.nonzero((mask > 0) & sclera)
    alpha = (mask[ys, xs].astype(np.float32) * (0.5 / 255.0))[:, None]
    img[ys, xs] += (tex.vessel_rgb - img[ys, xs]) * alpha


def _bbox(cx: float, cy: float, r: float, h: int, w: int) -> tuple[int, int, int, int]:
    return max(int(cx - r) - 1, 0), max(int(cy - r) - 1, 0), min(int(cx + r) + 2, w), min(int(cy + r) + 2, h)


def _paint_iris(img: np.ndarray, scene: Scene, tex: SceneTextures, t: float, iris: np.ndarray) -> None:
    """Radial fibres, a bright collarette, a dark limbal ring and a dark pupillary margin."""
    h, w = iris.shape
    cx, cy = scene.iris_center(t)
    x0, y0, x1, y1 = _bbox(cx, cy, scene.iris_radius, h, w)
    sel = iris[y0:y1, x0:x1]
    if not sel.any():
        return
    ys, xs = np.nonzero(sel)
    dx, dy = xs + x0 - cx, ys + y0 - cy
    r = np.hypot(dx, dy).astype(np.float32)
    theta = np.arctan2(dy, dx).astype(np.float32)
    rp, ri = scene.pupil_radius, scene.iris_radius
    rn = np.clip((r - rp) / max(ri - rp, 1.0), 0.0, 1.0)
    fib = np.zeros_like(r)
    for k, ph, a in zip(tex.fibre_k, tex.fibre_phase, tex.fibre_amp):
        fib += a * np.sin(k * theta + ph + 2.0 * rn)
    fib /= float(np.sum(tex.fibre_amp)) * 0.35
    gain = 0.82 + 0.16 * np.tanh(fib)
    gain += 0.22 * np.exp(-((rn - 0.32) / 0.09) ** 2)           # collarette
    gain *= 1.0 - 0.45 * np.clip((rn - 0.82) / 0.18, 0, 1) ** 2  # limbal ring
    gain *= 1.0 - 0.35 * np.exp(-rn / 0.05)                      # pupillary margin
    gain *= 1.0 + 0.12 * tex.mid[ys + y0, xs + x0] + 0.06 * tex.fine[ys + y0, xs + x0]  # crypts, patches
    block = img[y0:y1, x0:x1]
    block[ys, xs] *= gain[:, None]


def _paint_pupil(img: np.ndarray, scene: Scene, tex: SceneTextures, t: float, pupil: np.ndarray,
                 rng: np.random.Generator) -> None:
    """Red-orange reflex bright in the middle, darker at the rim, with the microscope's specular highlights."""
    h, w = pupil.shape
    cx, cy = scene.pupil_center(t)
    rp = scene.pupil_radius
    x0, y0, x1, y1 = _bbox(cx, cy, rp, h, w)
    sel = pupil[y0:y1, x0:x1]
    if not sel.any():
        return
    ys, xs = np.nonzero(sel)
    dx, dy = xs + x0 - cx, ys + y0 - cy
    d = (np.hypot(dx, dy) / rp).astype(np.float32)
    inner = np.array([255, 150, 70], np.float32) * tex.reflex
    outer = np.array([140, 34, 20], np.float32)
    mix = np.clip(d, 0, 1)[:, None] ** 1.6
    colour = inner * (1 - mix) + outer * mix
    colour *= (1.0 + 0.08 * tex.mid[ys + y0, xs + x0])[:, None]
    # Specular highlights: a main spot and a smaller second reflection.
    hx, hy = rp * (0.22 + rng.uniform(-0.04, 0.04)), -rp * (0.28 + rng.uniform(-0.04, 0.04))
    for (ox, oy, rad, s) in ((hx, hy, 0.09, 1.0), (-0.6 * hx, -0.5 * hy, 0.05, 0.7)):
        g = np.exp(-((dx - ox) ** 2 + (dy - oy) ** 2) / (2 * (rad * rp) ** 2)).astype(np.float32)
        colour += (255.0 - colour) * (s * g)[:, None]
    img[y0:y1, x0:x1][ys, xs] = colour


def _lid_shadow(img: np.ndarray, scene: Scene, t: float, label: np.ndarray) -> None:
    """Darken the eye near the lid margin so the globe looks recessed."""
    h, w = label.shape
    eye = np.zeros((h, w), np.uint8)
    poly = np.round(scene.opening_polygon(t) * 16).astype(np.int32)
    cv2.fillPoly(eye, [poly], 1, cv2.LINE_8, 4)
    dist = cv2.distanceTransform(eye, cv2.DIST_L2, 3)
    factor = 1.0 - 0.4 * np.exp(-dist / (22.0 * scene.scale)) * eye
    img *= factor[..., None]


def _shade_instruments(img: np.ndarray, canvas: Canvas, tex: SceneTextures) -> None:
    """Cylinder shading across each part with a specular streak; metals shine more than plastics."""
    mat = canvas.material
    shaded = _SHADED[mat]
    if not shaded.any():
        return
    s = canvas.shade[shaded]
    metal = _METALLIC[mat][shaded]
    body = np.sqrt(np.clip(1.0 - s * s, 0.0, 1.0))
    spec = np.exp(-((s - tex.light_dir) / 0.2) ** 2)
    base = np.where(metal, 0.45 + 0.55 * body, 0.72 + 0.28 * body)
    spec_gain = np.where(metal, 0.85, 0.35)
    px = img[shaded]
    img[shaded] = px * base[:, None] + (255.0 - px * base[:, None]) * (spec_gain * spec)[:, None]


def _cast_shadows(img: np.ndarray, label: np.ndarray, sc: float) -> None:
    """Soft shadows of instruments, retractors and hands on whatever lies below them."""
    h, w = label.shape
    occ = ((label >= 7) | (label == 2) | (label == 3)).astype(np.float32)
    if not occ.any():
        return
    f = 4  # the shadow is soft: compute it at a quarter of the resolution
    small = cv2.resize(occ, (max(w // f, 1), max(h // f, 1)), interpolation=cv2.INTER_AREA)
    shift = np.float32([[1, 0, 9 * sc / f], [0, 1, 13 * sc / f]])
    small = cv2.warpAffine(small, shift, (small.shape[1], small.shape[0]))
    small = cv2.GaussianBlur(small, (0, 0), 7 * sc / f + 0.5)
    shadow = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    img *= (1.0 - 0.45 * shadow * (1.0 - occ))[..., None]


def _light(img: np.ndarray, scene: Scene, t: float, rng: np.random.Generator) -> None:
    """Microscope light: bright around the eye centre, vignette to the corners, colour cast and flicker."""
    h, w = img.shape[:2]
    cx, cy = scene.eye_center(t)
    ys = ((np.arange(h, dtype=np.float32) - cy) / (0.62 * w)) ** 2
    xs = ((np.arange(w, dtype=np.float32) - cx) / (0.62 * w)) ** 2
    r2 = ys[:, None] + xs[None, :]
    fall = 1.0 - scene.vignette * np.minimum(r2, 1.5)
    gain = scene.gain * rng.uniform(0.96, 1.04)
    img *= fall[..., None] * (gain * np.asarray(scene.cast, np.float32))
