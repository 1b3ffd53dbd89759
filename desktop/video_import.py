"""File → New dataset from video…: ask for a video, a folder and a step, then import it as a job (progress and
cancel in the Jobs panel) with the engine call `cadis import-video` runs (`engine.video.import_video`), and open
the new dataset when it is done.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

VIDEO_FILTER = "Videos (*.mp4 *.avi *.mkv *.mov *.m4v *.mpg *.mpeg *.wmv);;All files (*)"
GROUP = "import-video"


def new_dataset_from_video(window) -> Optional[object]:
    """Ask, then `start_import`; None when the person cancels a question."""
    video, _ = QFileDialog.getOpenFileName(window, "New dataset from video: choose the video", "", VIDEO_FILTER)
    if not video:
        return None
    out = QFileDialog.getExistingDirectory(window, "Folder for the new dataset (empty, or an earlier import of this "
                                                   "video to add frames to)")
    if not out:
        return None
    every, ok = QInputDialog.getInt(window, "New dataset from video", "Keep every N-th frame (1 = every frame):",
                                    30, 1, 100_000)
    if not ok:
        return None
    return start_import(window, video, out, every,
                        warn=lambda text: QMessageBox.warning(window, "Cannot import this video", text))


def start_import(window, video: str, out_dir: str, every: int, video_number: int = 1, warn=None):
    """Refuse a file that is not a readable video at once (one line, in the status bar and to `warn` when given);
    otherwise run the import as a job and open the dataset when it is done. Returns the JobHandle (None when
    refused)."""
    from engine.safety import UnsafeWriteError
    from engine.video import import_video, probe_video
    from engine.video.importer import plan_frames

    try:
        info = probe_video(video)
        plan_frames(every, 0, None, info.frame_count)
    except (ValueError, UnsafeWriteError) as exc:
        window.show_error(str(exc))
        if warn is not None:
            warn(str(exc))
        return None
    return window.runner.submit(
        f"Import {Path(video).name} (every {every})",
        lambda ctx: import_video(video, out_dir, every=every, video_number=video_number, ctx=ctx), group=GROUP,
        on_result=lambda _result: window.open_source(out_dir), on_error=window.show_error)
