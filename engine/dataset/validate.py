"""Validate a dataset: decode every file and report every problem found, never only the first.

Only valid pairs (both files readable, same size, class IDs within 0..35) count as frames and enter the
class histogram; every invalid file is listed as a `Problem` and left out of all counts.
"""
from __future__ import annotations

import contextlib
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import numpy as np

from engine.dataset.index import DatasetIndex, FrameRecord
from engine.dataset.naming import SPLITS
from engine.dataset.report import Problem, ValidationReport
from engine.histogram import label_histogram
from engine.imageio import ImageReadError, read_image, read_label
from engine.jobs import JobContext
from engine.taxonomy import IGNORE, NUM_CLASSES


def _fmt_ids(ids: np.ndarray, limit: int = 12) -> str:
    shown = ", ".join(str(int(i)) for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _check_frame(index: DatasetIndex, rec: FrameRecord,
                 allow_ignore: bool) -> tuple[np.ndarray | bool | None, list[Problem]]:
    """Decode one frame. Returns (its 256-bin label histogram for a valid pair, True for a readable
    unlabelled image, None when invalid; the problems found). Thread-safe: touches nothing shared."""
    problems: list[Problem] = []
    image = label = None
    try:
        image = read_image(rec.image_path)
    except ImageReadError as exc:
        problems.append(Problem(rec.key, exc.reason))
    if rec.label_path is None:  # a frame still to label: normal, counted in `unlabelled`, not a problem
        return (True if image is not None else None), problems
    lrel = index.relpath(rec.label_path)
    try:
        label = read_label(rec.label_path)
    except ImageReadError as exc:
        problems.append(Problem(lrel, exc.reason))
    if image is None or label is None:
        return None, problems
    if image.shape[:2] != label.shape[:2]:
        problems.append(Problem(lrel, f"label is {label.shape[1]}x{label.shape[0]} but its image is "
                                      f"{image.shape[1]}x{image.shape[0]}"))
        return None, problems
    hist = label_histogram(label)
    allowed = np.zeros(256, bool)
    allowed[:NUM_CLASSES] = True
    if allow_ignore:
        allowed[IGNORE] = True
    bad = np.flatnonzero((hist > 0) & ~allowed)
    if bad.size:
        problems.append(Problem(lrel, f"class IDs outside 0..{NUM_CLASSES - 1}: {_fmt_ids(bad)}"))
        return None, problems
    return hist, problems


def _checked_frames(index: DatasetIndex, allow_ignore: bool, workers: int) -> Iterator[tuple[FrameRecord, tuple]]:
    """(record, _check_frame result) in index order; decoding runs on `workers` threads (OpenCV releases
    the GIL) with at most 2 * workers frames in flight, so memory stays bounded and cancel is quick."""
    if workers <= 1:
        for rec in index.frames:
            yield rec, _check_frame(index, rec, allow_ignore)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="validate")
    try:
        records = iter(index.frames)
        pending: deque = deque()

        def submit_next() -> None:
            rec = next(records, None)
            if rec is not None:
                pending.append((rec, pool.submit(_check_frame, index, rec, allow_ignore)))

        for _ in range(2 * workers):
            submit_next()
        while pending:
            rec, future = pending.popleft()
            result = future.result()
            submit_next()
            yield rec, result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def validate(index: DatasetIndex, ctx: JobContext | None = None, allow_ignore: bool = False,
             workers: int | None = None) -> ValidationReport:
    """Decode every image and label of `index` and report counts plus every problem.

    `allow_ignore=True` accepts 255 (unlabelled / ignore) pixels in labels, e.g. in exports remapped to
    an experiment; by default labels must hold original IDs 0..35 only. Progress goes to `ctx`
    (`ctx.check()` is honoured between frames). `workers` decoding threads (default: up to 4).
    Problems are sorted by path.
    """
    ctx = ctx or JobContext()
    workers = workers if workers is not None else min(4, os.cpu_count() or 1)
    problems: list[Problem] = list(index.scan_problems)
    problems.extend(Problem(index.relpath(p), "label has no image (expected "
                                              f"{index.relpath(p.parent.parent / 'Images' / p.name)})")
                    for p in index.orphan_labels)
    pixels = np.zeros(256, np.int64)
    splits = {s: 0 for s in SPLITS}
    frames = unlabelled = 0
    to_label: list[str] = []
    videos: set[int] = set()
    n = len(index.frames)
    ctx.check()
    with contextlib.closing(_checked_frames(index, allow_ignore, workers)) as checked:
        for i, (rec, (result, found)) in enumerate(checked):
            problems.extend(found)
            if result is True:
                unlabelled += 1
                to_label.append(rec.key)
            elif result is not None:
                frames += 1
                pixels += result
                splits[rec.split] += 1
            if result is not None and rec.video is not None:
                videos.add(rec.video)
            ctx.report((i + 1) / max(n, 1), rec.key)
            ctx.check()
    problems.sort(key=lambda p: p.path)  # stable: several problems of one file keep their order
    class_pixels = {i: int(pixels[i]) for i in range(NUM_CLASSES)}
    class_pixels.update({i: int(pixels[i]) for i in range(NUM_CLASSES, 256) if pixels[i]})
    return ValidationReport(videos=len(videos), frames=frames, unlabelled=unlabelled, class_pixels=class_pixels,
                            problems=problems, splits=splits, kind=index.kind, to_label=to_label)
