"""Reading a video file with OpenCV, refusing anything that is not a readable video in one line.

Only a regular file is opened (a FIFO or device would block the decoder forever). Frames are read in order
with `grab()`/`retrieve()`: seeking by frame number is not exact in every container, reading in order is.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from engine.imageio import max_pixels


class VideoReadError(ValueError):
    """The file is not a readable video; the message is one line naming the file."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True)
class VideoInfo:
    path: str
    width: int
    height: int
    fps: float
    frame_count: int      # as the container declares it (may be 0 or approximate)
    size_bytes: int
    mtime_ns: int


def _check_file(path: Path) -> os.stat_result:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise VideoReadError(path, "no such file") from None
    except OSError as exc:
        raise VideoReadError(path, f"cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise VideoReadError(path, "is a folder, not a video file")
    if not stat.S_ISREG(st.st_mode):
        raise VideoReadError(path, "is not a regular file (a pipe or device is not read)")
    if st.st_size == 0:
        raise VideoReadError(path, "file is empty")
    return st


def _open(path: Path) -> cv2.VideoCapture:
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        cap = cv2.VideoCapture(str(path))  # any other backend OpenCV has
    if not cap.isOpened():
        cap.release()
        raise VideoReadError(path, "not a readable video (corrupt, truncated or not a video format)")
    return cap


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Open the video, decode its first frame and return what it declares; VideoReadError if it cannot."""
    path = Path(path)
    st = _check_file(path)
    cap = _open(path)
    try:
        ok, frame = cap.read()
        if not ok or frame is None or frame.ndim < 2 or frame.size == 0:
            raise VideoReadError(path, "not a readable video (no frame could be decoded)")
        h, w = frame.shape[:2]
        if w * h > max_pixels():
            raise VideoReadError(path, f"frames of {w}x{h} are larger than the limit of {max_pixels()} pixels")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        cap.release()
    return VideoInfo(str(path), int(w), int(h), fps if np.isfinite(fps) else 0.0, max(count, 0),
                     int(st.st_size), int(st.st_mtime_ns))


def _to_rgb(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def iter_frames(path: str | os.PathLike, wanted: set[int], last: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """(index, RGB uint8 HxWx3) of each frame whose index is in `wanted`, in order; stops after `last`
    (or max(wanted)) or at the end of the video. Frames in between are grabbed, not converted."""
    path = Path(path)
    _check_file(path)
    if not wanted:
        return
    stop = max(wanted) if last is None else min(last, max(wanted))
    cap = _open(path)
    try:
        index = 0
        shape = None
        while index <= stop:
            if not cap.grab():
                return
            if index in wanted:
                ok, frame = cap.retrieve()
                if not ok or frame is None:
                    raise VideoReadError(path, f"frame {index} could not be decoded (the file is damaged there)")
                if shape is not None and frame.shape != shape:
                    raise VideoReadError(path, f"frame {index} has another size than the first ({frame.shape[1]}x"
                                               f"{frame.shape[0]})")
                shape = frame.shape
                yield index, _to_rgb(frame)
            index += 1
    finally:
        cap.release()
