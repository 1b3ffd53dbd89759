"""Index a CaDIS-layout dataset or a plain folder of frames by file names alone (nothing is decoded).

CaDIS layout: `<root>/VideoNN/Images/VideoN_frameXXXXXX.png` with labels of the same name under
`VideoNN/Labels/`. A folder with no `Video*` folders but PNG/JPEG files (at its top level or one level of
subfolders down) is a plain folder of frames to annotate. Naming problems found while scanning are kept in
`DatasetIndex.scan_problems` and reported by `validate`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from engine.dataset.naming import (
    IMAGE_SUFFIXES, LABEL_SUFFIXES, looks_like_video_dir, parse_frame_name, parse_video_dir, split_of,
    video_dir_name,
)
from engine.dataset.report import Problem
from engine.dataset.scan import Entry, list_entries


class NotCadisError(ValueError):
    """The folder is neither a CaDIS-layout dataset nor a folder of frames; the message says what was expected."""


@dataclass(frozen=True)
class FrameRecord:
    """One frame. `key` is the image path relative to the root with forward slashes (its identity)."""

    key: str
    image_path: Path
    label_path: Path | None
    video: int | None
    frame: int | None
    split: str


@dataclass
class DatasetIndex:
    """The frames of a dataset, sorted by (video, frame, key), including frames without labels."""

    root: Path
    kind: str  # "cadis" or "folder"
    frames: list[FrameRecord]
    orphan_labels: list[Path] = field(default_factory=list)
    scan_problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_key = {f.key: f for f in self.frames}

    def by_key(self, key: str) -> FrameRecord:
        """The frame with this key; KeyError (naming the key) if the dataset has no such frame."""
        try:
            return self._by_key[key]
        except KeyError:
            raise KeyError(f"no frame {key!r} in {self.root}") from None

    def videos(self) -> list[int]:
        """Sorted video numbers that have at least one frame (empty for a plain folder)."""
        return sorted({f.video for f in self.frames if f.video is not None})

    def labelled(self) -> list[FrameRecord]:
        """Frames that have a label file (not yet checked for readability: see `validate`)."""
        return [f for f in self.frames if f.label_path is not None]

    def __len__(self) -> int:
        return len(self.frames)

    def relpath(self, path: Path) -> str:
        """`path` relative to the root with forward slashes (the path itself if it lies outside)."""
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


_EXPECTED = ("expected a CaDIS dataset folder holding Video01..Video25, each with Images/ and Labels/ "
             "(e.g. Video01/Images/Video1_frame000090.png), or a folder of PNG/JPEG frames")


def _sort_key(rec: FrameRecord) -> tuple:
    return (rec.video if rec.video is not None else -1, rec.frame if rec.frame is not None else -1, rec.key)


def _entries(folder: Path, rel: str = ".", problems: list[Problem] | None = None) -> list[Entry]:
    """Visible entries of a folder sorted by name; unreadable folders and link loops go to `problems`."""
    return list_entries(folder, rel, [] if problems is None else problems)


def open_dataset(root: str | os.PathLike) -> DatasetIndex:
    """Index a CaDIS-layout dataset or a folder of frames by names only; raises NotCadisError otherwise."""
    root = Path(root).expanduser()
    if not root.exists():
        raise NotCadisError(f"{root} does not exist: {_EXPECTED}")
    if not root.is_dir():
        raise NotCadisError(f"{root} is a file, not a folder: {_EXPECTED}")
    root = root.resolve()
    try:
        os.scandir(root).close()
    except OSError as exc:
        raise NotCadisError(f"cannot read the folder {root} ({exc.strerror or exc})") from None
    problems: list[Problem] = []
    entries = _entries(root, ".", problems)
    video_dirs = [(parse_video_dir(e.name), e) for e in entries if e.is_dir()]
    misnamed = [e.name for e in entries if e.is_dir() and looks_like_video_dir(e.name)]
    video_dirs = [(v, e) for v, e in video_dirs if v is not None]
    if video_dirs:
        index = _index_cadis(root, video_dirs, problems)
        index.scan_problems[:0] = [Problem(name, "folder name is not a CaDIS video folder (expected two ASCII "
                                                 "digits, e.g. Video01); skipped") for name in misnamed]
        return index
    if misnamed:
        raise NotCadisError(f"{root}: the folder names {', '.join(misnamed[:4])} are not CaDIS video folders; "
                            f"name them with two ASCII digits (Video01 .. Video25)")
    if (root / "Images").is_dir() and (root / "Labels").is_dir():
        raise NotCadisError(f"{root} looks like one video folder (it holds Images/ and Labels/): open the folder "
                            f"that holds the Video folders instead ({root.parent})")
    images = _folder_images(root, entries, problems)
    if images:
        frames = [FrameRecord(key=key, image_path=path, label_path=None, video=None, frame=None,
                              split="unassigned") for key, path in images]
        frames.sort(key=_sort_key)
        return DatasetIndex(root=root, kind="folder", frames=frames, scan_problems=problems)
    hint = ""
    for e in entries:
        if e.is_dir() and any(parse_video_dir(s.name) is not None for s in _entries(Path(e.path)) if s.is_dir()):
            hint = f" (did you mean {Path(e.path)}?)"
            break
    raise NotCadisError(f"{root} holds no Video* folders and no image files: {_EXPECTED}{hint}")


def _is_image(entry: Entry) -> bool:
    return entry.is_file() and os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES


def _folder_images(root: Path, entries: list[Entry], problems: list[Problem]) -> list[tuple[str, Path]]:
    """(key, path) of the image files at the top of `root` and one level of subfolders down."""
    images = [(e.name, root / e.name) for e in entries if _is_image(e)]
    for e in entries:
        if e.is_dir():
            sub = root / e.name
            images.extend((f"{e.name}/{s.name}", sub / s.name) for s in _entries(sub, e.name, problems)
                          if _is_image(s))
    return images


def _scan_frames(folder: Path, rel_folder: str, video: int, suffixes: tuple[str, ...], what: str,
                 problems: list[Problem]) -> dict[int, tuple[Path, int, str]]:
    """Files of an Images/ or Labels/ folder with good names, by frame number -> (path, frame number, key).

    Two files for one frame number (`a.png` and `a.jpg`, `.png` and `.PNG`) are a reported problem: the
    first by name is kept, so each frame number has exactly one file and an export writes each once.

    Keys are built as strings and paths by joining a name to the folder: pathlib parsing of thousands
    of absolute paths is what would make indexing slow.
    """
    found: dict[int, tuple[Path, int, str]] = {}
    for e in _entries(folder, rel_folder, problems):
        rel = f"{rel_folder}/{e.name}"
        if e.is_dir():
            problems.append(Problem(rel, f"unexpected folder inside {what}/"))
            continue
        suffix = os.path.splitext(e.name)[1]
        if suffix.lower() not in suffixes:
            kinds = "/".join(s.lstrip(".").upper() for s in suffixes)
            problems.append(Problem(rel, f"unexpected file in {what}/ (expected {kinds} frames)"))
            continue
        parsed = parse_frame_name(e.name)
        if parsed is None:
            problems.append(Problem(rel, f"bad file name: expected Video{video}_frameXXXXXX{suffixes[0]}"))
            continue
        if parsed[0] != video:
            problems.append(Problem(rel, f"file name says video {parsed[0]} but the file is in "
                                         f"{video_dir_name(video)}/"))
            continue
        if parsed[1] in found:
            problems.append(Problem(rel, f"another file in {what}/ is frame {parsed[1]} of video {video} too "
                                         f"({found[parsed[1]][2]}); skipped"))
            continue
        found[parsed[1]] = (folder / e.name, parsed[1], rel)
    return found


def _index_cadis(root: Path, video_dirs: list[tuple[int, Entry]], problems: list[Problem]) -> DatasetIndex:
    frames: list[FrameRecord] = []
    orphans: list[Path] = []
    seen: dict[int, str] = {}
    for video, entry in video_dirs:
        if video in seen:
            problems.append(Problem(entry.name, f"a second folder for video {video} (also {seen[video]}/); skipped"))
            continue
        seen[video] = entry.name
        vdir = root / entry.name
        images: dict[int, tuple[Path, int, str]] = {}
        labels: dict[int, tuple[Path, int, str]] = {}
        if (vdir / "Images").is_dir():
            images = _scan_frames(vdir / "Images", f"{entry.name}/Images", video, IMAGE_SUFFIXES, "Images", problems)
        else:
            problems.append(Problem(entry.name, f"no Images/ folder (expected {entry.name}/Images/ with the frames)"))
        if (vdir / "Labels").is_dir():  # no Labels/ folder: a video whose frames are all still to label (normal)
            labels = _scan_frames(vdir / "Labels", f"{entry.name}/Labels", video, LABEL_SUFFIXES, "Labels", problems)
        for number, (path, frame, key) in images.items():
            label = labels.get(number)
            frames.append(FrameRecord(key=key, image_path=path,
                                      label_path=label[0] if label else None, video=video, frame=frame,
                                      split=split_of(video)))
        orphans.extend(path for number, (path, _, _) in sorted(labels.items()) if number not in images)
    frames.sort(key=_sort_key)
    return DatasetIndex(root=root, kind="cadis", frames=frames, orphan_labels=orphans, scan_problems=problems)
