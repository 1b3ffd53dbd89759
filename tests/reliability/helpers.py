"""Small shared pieces of the reliability tests: a tiny CaDIS dataset and fault injectors."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np

from engine.imageio import write_image, write_label

H, W = 36, 64
FRAMES = ((1, 1), (1, 2), (5, 1))  # (video, frame)


def frame_key(video: int, frame: int) -> str:
    return f"Video{video:02d}/Images/Video{video}_frame{frame:06d}.png"


def make_dataset(root: Path, frames=FRAMES, seed: int = 0) -> Path:
    """A CaDIS-layout dataset of `frames` with random images and blocky labels (IDs 0..35)."""
    rng = np.random.default_rng(seed)
    for video, frame in frames:
        name = f"Video{video}_frame{frame:06d}.png"
        write_image(root / f"Video{video:02d}" / "Images" / name, rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
        label = np.kron(rng.integers(0, 36, (H // 4, W // 4)), np.ones((4, 4))).astype(np.uint8)
        write_label(root / f"Video{video:02d}" / "Labels" / name, label)
    return root


def enospc(*_args, **_kwargs):
    """Stand-in for os.write / os.fsync on a full disk."""
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class HalfThenFull:
    """A file object whose `write` stores half of the data and then fails with ENOSPC (a disk filling up)."""

    def __init__(self, fh):
        self._fh = fh

    def write(self, data) -> int:
        data = bytes(data)
        self._fh.write(data[: len(data) // 2])
        self._fh.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()
        return False


def leftover_temp_files(folder: Path) -> list[Path]:
    """Temp files (`.<name>.<random>.tmp`) an interrupted atomic write would leave behind."""
    return [p for p in Path(folder).rglob("*") if p.is_file() and p.name.endswith(".tmp")]
