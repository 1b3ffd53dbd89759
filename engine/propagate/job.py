"""`run_propagation`: the one call behind `cadis propagate` and the app's Propagate.

Frames are named as in CaDIS (`Video1_frame000090`, with or without `.png`) or as `VIDEO:FRAME` (`1:90`). All
frames named must belong to one video; positions are the order of that video's images in the dataset.

Targets: with `to`, every frame between the key frames and `to`; with `until_labelled`, from each key frame
forward up to the next frame that already has a label (that label is then a key frame too, so the frames between
are reached from both sides); with neither, the frames between the key frames.

Output, all written into a staging folder and moved into `out_dir` only when every frame is done (a cancel or an
error leaves `out_dir` as it was):

    out_dir/VideoKK/Labels/VideoK_frameNNNNNN.png       proposal (class IDs)
    out_dir/VideoKK/Confidence/VideoK_frameNNNNNN.png   per-pixel confidence x 255
    out_dir/propagation.json                            the report (also to `report_path` when given)
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from engine.atomic import atomic_write_text
from engine.dataset import open_dataset
from engine.dataset.naming import frame_file_name, parse_frame_name, video_dir_name
from engine.imageio import read_image, read_label, write_label
from engine.jobs import JobContext
from engine.propagate.chain import DEFAULT_MIN_CONFIDENCE, name_positions, propagate_frames
from engine.propagate.flow import DEFAULT_METHOD, FLOW_WIDTH

REPORT = "propagation.json"
METHOD = f"{DEFAULT_METHOD} optical flow (OpenCV, {FLOW_WIDTH} px wide), frame-by-frame chain, forward-backward " \
         "consistency as confidence, two-sided fusion between key frames"
_SPEC = re.compile(r"^([0-9]+):([0-9]+)$")


def parse_frame_spec(text: str) -> tuple[int, int]:
    """"Video1_frame000090[.png]" or "1:90" -> (1, 90)."""
    text = text.strip()
    m = _SPEC.fullmatch(text)
    if m:
        return int(m.group(1)), int(m.group(2))
    parsed = parse_frame_name(text if text.lower().endswith(".png") else text + ".png")
    if parsed is None:
        raise ValueError(f"{text!r} is not a frame: write it as Video1_frame000090 or 1:90")
    return parsed


def _name(record) -> str:
    return frame_file_name(record.video, record.frame, "")


def _check_out(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} is a file, not a folder")
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / REPORT).is_file():
        raise ValueError(f"{out_dir} is not empty and holds no {REPORT} of an earlier propagation; choose an empty "
                         "or new folder so nothing of yours is overwritten")


def run_propagation(data: str | os.PathLike, from_frames: list[str], out_dir: str | os.PathLike, to: str | None = None,
                    until_labelled: bool = False, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                    report_path: str | os.PathLike | None = None, ctx: JobContext | None = None,
                    load_label: Callable[[object], np.ndarray | None] | None = None, propagator=None) -> dict:
    """Propagate the labels of `from_frames` of dataset `data` and write proposals to `out_dir`; returns the
    report. `load_label(record)` gives a frame's current label (default: its Labels/ file, None if none).
    `propagator`: another method called like `propagate_frames` (e.g. engine.segment.video.Sam2Propagator)."""
    from engine.safety import Read, Write, check_writes

    ctx = ctx or JobContext()
    if to is not None and until_labelled:
        raise ValueError("give either a frame to propagate to or --until-labelled, not both")
    if not 0.0 <= float(min_confidence) <= 1.0:
        raise ValueError(f"the confidence threshold must be between 0 and 1, got {min_confidence}")
    out_dir = Path(out_dir)
    writes = [Write(out_dir, "folder", "output folder")] + ([Write(report_path, "file", "report")] if report_path else [])
    check_writes(writes, [Read(data, "dataset")])
    _check_out(out_dir)
    index = open_dataset(data)
    keys = [parse_frame_spec(s) for s in from_frames]
    if not keys:
        raise ValueError("name at least one labelled frame to propagate from (--from)")
    videos = {v for v, _ in keys} | ({parse_frame_spec(to)[0]} if to else set())
    if len(videos) != 1:
        raise ValueError("all frames must belong to one video (found videos " + ", ".join(map(str, sorted(videos))) + ")")
    video = videos.pop()
    records = [r for r in index.frames if r.video == video and r.frame is not None]
    pos_of = {r.frame: i for i, r in enumerate(records)}
    load_label = load_label or (lambda r: read_label(r.label_path) if r.label_path is not None else None)

    def position(v_f: tuple[int, int]) -> int:
        if v_f[1] not in pos_of:
            raise ValueError(f"{frame_file_name(*v_f, '')} is not among the images of {video_dir_name(video)} in {data}")
        return pos_of[v_f[1]]

    key_pos = sorted({position(k) for k in keys})
    labels: dict[int, np.ndarray] = {}
    for p in key_pos:
        lab = load_label(records[p])
        if lab is None:
            raise ValueError(f"{_name(records[p])} has no label to propagate from")
        labels[p] = lab
    if to is not None:
        t = position(parse_frame_spec(to))
        lo, hi = min(key_pos[0], t), max(key_pos[-1], t)
        targets = range(lo, hi + 1)
    elif until_labelled:
        targets = []
        for p in key_pos:
            q = p + 1
            while q < len(records) and load_label(records[q]) is None:
                targets.append(q)
                q += 1
            if q < len(records) and q not in labels:
                labels[q] = load_label(records[q])
    else:
        targets = range(key_pos[0], key_pos[-1] + 1)
    targets = sorted(set(targets) - set(labels))
    if not targets:
        raise ValueError("there is no frame to propagate to: the frames named are next to each other or all labelled")

    start = time.perf_counter()
    frames = [(lambda r=r: read_image(r.image_path)) for r in records]
    result = (propagator or propagate_frames)(frames, labels, targets, min_confidence, ctx.sub(0.0, 0.95))
    seconds = time.perf_counter() - start

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".propagate-", dir=out_dir.parent))
    try:
        rows = []
        for p in sorted(result.frames):
            ctx.check()
            prop = result.frames[p]
            rec = records[p]
            name = frame_file_name(video, rec.frame)
            write_label(staging / video_dir_name(video) / "Labels" / name, prop.label)
            write_label(staging / video_dir_name(video) / "Confidence" / name,
                        np.round(prop.confidence * 255).astype(np.uint8))
            rows.append({"frame": _name(records[p]), "from": [_name(records[s]) for s in prop.sources],
                         "mean_confidence": round(float(prop.confidence.mean()), 4),
                         "confident_fraction": round(float((prop.confidence >= min_confidence).mean()), 4)})
        method = getattr(propagator, "description", METHOD)
        report = {"method": method, "data": str(data), "video": video, "from": [_name(records[p]) for p in key_pos],
                  "min_confidence": min_confidence, "frames": rows, "not_reached": [
                      _name(records[p]) for p in targets if p not in result.frames],
                  "stopped": [name_positions(line, [_name(r) for r in records]) for line in result.stopped], "seconds": round(seconds, 2),
                  "seconds_per_frame": round(seconds / max(1, len(targets)), 3)}
        text = json.dumps(report, indent=1) + "\n"
        atomic_write_text(staging / REPORT, text)
        ctx.check()
        _move_into(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if report_path:
        atomic_write_text(report_path, text)
    ctx.report(1.0, f"{len(rows)} frames propagated")
    return report


def _move_into(staging: Path, out_dir: Path) -> None:
    """Move every staged file to its place under `out_dir` (each move is one rename, so no file is ever half there)."""
    for path in sorted(staging.rglob("*")):
        if path.is_file():
            dest = out_dir / path.relative_to(staging)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, dest)
