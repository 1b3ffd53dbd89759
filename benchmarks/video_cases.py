"""Video test cases shared by the propagation and labelling-effort benchmarks: phantom videos (version 3,
"surgery" motion), a labelled key frame and target frames 1, 5, 10, 30 and 90 frames later.

A chain reaches a target through the frames between at a stride of max(1, gap // 10) (as if the video had been
imported with `--every stride`), so a 90-frame gap is 10 flow steps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.phantom import VideoRenderer
from engine.propagate import propagate_frames
from engine.propagate.flow import DEFAULT_METHOD

GAPS = (1, 5, 10, 30, 90)


def exp1(label: np.ndarray) -> np.ndarray:
    out = np.where(label >= 7, 7, label).astype(np.uint8)
    out[label == 255] = 255
    return out


def scores(pred: np.ndarray, truth: np.ndarray) -> dict:
    """Experiment-1 pixel accuracy, mIoU over the classes present in either, and the IoU of instruments (7) and
    retractors (3) where present (NaN if neither has them)."""
    p, t = exp1(pred), exp1(truth)
    ious = {}
    for c in np.union1d(np.unique(p), np.unique(t)):
        if c == 255:
            continue
        union = np.count_nonzero((p == c) | (t == c))
        ious[int(c)] = np.count_nonzero((p == c) & (t == c)) / union
    return {"acc": float((p == t).mean()), "miou": float(np.mean(list(ious.values()))),
            "instruments": ious.get(7, float("nan")), "retractors": ious.get(3, float("nan"))}


@dataclass
class Case:
    seed: int
    video: int
    style: str
    start: int
    renderer: VideoRenderer

    def __post_init__(self):
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def frame(self, f: int) -> tuple[np.ndarray, np.ndarray]:
        if f not in self._cache:
            self._cache[f] = self.renderer.render_video_frame(f)
        return self._cache[f]

    def positions(self, gap: int) -> list[int]:
        stride = max(1, gap // 10)
        return list(range(self.start, self.start + gap + 1, stride))

    def propagate(self, gap: int, method: str = DEFAULT_METHOD, min_confidence: float = 0.0):
        """(label, confidence) at start + gap carried from the start's label, or None if the chain stopped."""
        pos = self.positions(gap)
        frames = [(lambda f=f: self.frame(f)[0]) for f in pos]
        res = propagate_frames(frames, {0: self.frame(self.start)[1]}, [len(pos) - 1], min_confidence, method=method)
        got = res.frames.get(len(pos) - 1)
        return None if got is None else (got.label, got.confidence)


def cases(seeds, videos, starts, styles, width=960, height=540) -> list[Case]:
    out = []
    for style in styles:
        for seed in seeds:
            for v in videos:
                r = VideoRenderer(seed, v, width, height, style)
                for s in starts:
                    out.append(Case(seed, v, style, s, r))
    return out
