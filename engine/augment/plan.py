"""The work plan of an `augment` run: deterministic work items, sharding, and the record of finished ones.

A work item is (frame, layout variant, sample, base seed, model); its id is a stable string, and the seed
of its synthesis sample is derived from it, so a rerun recomputes exactly the same items. Finished items
are known from two places: the synthetic pairs stored in the project (their provenance holds the item id;
a pair's files are written atomically before its row commits) and an append-only log per shard
(`<project>/augment/done-<shard>.jsonl`) that also records items dropped by a filter. A line torn by a
kill is ignored when the log is read, and the item is simply done again.
"""
from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from engine.files import UnreadableFileError, open_for_write_in, open_regular


def read_bytes_at(path: Path, offset: int) -> bytes:
    """The byte of a regular file at `offset` (b"" when there is none)."""
    fd = open_regular(path, "augment log", follow_links=False)
    try:
        return os.pread(fd, 1, offset)
    finally:
        os.close(fd)

LOG_DIR = "augment"


@dataclass(frozen=True)
class WorkItem:
    """One synthesis sample of one layout variant of one frame."""

    frame: str
    variant: int
    sample: int
    seed: int
    model: str = "custom"
    mode: str = "full"  # "repaint" items are other items than "full" ones of the same model and seed

    @property
    def id(self) -> str:
        base = f"{self.frame}|v{self.variant}|s{self.sample}|seed{self.seed}|{self.model}"
        return base if self.mode == "full" else f"{base}|{self.mode}"

    @property
    def sample_seed(self) -> int:
        """The synthesis seed of this item (stable, 31 bits)."""
        return zlib.crc32(self.id.encode("utf-8")) & 0x7FFFFFFF


def frame_seed(seed: int, frame: str) -> list[int]:
    """Seed material of a frame's layout variants (numpy SeedSequence entropy)."""
    return [int(seed) & 0xFFFFFFFF, zlib.crc32(frame.encode("utf-8"))]


def plan_items(frames: Sequence[str], layouts: int, samples: int, seed: int, model: str = "custom",
               mode: str = "full") -> list[WorkItem]:
    """All items of a run in a fixed order: frame, then variant, then sample."""
    if layouts < 1 or samples < 1:
        raise ValueError(f"--layouts and --samples must be at least 1 (got {layouts} and {samples})")
    return [WorkItem(f, v, s, int(seed), model, mode) for f in frames for v in range(layouts) for s in range(samples)]


def shard(items: Sequence[WorkItem], index: int, count: int) -> list[WorkItem]:
    """The items of shard `index` of `count`: whole frames are dealt round-robin, so two processes never
    work on the same frame and each frame's layout variants are computed once."""
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard {index} of {count} does not exist")
    frames: list[str] = []
    for it in items:
        if not frames or frames[-1] != it.frame:
            frames.append(it.frame)
    mine = {f for n, f in enumerate(dict.fromkeys(frames)) if n % count == index}
    return [it for it in items if it.frame in mine]


class DoneLog:
    """The append-only record of finished items of one shard (and a reader of every shard's record)."""

    def __init__(self, project_root: str | os.PathLike, shard_index: int = 0):
        self.folder = Path(project_root) / LOG_DIR
        self.path = self.folder / f"done-{int(shard_index)}.jsonl"

    def read_all(self) -> dict[str, dict]:
        """item id -> its last record, from the logs of all shards; torn or foreign lines are skipped."""
        out: dict[str, dict] = {}
        if not self.folder.is_dir():
            return out
        for path in sorted(self.folder.glob("done-*.jsonl")):
            try:  # a regular file of the project: a FIFO or a link out of it is skipped, never read
                fd = open_regular(path, "augment log", follow_links=False)
            except UnreadableFileError:
                continue
            with os.fdopen(fd, "rb") as fh:
                for raw in fh:
                    try:
                        rec = json.loads(raw.decode("utf-8"))
                    except (UnicodeDecodeError, json.JSONDecodeError):
                        continue
                    if isinstance(rec, dict) and isinstance(rec.get("item"), str):
                        out[rec["item"]] = rec
        return out

    def append(self, record: dict) -> None:
        """Append one record and fsync before returning (a kill may tear only the line being written)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, sort_keys=True, allow_nan=False) + "\n"
        fd = open_for_write_in(self.folder, self.path.name, 0o644, truncate=False)  # never through a link or FIFO
        with os.fdopen(fd, "wb") as fh:
            end = os.lseek(fd, 0, os.SEEK_END)
            if end > 0:
                last = read_bytes_at(self.path, end - 1)
                if last != b"\n":  # the last line was torn by a kill: start on a fresh line
                    line = "\n" + line
            fh.write(line.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())

    def extend(self, records: Iterable[dict]) -> None:
        for r in records:
            self.append(r)
