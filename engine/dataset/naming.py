"""CaDIS file and folder names, and the official train/val/test split by video.

Folder numbers are two digits (`Video01`), the number inside a file name is not padded (`Video1_`), the
frame number has six digits: `Video01/Images/Video1_frame000090.png`. Facts from shared/cadis_reference.md.
"""
from __future__ import annotations

import re

# Frames per video, Video01..Video25, in the released dataset (4,670 in all).
FRAMES_PER_VIDEO: dict[int, int] = dict(zip(range(1, 26), (
    177, 170, 176, 173, 178, 183, 183, 184, 175, 205, 182, 217, 171, 230, 181, 173, 179, 185, 214, 199,
    219, 199, 178, 180, 159,
)))

OFFICIAL_SPLIT: dict[str, tuple[int, ...]] = {
    "train": (1, 3, 4, 6, 8, 9, 10, 11, 13, 14, 15, 17, 18, 19, 20, 21, 23, 24, 25),
    "val": (5, 7, 16),
    "test": (2, 12, 22),
}
SPLITS: tuple[str, ...] = ("train", "val", "test", "unassigned")

_SPLIT_OF_VIDEO = {v: name for name, videos in OFFICIAL_SPLIT.items() for v in videos}

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
LABEL_SUFFIXES = (".png",)

# Only the dataset's own spelling is accepted: ASCII digits (`\d` would also match Arabic-Indic or full-width
# digits), a two-digit folder number, an unpadded video number and exactly six frame digits. Any looser
# pattern lets names that differ in text parse to the same (video, frame) and collide in an export.
_VIDEO_DIR_RE = re.compile(r"^Video([0-9]{2})$")
_FRAME_RE = re.compile(r"^Video(0|[1-9][0-9]*)_frame([0-9]{6})\.([pP][nN][gG]|[jJ][pP][eE]?[gG])$")
_LOOSE_VIDEO_DIR_RE = re.compile(r"^video[\W_]*\d+[\W_]*$", re.IGNORECASE)


def split_of(video: int | None) -> str:
    """Official split of a video number: "train", "val", "test", or "unassigned" (None or not 1..25)."""
    if video is None:
        return "unassigned"
    return _SPLIT_OF_VIDEO.get(int(video), "unassigned")


def video_dir_name(video: int) -> str:
    """3 -> "Video03" (two-digit folder number)."""
    return f"Video{int(video):02d}"


def frame_file_name(video: int, frame: int, suffix: str = ".png") -> str:
    """(1, 90) -> "Video1_frame000090.png" (unpadded video number, six-digit frame number)."""
    return f"Video{int(video)}_frame{int(frame):06d}{suffix}"


def parse_video_dir(name: str) -> int | None:
    """"Video03" -> 3; None when the name is not a video folder (two ASCII digits: not "Video3", "Video003")."""
    m = _VIDEO_DIR_RE.fullmatch(name)
    return int(m.group(1)) if m else None


def looks_like_video_dir(name: str) -> bool:
    """True for names a person meant as a video folder but spelled otherwise ("Video3", "video_03", "Video٠٣")."""
    return parse_video_dir(name) is None and bool(_LOOSE_VIDEO_DIR_RE.match(name))


def parse_frame_name(name: str) -> tuple[int, int] | None:
    """"Video1_frame000090.png" -> (1, 90); None when the name does not follow the CaDIS pattern exactly
    ("Video01_frame000090.png", "Video1_frame0000090.png" and non-ASCII digits are not CaDIS names)."""
    m = _FRAME_RE.fullmatch(name)
    return (int(m.group(1)), int(m.group(2))) if m else None
