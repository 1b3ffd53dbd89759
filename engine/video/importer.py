"""`import_video`: frames of a video written as a CaDIS-layout dataset, plus a small manifest.

    OUT/Video01/Images/Video1_frame000090.png    frame 90 of the video (its index, counted from 0)
    OUT/Video01/Labels/                          empty: the labels made for these frames go here
    OUT/video_import.json                        which source each video folder came from and its frames

The source is only read. OUT must be new, empty, or an earlier import (its manifest): importing the same video
again at a finer step, or another range, writes only the frames that are not there yet. A video number already
taken by another source is refused. Every PNG is written atomically; on cancel the manifest lists exactly the
frames written so far.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from engine.atomic import atomic_write_text
from engine.dataset.naming import frame_file_name, video_dir_name
from engine.imageio import write_image
from engine.jobs import JobCancelled, JobContext
from engine.video.reader import VideoInfo, VideoReadError, iter_frames, probe_video

MANIFEST = "video_import.json"
GENERATOR = "cadis-import-video"
MAX_FRAME = 999_999          # six digits in a CaDIS name
MAX_VIDEO = 99               # two-digit folders
_FINGERPRINT_BYTES = 4 << 20


@dataclass
class ImportResult:
    video_number: int
    written: list[int] = field(default_factory=list)    # frame indices written now
    present: list[int] = field(default_factory=list)    # asked-for frames that were already there
    frames: list[int] = field(default_factory=list)     # every frame of this video in the dataset now
    beyond_end: int = 0                                 # asked-for frames the video does not have (it is shorter)


def _fingerprint(path: Path, size: int) -> str:
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as fh:
        h.update(fh.read(_FINGERPRINT_BYTES))
    return h.hexdigest()[:32]


def read_import_manifest(root: str | os.PathLike) -> dict | None:
    """The manifest of an earlier import in `root`, or None (missing or not ours)."""
    try:
        data = json.loads((Path(root) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("generator") != GENERATOR or not isinstance(data.get("videos"), dict):
        return None
    return data


def plan_frames(every: int, start: int = 0, end: int | None = None, frame_count: int = 0) -> range:
    """The frame indices an import asks for. `end` is inclusive; without it the video's declared length."""
    for name, value in (("--every", every), ("--start", start)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if every < 1:
        raise ValueError(f"--every must be at least 1, got {every}")
    if start < 0:
        raise ValueError(f"--start must be 0 or more, got {start}")
    if end is None:
        end = (frame_count - 1) if frame_count > 0 else MAX_FRAME
    if end < start:
        raise ValueError(f"--end ({end}) is before --start ({start})")
    if start > MAX_FRAME:
        raise ValueError(f"--start {start} is beyond the six-digit frame numbers of CaDIS names")
    return range(start, min(end, MAX_FRAME) + 1, every)


def _check_out(root: Path) -> dict:
    if root.exists() and not root.is_dir():
        raise ValueError(f"{root} is a file, not a folder: choose a folder for the dataset")
    manifest = read_import_manifest(root) if root.exists() else None
    if manifest is not None:
        return manifest
    if root.exists() and any(root.iterdir()):
        raise ValueError(f"{root} is not empty and holds no {MANIFEST} of an earlier import; choose an empty or "
                         "new folder, or the folder of an earlier import of this video")
    return {"generator": GENERATOR, "version": 1, "videos": {}}


def _entry_for(manifest: dict, k: int, info: VideoInfo, fingerprint: str) -> dict:
    entry = manifest["videos"].get(str(k))
    if entry is None:
        return {"source": os.path.abspath(info.path), "size_bytes": info.size_bytes, "fingerprint": fingerprint,
                "fps": info.fps, "width": info.width, "height": info.height, "frame_count": info.frame_count,
                "frames": [], "imports": []}
    if not isinstance(entry, dict) or entry.get("fingerprint") != fingerprint:
        src = entry.get("source") if isinstance(entry, dict) else "?"
        raise ValueError(f"{video_dir_name(k)} was imported from another video ({src}); "
                         "choose another --video-number or another folder")
    if (entry.get("width"), entry.get("height")) != (info.width, info.height):
        raise ValueError(f"{video_dir_name(k)} holds {entry.get('width')}x{entry.get('height')} frames, this video "
                         f"is {info.width}x{info.height}")
    return entry


def import_video(source: str | os.PathLike, out_dir: str | os.PathLike, every: int = 1, start: int = 0,
                 end: int | None = None, video_number: int = 1, ctx: JobContext | None = None) -> ImportResult:
    """Write frames start, start+every, ... (up to `end`, inclusive) of `source` into `out_dir` as CaDIS video
    `video_number`; frames already imported are kept as they are. Raises VideoReadError (one line) for anything
    that is not a readable video, ValueError for bad arguments or a folder that is not ours; JobCancelled on cancel
    (the frames written so far stay and are listed)."""
    from engine.safety import Read, Write, check_writes

    ctx = ctx or JobContext()
    if not isinstance(video_number, int) or not 1 <= video_number <= MAX_VIDEO:
        raise ValueError(f"--video-number must be between 1 and {MAX_VIDEO} (two-digit folders), got {video_number}")
    source, root = Path(source), Path(out_dir)
    info = probe_video(source)
    check_writes([Write(root, "folder", "dataset folder")], [Read(source, "video")])
    wanted = plan_frames(every, start, end, info.frame_count)
    manifest = _check_out(root)
    entry = _entry_for(manifest, video_number, info, _fingerprint(source, info.size_bytes))

    folder = root / video_dir_name(video_number) / "Images"
    have = {int(f) for f in entry["frames"] if isinstance(f, int)}
    present = [f for f in wanted if f in have and (folder / frame_file_name(video_number, f)).is_file()]
    todo = set(wanted) - set(present)
    result = ImportResult(video_number, present=present)

    def save() -> None:
        entry["frames"] = sorted(have | set(result.written))
        entry["imports"].append({"every": every, "start": start, "end": end, "written": len(result.written)})
        manifest["videos"][str(video_number)] = entry
        atomic_write_text(root / MANIFEST, json.dumps(manifest, indent=1) + "\n")

    root.mkdir(parents=True, exist_ok=True)
    (folder.parent / "Labels").mkdir(parents=True, exist_ok=True)  # the CaDIS layout: labels go here, none yet
    try:
        for index, rgb in iter_frames(source, todo, last=wanted[-1] if len(wanted) else None):
            ctx.check()
            write_image(folder / frame_file_name(video_number, index), rgb)
            result.written.append(index)
            ctx.report(len(result.written) / max(1, len(todo)), f"frame {index}")
    except JobCancelled:
        save()
        raise
    except VideoReadError:
        save()
        raise
    missing = todo - set(result.written)
    if missing and not result.written and not present:
        raise VideoReadError(source, f"has no frame at index {min(missing)} or later (the video is shorter)")
    save()
    result.frames = entry["frames"]
    result.beyond_end = len(missing)
    return result
