"""Drawing the anatomy into the label: skin, surgical tape, the eye opening (cornea class), iris ring, pupil,
lid retractors and sometimes a gloved hand. Instruments are drawn on top by `engine.phantom.instruments`.
"""
from __future__ import annotations

import math

import numpy as np

from engine.phantom import materials as M
from engine.phantom.canvas import Canvas, bar, disk_polygon, disk_shade, rotate, tube, unit
from engine.phantom.scene import Scene

PUPIL, TAPE, HAND, RETRACTOR, IRIS, SKIN, CORNEA = 0, 1, 2, 3, 4, 5, 6


def draw_anatomy(canvas: Canvas, scene: Scene, t: float) -> None:
    """Skin is the canvas background; everything else is drawn back to front."""
    for strip in scene.tape:
        canvas.fill(strip, TAPE, M.TAPE)
    canvas.fill(scene.opening_polygon(t), CORNEA, M.SCLERA)
    ic, pc = scene.iris_center(t), scene.pupil_center(t)
    canvas.fill(disk_polygon(ic[0], ic[1], scene.iris_radius, 120), IRIS, M.IRIS)
    canvas.fill(disk_polygon(pc[0], pc[1], scene.pupil_radius, 96), PUPIL, M.PUPIL)
    for retractor in scene.retractors:
        _draw_retractor(canvas, scene, retractor, t)
    if scene.hand is not None:
        _draw_hand(canvas, scene, t)


def _draw_retractor(canvas: Canvas, scene: Scene, r, t: float) -> None:
    """A wire loop (or a flat blade) hooked on the lid margin, its two arms running off the frame."""
    th = np.linspace(r.angle - r.span, r.angle + r.span, 12)
    margin = scene.opening_points(t, th)
    centre = scene.eye_center(t)
    # Pull the margin slightly outward so the wire sits on the lid edge, not inside the eye.
    out = np.array([unit(p - centre) for p in margin])
    margin = margin + out * r.width * 0.2
    far = 2000 * scene.scale
    ends = []
    for p, o, s in ((margin[0], out[0], -1.0), (margin[-1], out[-1], 1.0)):
        ends.append(p + rotate(o, s * r.spread) * far)
    if r.blade:
        outer = margin + out * r.width * 2.6
        canvas.fill(np.concatenate([margin, outer[::-1]]), RETRACTOR, M.RETRACTOR)
    tube(canvas, [ends[0], *margin, ends[1]], r.width, RETRACTOR, M.RETRACTOR)


def _draw_hand(canvas: Canvas, scene: Scene, t: float) -> None:
    """A palm at the frame edge with a few fingers pointing in; kept clear of the iris."""
    hand = scene.hand
    anchor = np.asarray(hand.anchor, np.float64)
    dist = float(np.hypot(*(scene.iris_center(t) - anchor)))
    size = min(hand.size, (dist - scene.iris_radius - 40 * scene.scale) / 1.7)
    if size < 12 * scene.scale:
        return
    d = np.array([math.cos(hand.direction), math.sin(hand.direction)])
    palm = anchor - d * size * 0.2
    canvas.fill(disk_polygon(palm[0], palm[1], size * 0.95, 40, ry=size * 0.75, angle=hand.direction),
                HAND, M.GLOVE, disk_shade(palm[0], palm[1], size))
    for i in range(hand.fingers):
        a = (i - (hand.fingers - 1) / 2) * 0.32
        fd = rotate(d, a)
        base = palm + fd * size * 0.55
        tip = base + fd * size * (0.85 - 0.12 * abs(i - (hand.fingers - 1) / 2))
        bar(canvas, base, tip, size * 0.3, size * 0.26, HAND, M.GLOVE)
        cap = size * 0.13
        canvas.fill(disk_polygon(tip[0], tip[1], cap, 16), HAND, M.GLOVE, disk_shade(tip[0], tip[1], cap))
