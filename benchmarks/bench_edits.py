"""Edit-op latency: one brush mouse-move (StrokeBuilder.add_point) and a flood fill, 960x540 and 4096x4096.

Each is measured next to a naive baseline in the same run:
- brush: the naive segment paints on a full-frame mask (cv2.line + cv2.circle), applies the policy
  with np.where over the whole label and keeps a full copy of the label for undo;
- flood fill: the naive fill labels the connected components of the whole seed class
  (cv2.connectedComponents) and rewrites the frame with np.where, keeping a full copy for undo.
Run: ``.venv/bin/python -m benchmarks -k edits``
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from benchmarks._timing import median_ms, print_table
from engine.edits import PaintPolicy, StrokeBuilder, flood_fill


def make_label(w: int, h: int) -> np.ndarray:
    """A cartoon CaDIS label: skin, cornea disc, iris ring, pupil, an instrument bar."""
    s = w / 960
    label = np.full((h, w), 5, np.uint8)
    c = (w // 2, h // 2)
    cv2.circle(label, c, int(240 * s), 6, -1)
    cv2.circle(label, c, int(150 * s), 4, -1)
    cv2.circle(label, c, int(80 * s), 0, -1)
    cv2.line(label, (int(100 * s), int(h * 0.9)), (c[0], c[1]), 7, max(1, int(14 * s)))
    return label


def stroke_points(w: int, h: int, n: int, step: float) -> list[tuple[float, float]]:
    """Mouse positions along a wavy path, `step` pixels apart."""
    pts, x, y = [], w * 0.2, h * 0.5
    for i in range(n):
        a = 0.3 * math.sin(i / 7.0)
        x = (x + step * math.cos(a)) % (w * 0.8)
        y = h * 0.5 + h * 0.3 * math.sin(i / 23.0)
        pts.append((x, y))
    return pts


def naive_segment(label: np.ndarray, p0, p1, radius: int, value: int, policy: PaintPolicy) -> np.ndarray:
    undo_copy = label.copy()
    mask = np.zeros(label.shape, np.uint8)
    a = (int(round(p0[0])), int(round(p0[1])))
    b = (int(round(p1[0])), int(round(p1[1])))
    cv2.line(mask, a, b, 1, 2 * radius + 1)
    cv2.circle(mask, b, radius, 1, -1)
    label[:] = np.where(mask.view(bool) & policy.allowed(label), value, label)
    return undo_copy


def bench_brush(w: int, h: int, radius: int) -> tuple[float, float]:
    policy = PaintPolicy(locked=frozenset({0}))
    pts = stroke_points(w, h, 400, step=max(4.0, radius * 0.6))
    label = make_label(w, h)
    builder = StrokeBuilder(label, radius, 4, policy)
    it = iter(pts * 10)

    def ours() -> None:
        builder.add_point(*next(it))

    t_ours = median_ms(ours, repeat=200, warmup=5)
    label2 = make_label(w, h)
    state = {"i": 0}

    def naive() -> None:
        i = state["i"] % (len(pts) - 1)
        state["i"] += 1
        naive_segment(label2, pts[i], pts[i + 1], radius, 4, policy)

    t_naive = median_ms(naive, repeat=30 if w > 2000 else 100, warmup=2)
    return t_ours, t_naive


def bench_fill(w: int, h: int, seed_frac: tuple[float, float]) -> tuple[float, float, int]:
    base = make_label(w, h)
    seed = (int(w * seed_frac[0]), int(h * seed_frac[1]))
    label = base.copy()
    area = int((base == base[seed[1], seed[0]]).sum())

    def reset() -> None:
        np.copyto(label, base)

    t_ours = median_ms(lambda: flood_fill(label, seed, 2, 4), repeat=20, warmup=2, setup=reset)

    def naive() -> None:
        undo_copy = label.copy()  # noqa: F841 (the naive undo keeps the whole frame)
        cls = label[seed[1], seed[0]]
        _, comp = cv2.connectedComponents((label == cls).view(np.uint8), connectivity=4)
        label[:] = np.where(comp == comp[seed[1], seed[0]], 2, label)

    t_naive = median_ms(naive, repeat=10, warmup=1, setup=reset)
    return t_ours, t_naive, area


def main() -> None:
    rows = []
    for w, h, r in ((960, 540, 10), (4096, 4096, 40)):
        ours, naive = bench_brush(w, h, r)
        rows.append((f"brush segment r={r}", f"{w}x{h}", ours, naive, naive / ours))
    for w, h in ((960, 540), (4096, 4096)):
        for name, frac in (("skin", (0.02, 0.02)), ("instrument", (0.2229, 0.78)), ("pupil", (0.5, 0.4))):
            ours, naive, area = bench_fill(w, h, frac)
            rows.append((f"flood fill {name} ({area} px)", f"{w}x{h}", ours, naive, naive / ours))
    print_table("mask edit ops (median ms)", rows, ("op", "size", "ours ms", "naive ms", "speed-up"))


if __name__ == "__main__":
    main()
