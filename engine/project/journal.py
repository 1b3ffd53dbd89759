"""The edit journal: an append-only file with one framed record per finished stroke.

Frame layout (little endian)::

    magic  b"CJ01"      4 bytes
    length  uint32      size of the payload
    crc32   uint32      zlib.crc32 of the payload
    payload: base_rev uint64 | key length uint16 | key (UTF-8) | record bytes (engine.edits.UndoRecord.to_bytes)

`base_rev` is the revision of the saved label the stroke was drawn on; a record whose base revision is older
than the saved label is stale (already contained in a save) and is ignored. A record cut short by a kill or a
power cut, or damaged by a flipped bit, fails its magic, length or CRC check: only that record is dropped;
reading goes on at the next whole record after it. When the journal is opened for writing, a damaged file is
first copied to `journal.bin.damaged-<time>` and then rewritten with its whole records (if the copy cannot
be written, nothing is repaired: reading skips the damage anyway). The file is a regular file inside the
project, opened without following links.
"""
from __future__ import annotations

import contextlib
import os
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from engine.atomic import atomic_write_bytes
from engine.project.nofollow import is_regular, open_regular, read_regular, write_new

MAGIC = b"CJ01"
_HEAD = struct.Struct("<4sII")
_PAYLOAD_HEAD = struct.Struct("<QH")
KEEP_DAMAGED = 3  # copies of damaged journals kept beside it (the newest; older ones are removed)
MAX_RECORD = 64 << 20  # a stroke record (a compressed box of a label) larger than 64 MiB is garbage


@dataclass(frozen=True)
class JournalEntry:
    """One stroke: the frame key, the saved-label revision it applies on top of, and the record bytes."""

    key: str
    base_rev: int
    data: bytes


def encode_entry(entry: JournalEntry) -> bytes:
    """Frame one entry as bytes ready to append."""
    key = entry.key.encode("utf-8")
    if len(key) > 0xFFFF:
        raise ValueError("frame key is too long for the journal")
    payload = _PAYLOAD_HEAD.pack(entry.base_rev, len(key)) + key + entry.data
    return _HEAD.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload


def _frame_at(blob: bytes, pos: int) -> tuple[JournalEntry, int] | None:
    """The whole, valid record starting at `pos` and where it ends, or None."""
    if pos + _HEAD.size > len(blob):
        return None
    magic, length, crc = _HEAD.unpack_from(blob, pos)
    start = pos + _HEAD.size
    end = start + length
    if magic != MAGIC or length > MAX_RECORD or end > len(blob) or length < _PAYLOAD_HEAD.size:
        return None
    payload = blob[start:end]
    if zlib.crc32(payload) != crc:
        return None
    base_rev, key_len = _PAYLOAD_HEAD.unpack_from(payload, 0)
    key_end = _PAYLOAD_HEAD.size + key_len
    if key_end > length:
        return None
    try:
        key = payload[_PAYLOAD_HEAD.size:key_end].decode("utf-8")
    except UnicodeDecodeError:
        return None
    return JournalEntry(key, base_rev, payload[key_end:]), end


def decode_entries(blob: bytes) -> tuple[list[JournalEntry], int]:
    """Parse the whole records at the start of `blob`; returns (entries, length of that valid prefix).

    Parsing stops at the first frame that is cut short or fails its magic, length or CRC check (see
    `scan_entries` for reading past damage)."""
    entries: list[JournalEntry] = []
    pos = 0
    while (found := _frame_at(blob, pos)) is not None:
        entries.append(found[0])
        pos = found[1]
    return entries, pos


def scan_entries(blob: bytes) -> tuple[list[JournalEntry], int]:
    """Every whole record of `blob`, also those after a damaged one; returns (entries, records dropped).

    A damaged stretch (a flipped bit, a torn append) is skipped up to the next whole record; the records it
    held are counted as `count_frames` counts them."""
    entries: list[JournalEntry] = []
    dropped = 0
    pos = 0
    while pos < len(blob):
        found = _frame_at(blob, pos)
        if found is not None:
            entries.append(found[0])
            pos = found[1]
            continue
        nxt = pos + 1
        while (nxt := blob.find(MAGIC, nxt)) >= 0 and _frame_at(blob, nxt) is None:
            nxt += 1
        end = nxt if nxt >= 0 else len(blob)
        dropped += count_frames(blob[pos:end])
        pos = end
    return entries, dropped


def count_frames(blob: bytes) -> int:
    """How many journal records `blob` (a damaged tail) held: each frame header found counts once, whole or
    torn, plus the record whose header was damaged when the tail does not start with one (a tail of zeros
    counts nothing); a whole record is skipped over, anything else is searched past byte by byte."""
    # a tail that does not start with a frame header lost the header of the record it cuts into
    count = 1 if blob and not blob.startswith(MAGIC) and blob.strip(b"\0") else 0
    pos = 0
    while (pos := blob.find(MAGIC, pos)) >= 0:
        count += 1
        if pos + _HEAD.size <= len(blob):
            _, length, crc = _HEAD.unpack_from(blob, pos)
            end = pos + _HEAD.size + length
            if length <= MAX_RECORD and end <= len(blob) and zlib.crc32(blob[pos + _HEAD.size:end]) == crc:
                pos = end
                continue
        pos += len(MAGIC)
    return count


class Journal:
    """Append-only stroke journal in one file; thread-safe.

    Each append is a single unbuffered `write` (so a killed process loses nothing already appended),
    followed by `fdatasync` when `fsync` is true (so a power cut loses at most the stroke in flight)."""

    def __init__(self, path: Path, fsync: bool = True, read_only: bool = False):
        self.path = Path(path)
        self.fsync = fsync
        self._lock = threading.Lock()
        self.torn_bytes = 0  # bytes of damage found when the journal was opened
        self.dropped_strokes = 0  # strokes (whole or torn) in those bytes
        self.kept_strokes = 0  # whole strokes kept by that repair
        self.damaged_copy: Path | None = None  # the copy of the journal kept before the repair
        self.read_only = read_only
        if read_only:  # entries() still reads the file; append and keep refuse
            self._fd = -1
            return
        self._fd = self._open()
        self.repair()

    def repair(self) -> int:
        """Drop damaged records (a torn tail, a flipped bit) and keep every whole one; returns how many strokes
        were dropped (0 when the journal was whole). A copy of the damaged file is written first
        (`damaged_copy`); when it cannot be written the file is left as it is (reading skips the damage).
        `damage_message()` says what was done in words."""
        blob = self._read()
        prefix = decode_entries(blob)[1]
        if prefix == len(blob):
            return 0
        entries, dropped = scan_entries(blob)
        self.torn_bytes = len(blob) - sum(len(encode_entry(e)) for e in entries)
        self.dropped_strokes, self.kept_strokes = dropped, len(entries)
        try:
            self.damaged_copy = self._keep_copy(blob)
        except OSError:
            self.damaged_copy = None
            return dropped
        if len(entries) == len(decode_entries(blob)[0]):  # only a damaged tail: cut it off in place
            os.ftruncate(self._fd, prefix)
            self._sync()
        else:
            self._replace(entries)
        return dropped

    def _keep_copy(self, blob: bytes) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for n in range(1, 1000):
            copy = self.path.with_name(f"{self.path.name}.damaged-{stamp}" + (f"-{n}" if n > 1 else ""))
            if os.path.lexists(copy):
                continue
            write_new(copy, blob, "journal copy")
            self.prune_damaged_copies(keep=copy)
            return copy
        raise OSError(f"no free name for a copy of {self.path}")

    def damaged_copies(self) -> list[Path]:
        """The `journal.bin.damaged-*` copies beside the journal, oldest first."""
        def age(p: Path) -> tuple[int, str]:
            try:
                return p.lstat().st_mtime_ns, p.name
            except OSError:
                return 0, p.name
        return sorted(self.path.parent.glob(f"{self.path.name}.damaged-*"), key=age)

    def prune_damaged_copies(self, keep: Path | None = None) -> list[Path]:
        """Remove all but the newest KEEP_DAMAGED copies (never `keep`, the one just written); returns those
        removed. A copy that cannot be removed stays (it is only disk space)."""
        copies = [p for p in self.damaged_copies() if p != keep and is_regular(p)]
        extra = copies[:max(0, len(copies) - (KEEP_DAMAGED - (keep is not None)))]
        removed = []
        for p in extra:
            with contextlib.suppress(OSError):
                if is_regular(p):
                    p.unlink()
                    removed.append(p)
        return removed

    def damage_message(self) -> str | None:
        """What the repair when opening found and did, for the user; None when the journal was whole."""
        if not self.torn_bytes:
            return None
        n, k = self.dropped_strokes, self.kept_strokes
        kept = (f"a copy of the journal before the repair is kept as {self.damaged_copy.name}"
                if self.damaged_copy else "the journal could not be copied, so it was left as it is")
        return (f"the edit journal {self.path.name} held {self.torn_bytes:,} damaged bytes: "
                f"{n} unsaved stroke{'s' if n != 1 else ''} in them could not be recovered and "
                f"{'were' if n != 1 else 'was'} dropped; {k} whole stroke{'s' if k != 1 else ''} "
                f"{'were' if k != 1 else 'was'} kept; {kept}")

    def _open(self) -> int:
        return open_regular(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, "edit journal")

    def _read(self) -> bytes:
        return read_regular(self.path, "edit journal")

    def _sync(self) -> None:
        if self.fsync:
            (getattr(os, "fdatasync", None) or os.fsync)(self._fd)

    def append(self, entry: JournalEntry) -> None:
        """Append one entry (one write call); on failure the file is cut back to its previous end."""
        frame = encode_entry(entry)
        with self._lock:
            self._check_open()
            start = os.fstat(self._fd).st_size
            view = memoryview(frame)
            try:
                while view:
                    written = os.write(self._fd, view)
                    view = view[written:]
            except BaseException:
                # a failed write (disk full) may leave part of the frame: cut it off, or every later
                # append would sit behind a torn frame and be unreadable until the journal is reopened
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, start)
                raise
            self._sync()

    def entries(self) -> list[JournalEntry]:
        """All whole entries in file order (a torn tail is ignored)."""
        with self._lock:
            return scan_entries(self._read())[0]

    def keep(self, predicate: Callable[[JournalEntry], bool]) -> int:
        """Rewrite the journal keeping only entries for which `predicate` is true; returns how many remain.

        An empty result truncates the file in place; otherwise the kept entries are written to a new file
        that atomically replaces the old one."""
        with self._lock:
            self._check_open()
            current = scan_entries(self._read())[0]
            kept = [e for e in current if predicate(e)]
            if len(kept) == len(current):
                return len(kept)
            if not kept:
                os.ftruncate(self._fd, 0)
                self._sync()
                return 0
            self._replace(kept)
            return len(kept)

    def _replace(self, kept: Iterable[JournalEntry]) -> None:
        atomic_write_bytes(self.path, b"".join(encode_entry(e) for e in kept))
        os.close(self._fd)
        self._fd = self._open()

    def size(self) -> int:
        try:
            return self.path.stat().st_size if is_regular(self.path) else 0
        except FileNotFoundError:
            return 0

    def _check_open(self) -> None:
        if self._fd < 0:
            raise ValueError("the journal is closed")

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
