"""Writing a phantom video file: every video frame of one phantom video, for the sample, tests and benchmarks.

    write_video(path, seed=0, video=1, frames=211, width=960, height=540, style="plain", fps=25.0, ctx=ctx)

Frame f of the file is `VideoRenderer(...).render_video_frame(f)` (so the sampled frame k of a phantom dataset is
frame k * FRAME_STEP of its video). MPEG-4 Part 2 (`mp4v`) for .mp4, Motion-JPEG for .avi: both are written by
every OpenCV build. The file appears only when complete (written beside it, then renamed).
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import cv2

from engine.jobs import JobContext
from engine.phantom.frame import VideoRenderer
from engine.phantom.motion import DEFAULT_MOTION

_CODECS = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


def write_video(path: str | os.PathLike, seed: int, video: int, frames: int, width: int = 960, height: int = 540,
                style: str = "plain", motion: str = DEFAULT_MOTION, fps: float = 25.0,
                ctx: JobContext | None = None) -> Path:
    """Write frames 0..frames-1 of phantom video (`seed`, `video`) to `path` (.mp4, .avi or .mkv)."""
    ctx = ctx or JobContext()
    path = Path(path)
    codec = _CODECS.get(path.suffix.lower())
    if codec is None:
        raise ValueError(f"{path}: write the video as .mp4, .avi or .mkv")
    if frames < 1:
        raise ValueError(f"a video needs at least one frame, got {frames}")
    renderer = VideoRenderer(seed, video, width, height, style, motion)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*codec), float(fps), (width, height))
    try:
        if not writer.isOpened():
            raise ValueError(f"{path}: OpenCV cannot write {codec} video here")
        for f in range(frames):
            ctx.check()
            image, _ = renderer.render_video_frame(f)
            writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
            ctx.report((f + 1) / frames, f"video frame {f + 1}/{frames}")
        writer.release()
        os.replace(tmp, path)
    except BaseException:
        writer.release()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path
