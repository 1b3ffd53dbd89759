"""Drawing the instruments: each one enters from the frame edge through a corneal incision toward the pupil,
with its handle class (``engine.taxonomy.HANDLE_OF``) drawn from a little outside the incision to the edge.
"""
from __future__ import annotations

import math

import numpy as np

from engine.phantom import materials as M
from engine.phantom.canvas import Canvas, bar, bar_shade, disk_polygon, rotate, tube, unit
from engine.phantom.instruments_catalog import SPECS
from engine.phantom.scene import InstrumentPlan, Scene

FAR = 3000.0  # "to beyond the frame edge", in base pixels (scaled)


def direction(angle: float) -> np.ndarray:
    return np.array([math.cos(angle), math.sin(angle)])


def pose(scene: Scene, plan: InstrumentPlan, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tip, outward unit direction, incision point) of an instrument at frame time `t`."""
    a1, ph1, a2, ph2 = plan.wobble
    c, p = scene.iris_center(t), scene.pupil_center(t)
    ri, rp, sc = scene.iris_radius, scene.pupil_radius, scene.scale
    incision = c + (ri + 4 * sc) * direction(plan.incision)
    placement = SPECS[plan.cls].placement
    if placement == "chamber":
        rho = min(max(plan.tip_radius + a1 * math.sin(0.5 * t + ph1), 0.0), 0.8)
        psi = plan.tip_angle + 1.5 * a2 * math.sin(0.4 * t + ph2)
        tip = p + rp * rho * direction(psi)
        u = unit(incision - tip)
    elif placement == "incision":
        depth = ri * (0.15 + 0.3 * (0.5 + 0.5 * math.sin(0.5 * t + ph1)))
        u = rotate(direction(plan.incision), 0.5 * a2 * math.sin(0.4 * t + ph2))
        tip = incision - u * depth
    else:  # surface and special instruments: tip around the limbus, shaft pointing outward
        ang = plan.incision + 0.15 * math.sin(0.4 * t + ph2)
        tip = c + (ri + (plan.tip_radius * 70 - 20) * sc) * direction(ang)
        u = rotate(direction(plan.incision), (plan.opening - 0.5) * 0.8 + a1 * math.sin(0.3 * t + ph1))
    return tip, u, incision


def draw_instrument(canvas: Canvas, scene: Scene, plan: InstrumentPlan, t: float, retract: float = 0.0) -> None:
    """Draw one instrument into the canvas (label, material and shading); `retract` (0..1) slides it out along
    its shaft until, at 1, it is out of view (entering and leaving)."""
    tip, u, incision = pose(scene, plan, t)
    k = scene.scale * plan.size
    inside = float(np.hypot(*(incision - tip)))  # the instrument moves as one piece: its parts keep their places
    if retract > 0.0:
        tip = tip + u * retract * float(np.hypot(scene.width, scene.height))
    ctx = _Ctx(canvas, plan, tip, u, k, inside, scene, t)
    _KINDS[SPECS[plan.cls].kind](ctx)


class _Ctx:
    """What every drawing routine needs: tip, outward direction, size, length inside the eye."""

    def __init__(self, canvas: Canvas, plan: InstrumentPlan, tip, u, k: float, inside: float, scene: Scene,
                 t: float):
        self.canvas, self.plan, self.tip, self.u, self.k = canvas, plan, tip, u, k
        self.inside, self.scene, self.t = inside, scene, t
        self.cls = plan.cls
        self.handle = SPECS[plan.cls].handle or plan.cls
        self.handle_mat = M.HANDLE_COLORS[plan.handle_color % len(M.HANDLE_COLORS)]

    def at(self, d: float) -> np.ndarray:
        """The point `d` base pixels (scaled) from the tip along the instrument."""
        return self.tip + self.u * d

    def bar(self, d0: float, d1: float, w0: float, w1: float, cls: int, mat: int) -> None:
        """A bar from `d0` to `d1` base pixels along the instrument (both lengths and widths are scaled)."""
        bar(self.canvas, self.at(d0 * self.k), self.at(d1 * self.k), w0 * self.k, w1 * self.k, cls, mat)

    def far(self) -> float:
        return FAR * self.k


def _bent_tip(c: _Ctx, length: float, width: float, mat: int) -> np.ndarray:
    """A short bent segment ending at the tip; returns where the straight shaft starts."""
    start = c.tip + rotate(c.u, c.plan.bend) * length * c.k
    tube(c.canvas, [c.tip, start], width * c.k, c.cls, mat)
    return start


def _cannula(c: _Ctx) -> None:
    wide = c.cls == 27  # Charleux cannula: flattened, slightly wider tip
    w = 7.0 if wide else 5.0
    start = _bent_tip(c, 22.0, w, M.STEEL)
    hub = c.inside + 70 * c.k
    bar(c.canvas, start, c.at(hub), w * c.k, (w + 0.8) * c.k, c.cls, M.STEEL)
    hub /= c.k
    c.bar(hub, hub + 22, 13, 16, c.handle, c.handle_mat)
    body = 34 if c.cls == 8 else 28
    c.bar(hub + 22, FAR, body, body, c.handle, M.PLASTIC if c.cls != 27 else M.TITANIUM)


def _cystotome(c: _Ctx) -> None:
    side = 1.0 if c.plan.bend >= 0 else -1.0
    base = c.tip - rotate(c.u, side * math.pi / 2) * 9 * c.k
    tube(c.canvas, [c.tip, base], 4 * c.k, c.cls, M.STEEL)
    hub = c.inside + 60 * c.k
    bar(c.canvas, base, c.at(hub), 4 * c.k, 4.5 * c.k, c.cls, M.STEEL)
    hub /= c.k
    c.bar(hub, hub + 20, 12, 15, c.handle, c.handle_mat)
    c.bar(hub + 20, FAR, 27, 27, c.handle, M.PLASTIC)


def _micro(c: _Ctx) -> None:
    start = _bent_tip(c, 11.0, 5.0, M.STEEL)
    grip = c.inside + 55 * c.k
    bar(c.canvas, start, c.at(grip), 6 * c.k, 7 * c.k, c.cls, M.STEEL)
    grip /= c.k
    c.bar(grip, grip + 30, 7, 17, c.cls, M.TITANIUM)
    c.bar(grip + 30, FAR, 17, 19, c.cls, M.DARK if c.plan.opening > 0.5 else M.TITANIUM)


def _knife(c: _Ctx) -> None:
    big = c.cls == 12
    length, width = (40.0, 26.0) if big else (26.0, 15.0)
    k, u = c.k, c.u
    n = np.array([-u[1], u[0]])
    skew = (c.plan.opening - 0.5) * 0.3 * width * k  # lancet or slightly asymmetric blade
    pts = [c.tip,
           c.at(0.45 * length * k) + n * (width / 2 * k + skew),
           c.at(length * k) + n * width / 2 * k,
           c.at((length + 9) * k) + n * 3 * k,
           c.at((length + 9) * k) - n * 3 * k,
           c.at(length * k) - n * width / 2 * k,
           c.at(0.45 * length * k) - n * (width / 2 * k - skew)]
    c.canvas.fill(np.array(pts), c.cls, M.BLADE, bar_shade(c.tip, c.at(length * k), width * k * 0.3, width * k))
    neck_end = max(c.inside + 45 * k, (length + 30) * k) / k
    c.bar(length + 8, neck_end, 6, 7, c.cls, M.STEEL)
    c.bar(neck_end, neck_end + 25, 9, 20 if big else 16, c.handle, c.handle_mat)
    c.bar(neck_end + 25, FAR, 20 if big else 16, 22 if big else 17, c.handle, c.handle_mat)


def _phaco(c: _Ctx) -> None:
    c.bar(0, 16, 7, 7, c.cls, M.TITANIUM)
    sleeve_end = (c.inside + 55 * c.k) / c.k
    c.bar(14, sleeve_end, 18, 21, c.cls, M.SLEEVE)
    c.bar(sleeve_end, sleeve_end + 40, 21, 46, c.handle, M.TITANIUM)
    c.bar(sleeve_end + 40, FAR, 46, 48, c.handle, M.TITANIUM if c.plan.opening < 0.6 else M.STEEL)


def _ia(c: _Ctx) -> None:
    tip_end = (c.inside + 50 * c.k) / c.k
    c.bar(0, tip_end, 10, 13, c.cls, M.STEEL)
    c.canvas.fill(disk_polygon(*(c.at(9 * c.k)), 2.2 * c.k, 10), c.cls, M.DARK)  # aspiration port
    c.bar(tip_end, tip_end + 30, 13, 34, c.handle, c.handle_mat)
    c.bar(tip_end + 30, FAR, 34, 36, c.handle, c.handle_mat)


def _injector(c: _Ctx) -> None:
    nozzle = (c.inside + 40 * c.k) / c.k
    c.bar(0, nozzle, 11, 24, c.cls, M.PLASTIC)
    c.bar(nozzle, nozzle + 25, 26, 52, c.handle, M.PLASTIC)
    c.bar(nozzle + 25, FAR, 52, 54, c.handle, M.PLASTIC if c.plan.opening < 0.5 else M.TITANIUM)


def _forceps(c: _Ctx) -> None:
    heavy = c.cls == 26
    jaw = 45.0 if c.cls == 19 else (20.0 if heavy else 30.0)
    jw = 8.0 if heavy else 4.0
    open_angle = c.plan.opening * (0.12 if c.cls == 19 else 0.22)
    joint = c.at(jaw * c.k)
    for s in (-1.0, 1.0):
        jaw_tip = joint - rotate(c.u, s * open_angle) * jaw * c.k
        tube(c.canvas, [jaw_tip, joint], jw * c.k, c.cls, M.STEEL, width_end=(jw + 2) * c.k)
    shaft_end = max(c.inside + 40 * c.k, (jaw + 40) * c.k) / c.k
    c.bar(jaw, shaft_end, jw + 3, jw + 4, c.cls, M.STEEL)
    base = c.at(shaft_end * c.k)
    for s in (-1.0, 1.0):
        arm = rotate(c.u, s * 0.07)
        bar(c.canvas, base, base + arm * FAR * c.k, (jw + 3) * c.k, (jw + 9) * c.k, c.cls, M.TITANIUM)


def _vitrector(c: _Ctx) -> None:
    shaft = (c.inside + 60 * c.k) / c.k
    c.bar(0, shaft, 9, 10, c.cls, M.STEEL)
    c.bar(shaft, shaft + 20, 10, 28, c.cls, M.PLASTIC)
    c.bar(shaft + 20, FAR, 28, 28, c.cls, M.PLASTIC)


def _marker(c: _Ctx) -> None:
    c.bar(0, 14, 8, 12, c.cls, M.DARK)
    c.bar(14, 40, 12, 22, c.cls, c.handle_mat)
    c.bar(40, FAR, 22, 22, c.cls, M.PLASTIC)


def _cotton(c: _Ctx) -> None:
    k = c.k
    ang = math.atan2(c.u[1], c.u[0])
    rng = np.random.Generator(np.random.PCG64(c.plan.detail))
    blob = disk_polygon(*c.at(10 * k), 22 * k, 28, ry=15 * k, angle=ang)
    centre = c.at(10 * k)
    blob = centre + (blob - centre) * rng.uniform(0.85, 1.12, (len(blob), 1))  # fluffy outline
    c.bar(12, FAR, 6, 7, c.cls, M.WOOD)
    c.canvas.fill(blob, c.cls, M.COTTON)


def _ring(c: _Ctx) -> None:
    scene, k = c.scene, c.k
    centre = scene.iris_center(c.t)
    radius = scene.iris_radius * (1.04 + 0.08 * c.plan.opening)
    th = np.linspace(0, 2 * math.pi, 49)
    pts = centre + radius * np.stack([np.cos(th), np.sin(th)], axis=1)
    tube(c.canvas, list(pts), 6 * k, c.cls, M.STEEL)
    for a in np.arange(0, 2 * math.pi, math.pi / 6):  # degree marks
        d = direction(a)
        bar(c.canvas, centre + d * (radius - 1), centre + d * (radius + 11 * k), 3 * k, 3 * k, c.cls, M.DARK)
    hd = direction(c.plan.incision)
    start = centre + hd * radius
    bar(c.canvas, start, start + hd * FAR * k, 9 * k, 12 * k, c.cls, M.TITANIUM)


def _hooks(c: _Ctx) -> None:
    scene, k = c.scene, c.k
    ic, pc = scene.iris_center(c.t), scene.pupil_center(c.t)
    rp, ri = scene.pupil_radius, scene.iris_radius
    for j in range(4):
        a = c.plan.tip_angle + j * math.pi / 2 + 0.2 * math.sin(j + c.plan.opening * 6)
        d = direction(a)
        inner = pc + d * rp * 0.96
        hook = inner + rotate(d, math.pi / 2) * 7 * k
        outer = ic + direction(a + 0.08) * (ri + 60 * k)
        tube(c.canvas, [hook, inner - d * 3 * k, outer], 3 * k, c.cls, M.NYLON)


def _suture(c: _Ctx) -> None:
    k = c.k
    radius = 26 * k
    ang = math.atan2(c.u[1], c.u[0])
    centre = c.tip - c.u * radius * 0.3
    th = ang + np.linspace(-2.2, 1.2, 14)
    arc = centre + radius * np.stack([np.cos(th), np.sin(th)], axis=1)
    tube(c.canvas, list(arc), 3 * k, 25, M.STEEL, width_end=2 * k)
    grip = arc[-3]
    plan = InstrumentPlan(26, c.plan.incision, c.plan.size, 0.0, 0.0, (0.0, 0.0, 0.0, 0.0), 0.0, 0.1, 0, 0)
    holder = _Ctx(c.canvas, plan, grip, unit(c.u + rotate(c.u, 0.6)), k, c.inside, c.scene, c.t)
    _forceps(holder)


_KINDS = {
    "cannula": _cannula, "cystotome": _cystotome, "micro": _micro, "knife": _knife, "phaco": _phaco, "ia": _ia,
    "injector": _injector, "forceps": _forceps, "vitrector": _vitrector, "marker": _marker, "cotton": _cotton,
    "ring": _ring, "hooks": _hooks, "suture": _suture,
}
