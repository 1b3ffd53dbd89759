"""Propagating whole label maps along a sequence of frames held in memory (the core the job and the benchmark share).

    result = propagate_frames(frames, keys={0: label0, 12: label12}, targets=range(1, 12), min_confidence=0.5)

`frames[i]` is frame i's RGB image (or a callable loading it); `keys` maps a frame position to its label. Each
target is reached by carrying the nearest key label before it forward frame by frame and the nearest key label
after it backward; where both reach a frame, the two are fused per pixel (agreeing classes: confidence
1 - (1-a)(1-b); disagreeing: the side with the higher time-weighted confidence wins, its confidence halved). A
one-sided chain stops at the first frame whose mean confidence is below `min_confidence`; the reason is kept.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Sequence, Union

import numpy as np

from engine.jobs import JobContext
from engine.propagate.flow import DEFAULT_METHOD, carry, grey_for_flow
from engine.taxonomy import IGNORE
from engine.keyframes import positions_to_fill

FrameSource = Union[np.ndarray, Callable[[], np.ndarray]]
#: a chain stops at a frame whose mean confidence is below this: on the tuning draw (seed 31) the frames whose
#: proposal cost the robot annotator more than an empty frame had mean confidence 0.11-0.27, those that cost less
#: 0.49 or more (docs/benchmarks/effort.md)
DEFAULT_MIN_CONFIDENCE = 0.3


@dataclass
class Propagated:
    label: np.ndarray           # HxW uint8 class IDs (255 where nothing reached)
    confidence: np.ndarray      # HxW float32 0..1
    sources: tuple[int, ...]    # the key positions it was carried from


@dataclass
class PropagationResult:
    frames: dict[int, Propagated] = field(default_factory=dict)
    stopped: list[str] = field(default_factory=list)   # one line per chain that stopped early, with why


def _grey_loader(frames: Sequence[FrameSource]):
    cache: dict[int, np.ndarray] = {}

    def grey(i: int) -> np.ndarray:
        if i not in cache:
            src = frames[i]
            cache[i] = grey_for_flow(src() if callable(src) else src)
            for k in [k for k in cache if abs(k - i) > 1]:  # a chain only needs its neighbour
                del cache[k]
        return cache[i]

    return grey


def _chain(grey, key: int, label: np.ndarray, stop_at: int, step: int, min_confidence: float,
           ctx: JobContext, tick, method: str) -> tuple[dict[int, tuple[np.ndarray, np.ndarray]], str | None]:
    """Carry `label` from position `key` to `stop_at` (inclusive) one frame at a time."""
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    conf = (label != IGNORE).astype(np.float32)
    cur = label
    pos = key
    while pos != stop_at:
        ctx.check()
        nxt = pos + step
        cur, conf = carry(cur, conf, grey(pos), grey(nxt), method)
        tick()
        mean = float(conf.mean())
        if mean < min_confidence:
            return out, (f"stopped at frame position {nxt} (carried from position {key}): mean confidence {mean:.2f} is below "
                         f"{min_confidence:.2f}; the view changed too much (occlusion, cut or fast motion): label it or "
                         "add a key frame nearer to it")
        out[nxt] = (cur, conf)
        pos = nxt
    return out, None


def fuse(fwd: tuple[np.ndarray, np.ndarray], bwd: tuple[np.ndarray, np.ndarray], w_fwd: float
         ) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel fusion of two carried (label, confidence); `w_fwd` in 0..1 is the forward side's time weight."""
    (lf, cf), (lb, cb) = fwd, bwd
    agree = lf == lb
    take_f = cf * w_fwd >= cb * (1.0 - w_fwd)
    label = np.where(take_f, lf, lb)
    conf = np.where(agree, 1.0 - (1.0 - cf) * (1.0 - cb), 0.5 * np.where(take_f, cf, cb)).astype(np.float32)
    return label, conf


def propagate_frames(frames: Sequence[FrameSource], keys: dict[int, np.ndarray], targets: Sequence[int],
                     min_confidence: float = DEFAULT_MIN_CONFIDENCE, ctx: JobContext | None = None,
                     method: str = DEFAULT_METHOD) -> PropagationResult:
    """Propagate the key labels to each target position (see the module doc)."""
    ctx = ctx or JobContext()
    key_pos, wanted = positions_to_fill(len(frames), keys, targets)
    grey = _grey_loader(frames)
    result = PropagationResult()
    # segments: each run of targets between two neighbouring keys (or before the first / after the last)
    segments: dict[tuple[int | None, int | None], list[int]] = {}
    for t in wanted:
        before = max((k for k in key_pos if k < t), default=None)
        after = min((k for k in key_pos if k > t), default=None)
        segments.setdefault((before, after), []).append(t)
    total = sum(len(ts) * (2 if (a is not None and b is not None) else 1) for (a, b), ts in segments.items())
    done = [0]

    def tick():
        done[0] += 1
        ctx.report(done[0] / max(1, total), f"{done[0]}/{total} frame steps")

    for (a, b), ts in segments.items():
        fwd: dict = {}
        bwd: dict = {}
        if a is not None:
            fwd, why = _chain(grey, a, keys[a], max(ts), 1, min_confidence, ctx, tick, method)
            if why and b is None:
                result.stopped.append(why)
        if b is not None:
            bwd, why = _chain(grey, b, keys[b], min(ts), -1, min_confidence, ctx, tick, method)
            if why and a is None:
                result.stopped.append(why)
        for t in ts:
            if t in fwd and t in bwd:
                label, conf = fuse(fwd[t], bwd[t], (b - t) / (b - a))
                result.frames[t] = Propagated(label, conf, (a, b))
            elif t in fwd or t in bwd:
                label, conf = fwd[t] if t in fwd else bwd[t]
                result.frames[t] = Propagated(label, conf, (a,) if t in fwd else (b,))
        if a is not None and b is not None and any(t not in result.frames for t in ts):
            gap = [t for t in ts if t not in result.frames]
            result.stopped.append(f"frame position {gap[0]} to position {gap[-1]} between the labelled position {a} and "
                                  f"position {b} were reached "
                                  f"by neither side with mean confidence {min_confidence:.2f} or more")
    return result


def name_positions(line: str, names: Sequence[str]) -> str:
    """A chain message with each "position N" replaced by the name of frame N."""
    return re.sub(r"(?:frame )?position (\d+)", lambda m: f"frame {names[int(m.group(1))]}", line)
