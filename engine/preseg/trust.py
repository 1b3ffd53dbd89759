"""When not to trust a head or a proposal: warnings that do not depend on the shift score alone.

- **Too few frames** (`few_frames_warning`): a head trained on fewer than `MIN_FRAMES` labelled frames, or on
  frames of fewer than `MIN_VIDEOS` videos, has seen too little to be trusted; it says so before training
  (the app asks, the CLI prints) and on every proposal (`head_warnings`).
- **A new video** (`video_warning`): a head knows only the videos it saw. A frame of a video it never saw
  is compared with them as a video, not only as a frame: with fewer than `MIN_VIDEOS` training videos the
  head cannot tell how videos differ, so every frame of a new video is flagged; otherwise the video is
  flagged when the mean shift score of its frames proposed so far is above `VIDEO_LIMIT` (the frames of a
  video that is shifted as a whole sit just under the per-frame limit; their mean tells).
- **Contradictions** (`contradictions`): confident pixels of a class the training labels never had; of the
  eye (pupil, iris, cornea) or skin where the training labels never had it (its layout: a coarse
  `LAYOUT_GRID` occupancy map of the training labels, one cell of slack); of tape, hand or retractors in the
  eye's core (cells the training labels always covered with the eye and never with them: they move, but
  not into the eye); instruments move everywhere and are held to no layout. And instruments the presence
  gate dropped as "too small to be real".

A flagged proposal's "Accept confident" and "Accept all" ask first in the app.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from engine.taxonomy import IGNORE, INSTRUMENT_IDS, ClassSet

MIN_FRAMES = 5
MIN_VIDEOS = 2
VIDEO_LIMIT = 0.8  # chosen on the tuning draw: benchmarks/preseg_warnings.py, docs/benchmarks/preseg.md
LAYOUT_GRID = (9, 16)  # rows, columns of the coarse class layout
CONFIDENT = 0.9
#: a class contradicts the layout when at least this share of the frame is confident outside its cells
CONTRADICTION_SHARE = 0.005


def video_of(key: str) -> str:
    """The video a frame key belongs to: its first folder (`Video01/Images/...` -> `Video01`)."""
    parts = str(key).replace("\\", "/").split("/")
    return parts[0] if len(parts) > 1 else ""


def videos_of(keys: Iterable[str]) -> list[str]:
    return sorted({video_of(k) for k in keys})


def few_frames_warning(frames: int, videos: Sequence[str] | None = None) -> str | None:
    """The warning for a head trained on `frames` frames of `videos` (None when there are enough)."""
    why = []
    if frames < MIN_FRAMES:
        why.append(f"{frames} labelled frame{'s' if frames != 1 else ''} (it needs at least {MIN_FRAMES})")
    if videos is not None and len([v for v in videos if v]) < MIN_VIDEOS:
        why.append(f"frames of {max(1, len(videos))} video (it needs frames of at least {MIN_VIDEOS} videos to "
                   "know how videos differ)")
    if not why:
        return None
    return ("Too few training frames: a head trained on " + " and ".join(why)
            + " proposes unreliable labels, and its shift warning cannot tell a new video from its own")


def head_warnings(meta: dict) -> list[str]:
    """Warnings that come with every proposal of a head with this `meta` (its training frames)."""
    keys = meta.get("frames") if isinstance(meta, dict) else None
    if not isinstance(keys, list):
        return []
    keys = [str(k) for k in keys]
    w = few_frames_warning(len(keys), videos_of(keys))
    return [w] if w else []


def class_layout(labels: Iterable[np.ndarray], class_set: ClassSet) -> list[str | None]:
    """Per class of `class_set`, a string of '0'/'1' (LAYOUT_GRID cells, row-major): where the training
    `labels` (original IDs) had it, dilated by one cell; None for a class they never had."""
    import cv2

    rows, cols = LAYOUT_GRID
    seen = np.zeros((class_set.num_classes, rows, cols), bool)
    for label in labels:
        ids = class_set.remap(label)
        h, w = ids.shape
        ry, rx = (np.arange(h) * rows) // h, (np.arange(w) * cols) // w
        cell = ry[:, None] * cols + rx[None, :]
        valid = ids != IGNORE
        for c in np.unique(ids[valid]):
            seen[c].flat[np.unique(cell[ids == c])] = True
    kernel = np.ones((3, 3), np.uint8)
    out: list[str | None] = []
    for c in range(class_set.num_classes):
        if not seen[c].any():
            out.append(None)
            continue
        grown = cv2.dilate(seen[c].astype(np.uint8), kernel) > 0
        out.append("".join("1" if v else "0" for v in grown.ravel()))
    return out


def valid_layout(layout, class_set: ClassSet) -> bool:
    """A layout read from a head's JSON is used only when it is exactly what `class_layout` writes."""
    n = LAYOUT_GRID[0] * LAYOUT_GRID[1]
    return (isinstance(layout, list) and len(layout) == class_set.num_classes
            and all(c is None or (isinstance(c, str) and len(c) == n and set(c) <= {"0", "1"}) for c in layout))


def _layout_mask(cells: str, shape: tuple[int, int]) -> np.ndarray:
    rows, cols = LAYOUT_GRID
    grid = np.frombuffer(cells.encode("ascii"), np.uint8).reshape(rows, cols) == ord("1")
    h, w = shape
    return grid[((np.arange(h) * rows) // h)[:, None], ((np.arange(w) * cols) // w)[None, :]]


#: classes outside the eye that move from video to video (tape, hand, retractors): held only to stay out of
#: the eye's core; the eye's own classes (pupil, iris, cornea) and the skin keep their layout
OUTER_IDS = (1, 2, 3)
EYE_IDS = (0, 4, 6)


def _outer_classes(class_set: ClassSet) -> set[int]:
    return {c for c in range(class_set.num_classes) if set(class_set.groups[c]) <= set(OUTER_IDS)}


def _eye_core(layout: Sequence[str | None], class_set: ClassSet, shape: tuple[int, int]) -> np.ndarray:
    """HxW bool: cells the training labels always covered with the eye (pupil, iris or cornea) and nothing
    outer, shrunk by the one cell of slack each class's layout has."""
    rows, cols = LAYOUT_GRID
    n = rows * cols
    eye = np.zeros(n, bool)
    outer = np.zeros(n, bool)
    for c in range(class_set.num_classes):
        cells = layout[c]
        if cells is None:
            continue
        on = np.frombuffer(cells.encode("ascii"), np.uint8) == ord("1")
        if set(class_set.groups[c]) <= set(EYE_IDS):
            eye |= on
        elif c in _outer_classes(class_set):
            outer |= on
    core = (eye & ~outer).reshape(rows, cols)
    return _layout_mask("".join("1" if v else "0" for v in core.ravel()), shape)


def _instrument(class_set: ClassSet, c: int) -> bool:
    return all(i in INSTRUMENT_IDS for i in class_set.groups[c])


def contradictions(label: np.ndarray, confidence: np.ndarray, class_set: ClassSet,
                   layout: Sequence[str | None] | None, removed: Sequence[int] = (),
                   confident: float = CONFIDENT) -> list[str]:
    """Reasons a proposal (`label`: class-set IDs, `confidence`) contradicts what the head learnt: confident
    pixels of a class outside (or without) its training layout, instruments dropped as too small."""
    out = []
    sure = confidence >= confident
    total = label.size
    if valid_layout(layout, class_set):
        for c in np.unique(label[sure]):
            c = int(c)
            if c == IGNORE or c >= class_set.num_classes:
                continue
            mine = sure & (label == c)
            cells = layout[c]
            if cells is not None and _instrument(class_set, c):
                continue  # instruments move all over the frame: only a class never seen counts for them
            if cells is None:
                outside = mine
            elif c in _outer_classes(class_set):  # they move too, but never into the eye's core
                outside = mine & _eye_core(layout, class_set, label.shape)
            else:
                outside = mine & ~_layout_mask(cells, label.shape)
            share = outside.sum() / total
            if share >= CONTRADICTION_SHARE:
                where = "a class the training labels never had" if cells is None else \
                    "where the training labels never had it"
                out.append(f"{class_set.names[c]} proposed with confidence on {share:.1%} of the frame, {where}")
    instruments = [class_set.names[c] for c in removed if c < class_set.num_classes and _instrument(class_set, c)]
    if instruments:
        out.append(f"instrument{'s' if len(instruments) > 1 else ''} dropped as too small to be real: "
                   f"{', '.join(instruments)} (an instrument may be there: look before accepting)")
    return out


def video_warning(video: str, seen_videos: Sequence[str], scores: Sequence[float]) -> str | None:
    """The warning for a frame of `video` given the videos the head saw and the shift scores of the frames
    of `video` proposed so far (this one included)."""
    seen = [v for v in seen_videos if v]
    if not seen or video in seen:
        return None
    if len(seen) < MIN_VIDEOS:
        return (f"new video: {video or 'this frame'} is not among the videos the head saw ({', '.join(seen)}); "
                "a head trained on one video cannot tell how far another one differs")
    mean = float(np.mean(scores)) if len(scores) else 0.0
    if mean > VIDEO_LIMIT:
        return (f"video {video} is unlike the videos the head saw (mean shift {mean:.2f} over {len(scores)} "
                f"frame{'s' if len(scores) != 1 else ''}, limit {VIDEO_LIMIT})")
    return None
