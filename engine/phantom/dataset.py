"""Writing a phantom dataset in the real CaDIS layout:

    root/Video01/Images/Video1_frame000000.png   (RGB)
    root/Video01/Labels/Video1_frame000000.png   (uint8 class IDs)
    root/phantom.json                            (generator, version, seed, counts, files)

Frames are sampled 30 frames apart like the real dataset. Every file is written atomically through
`engine.imageio`. A non-empty folder that is not a previous phantom output is refused.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from engine.atomic import atomic_write_text
from engine.imageio import write_image, write_label
from engine.jobs import JobContext
from engine.phantom.frame import VideoRenderer
from engine.phantom.motion import DEFAULT_MOTION, FRAME_STEP, check_motion
from engine.phantom.realistic import check_style
from engine.phantom.scene import BASE_H, BASE_W

PHANTOM_VERSION = 3     # 3: "surgery" motion recalibrated (engine.phantom.motion); 2 its first calibration; 1 "still"
MANIFEST = "phantom.json"
GENERATOR = "cadis-phantom"
MAX_VIDEOS = 99          # folder numbers have two digits
MAX_FRAME_NUMBER = 999_999


class PhantomExistsError(ValueError):
    """The output folder holds something that is not a phantom sample; nothing was written."""


def frame_relpaths(video: int, frame_number: int) -> tuple[str, str]:
    """(image, label) paths relative to the root, with forward slashes, as in the CaDIS layout."""
    name = f"Video{video}_frame{frame_number:06d}.png"
    folder = f"Video{video:02d}"
    return f"{folder}/Images/{name}", f"{folder}/Labels/{name}"


def read_manifest(root: str | os.PathLike) -> dict | None:
    """The phantom.json of a previous phantom output, or None if `root` has none (or an unreadable one)."""
    path = Path(root) / MANIFEST
    from engine.files import UnreadableFileError, read_json

    try:
        data = read_json(path, what="phantom manifest", follow_links=False)
    except UnreadableFileError:
        return None
    return data if isinstance(data, dict) and data.get("generator") == GENERATOR else None


def _check_args(videos: int, frames_per_video: int, seed: int, width: int, height: int) -> None:
    for name, value in (("videos", videos), ("frames_per_video", frames_per_video), ("seed", seed),
                        ("width", width), ("height", height)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if not 1 <= videos <= MAX_VIDEOS:
        raise ValueError(f"videos must be between 1 and {MAX_VIDEOS} (two-digit folders), got {videos}")
    if frames_per_video < 1 or (frames_per_video - 1) * FRAME_STEP > MAX_FRAME_NUMBER:
        raise ValueError(f"frames_per_video must be between 1 and {MAX_FRAME_NUMBER // FRAME_STEP + 1}, "
                         f"got {frames_per_video}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    if not (32 <= width <= 8192 and 32 <= height <= 8192):
        raise ValueError(f"frame size {width}x{height} is out of range (32..8192 pixels per side)")


def check_request(root: str | os.PathLike, videos: int = 3, frames_per_video: int = 8, seed: int = 0, *,
                  width: int = BASE_W, height: int = BASE_H) -> list[str]:
    """Raise a clear ValueError if `generate_dataset` would refuse these arguments; writes nothing.

    Returns the files of a previous phantom output in `root` (empty for a new or empty folder).
    """
    _check_args(videos, frames_per_video, seed, width, height)
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise PhantomExistsError(f"{root} is a file, not a folder: choose a folder for the phantom sample")
    if not root.exists() or not any(root.iterdir()):
        return []
    manifest = read_manifest(root)
    if manifest is None:
        raise PhantomExistsError(
            f"{root} is not empty and is not a phantom sample (no {MANIFEST}); "
            "choose an empty or new folder so nothing of yours is overwritten")
    files = manifest.get("files", [])
    return [f for f in files if isinstance(f, str)]


def _prune(root: Path, old_files: list[str], keep: set[str]) -> None:
    """Remove files of the previous phantom output that the new one does not rewrite, and empty folders."""
    resolved_root = root.resolve()
    for rel in old_files:
        if rel in keep:
            continue
        path = (root / rel).resolve()
        if resolved_root not in path.parents or path.suffix != ".png":  # never leave the root
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        for folder in (path.parent, path.parent.parent):
            try:
                folder.rmdir()  # only succeeds when empty
            except OSError:
                break


def generate_dataset(root: str | os.PathLike, videos: int = 3, frames_per_video: int = 8, seed: int = 0,
                     ctx: JobContext | None = None, *, width: int = BASE_W,
                     height: int = BASE_H, style: str = "plain", motion: str = DEFAULT_MOTION) -> list[Path]:
    """Write a phantom CaDIS-layout dataset; returns the image paths written, in order.

    The same arguments always give byte-identical files. `style` is "plain" or "realistic"
    (`engine.phantom.realistic`); the labels are the same in both. `motion` is "surgery" (version 3) or "still"
    (version 1), `engine.phantom.motion`. `ctx` reports progress and can cancel between
    frames (files already written stay; phantom.json then says `"complete": false`).
    """
    old_files = check_request(root, videos, frames_per_video, seed, width=width, height=height)
    check_style(style)
    check_motion(motion)
    ctx = ctx or JobContext()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    pairs = [(v, k) for v in range(1, videos + 1) for k in range(frames_per_video)]
    files = [p for v, k in pairs for p in frame_relpaths(v, k * FRAME_STEP)]
    manifest = {
        "generator": GENERATOR, "version": PHANTOM_VERSION if motion == "surgery" else 1, "motion": motion, "seed": seed, "videos": videos,
        "frames_per_video": frames_per_video, "frames": len(pairs), "width": width, "height": height,
        "frame_step": FRAME_STEP, "style": style, "complete": False, "files": sorted(set(files) | set(old_files)),
    }
    atomic_write_text(root / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    _prune(root, old_files, set(files))

    written: list[Path] = []
    renderer: VideoRenderer | None = None
    for i, (video, k) in enumerate(pairs):
        ctx.check()
        if renderer is None or renderer.video != video:
            renderer = VideoRenderer(seed, video, width, height, style, motion)
        image, label = renderer.render(k)
        image_rel, label_rel = frame_relpaths(video, k * FRAME_STEP)
        write_image(root / image_rel, image)
        write_label(root / label_rel, label)
        written.append(root / image_rel)
        ctx.report((i + 1) / len(pairs), f"Video{video:02d} frame {k + 1}/{frames_per_video}")

    manifest.update(complete=True, files=sorted(files))
    atomic_write_text(root / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    return written


def ensure_sample(root: str | os.PathLike, ctx: JobContext | None = None) -> Path:
    """The phantom sample folder `root` (3 videos x 8 frames, seed 0), generated first if it is missing or
    incomplete. Usable as a job function's body (`ctx` reports progress and cancels)."""
    root = Path(root)
    manifest = read_manifest(root) if root.exists() else None
    if (root / ".complete").exists() or (manifest and manifest.get("complete")):
        return root
    generate_dataset(root, videos=3, frames_per_video=8, seed=0, ctx=ctx)
    (root / ".complete").touch()
    return root
