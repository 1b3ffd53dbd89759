"""Propagation inside an open project (what the app's Propagate runs): from the frame shown, forward, backward or
up to the next labelled frame of the same video, with the project's current labels as key frames.

    result = propagate_in_project(project, key, "forward", count=10, min_confidence=0.5, ctx=ctx)
    result.proposals  # {frame key: (label HxW uint8, confidence HxW float32)}; result.stopped: why a chain stopped

Nothing is written: the proposals are accepted frame by frame with `accept_propagated` (the pre-segmentation rules).
"""
from __future__ import annotations

from dataclasses import dataclass, field


from engine.jobs import JobContext
from engine.propagate.chain import DEFAULT_MIN_CONFIDENCE, name_positions, propagate_frames
from engine.taxonomy import IGNORE

MODES = ("forward", "backward", "to-next-labelled")


@dataclass
class ProjectPropagation:
    source: str
    proposals: dict = field(default_factory=dict)
    stopped: list = field(default_factory=list)


def _is_labelled(project, key: str) -> bool:
    rec = project.record(key)
    if not project.has_saved_label(key) and rec.label_path is None:
        return False
    return bool((project.load_label(key) != IGNORE).any())


def propagate_in_project(project, key: str, mode: str, count: int = 10,
                         min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                         ctx: JobContext | None = None, propagator=None) -> ProjectPropagation:
    """Propagate the label of frame `key` to `count` frames forward or backward in its video, or forward up to the
    next labelled frame (which then is a second key frame). Raises ValueError with a sentence a person can act on.
    `propagator`: another method called like `propagate_frames` (e.g. engine.segment.video.Sam2Propagator)."""
    ctx = ctx or JobContext()
    if mode not in MODES:
        raise ValueError(f"unknown propagation {mode!r}: choose one of {', '.join(MODES)}")
    rec = project.record(key)
    video = [k for k in project.frame_keys() if project.record(k).video == rec.video]
    pos = video.index(key)
    label = project.load_label(key)
    if not (label != IGNORE).any():
        raise ValueError("this frame has no label yet: label it (or part of it) first, then propagate from it")
    keys = {0: label}
    if mode == "backward":
        chosen = video[max(0, pos - count): pos + 1][::-1]
    elif mode == "forward":
        chosen = video[pos: pos + count + 1]
    else:
        chosen = [key]
        for k in video[pos + 1:]:
            chosen.append(k)
            if _is_labelled(project, k):
                keys[len(chosen) - 1] = project.load_label(k)
                break
    targets = [i for i in range(1, len(chosen)) if i not in keys]
    if not targets:
        raise ValueError("there is no frame to propagate to in this direction (the end of the video, or the next "
                         "frame is labelled already)")
    frames = [(lambda k=k: project.load_image(k)) for k in chosen]
    res = (propagator or propagate_frames)(frames, keys, targets, min_confidence, ctx)
    out = ProjectPropagation(key)
    for i, prop in res.frames.items():
        out.proposals[chosen[i]] = (prop.label, prop.confidence)
    out.stopped = [name_positions(line, chosen) for line in res.stopped]
    return out

