"""Background work of the curation panel: pair thumbnails (the augment job is `engine.services.augment`).

Each job is a plain function taking a `JobContext` (run by `desktop.workers.JobRunner`).
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.jobs import JobContext
from engine.taxonomy import colorize

THUMB_W, THUMB_H = 112, 63


class ThumbSink(QObject):
    """Carries (pair id, image|mask thumbnail, classes present) from the loader thread to the GUI."""

    ready = Signal(int, object, object)


def pair_thumbnail(image: np.ndarray, label: np.ndarray) -> np.ndarray:
    """The frame and its colour mask side by side, each THUMB_W wide (aspect kept), with a 2-pixel gap."""
    h, w = image.shape[:2]
    th = max(1, round(h * THUMB_W / max(w, 1)))
    img = cv2.resize(image, (THUMB_W, th), interpolation=cv2.INTER_AREA)
    mask = colorize(cv2.resize(label, (THUMB_W, th), interpolation=cv2.INTER_NEAREST))
    gap = np.full((th, 2, 3), 30, np.uint8)
    return np.ascontiguousarray(np.hstack([img, gap, mask]))


def load_pair_thumbnails(ctx: JobContext, project, pair_ids: Sequence[int], sink: ThumbSink) -> int:
    """Read each pair, emit its thumbnail and classes; unreadable pairs are skipped. Returns how many."""
    done = 0
    for n, pid in enumerate(pair_ids):
        ctx.check()
        try:
            image, label = project.load_pair(pid)
        except Exception:  # noqa: BLE001 - a broken or deleted pair simply gets no thumbnail
            continue
        classes = np.flatnonzero(np.bincount(label.ravel(), minlength=256)[:255]).tolist()
        sink.ready.emit(int(pid), pair_thumbnail(image, label), classes)
        done += 1
        ctx.report((n + 1) / max(1, len(pair_ids)), f"{n + 1}/{len(pair_ids)} pair thumbnails")
    return done
