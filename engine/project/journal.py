"""The edit journal: an append-only file with one framed record per finished stroke.

Frame layout (little endian)::

    magic  b"CJ01"      4 bytes
    length  uint32      size of the payload
    crc32   uint32      zlib.crc32 of the payload
    payload: base_rev uint64 | key length uint16 | key (UTF-8) | record bytes (engine.edits.UndoRecord.to_bytes)

`base_rev` is the revision of the saved label the stroke was drawn on; a record whose base revision is older
than the saved label is stale (already contained in a save) and is ignored. A record cut short by a kill or a
power cut fails its length or CRC check: it and anything after it are ignored, and the file is cut back to
the last whole record when it is next opened, so later appends stay readable.
"""
from __future__ import annotations

import contextlib
import os
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from engine.atomic import atomic_write_bytes

MAGIC = b"CJ01"
_HEAD = struct.Struct("<4sII")
_PAYLOAD_HEAD = struct.Struct("<QH")
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


def decode_entries(blob: bytes) -> tuple[list[JournalEntry], int]:
    """Parse framed entries from `blob`; returns (entries, length of the valid prefix).

    Parsing stops at the first frame that is cut short or fails its magic, length or CRC check."""
    entries: list[JournalEntry] = []
    pos = 0
    n = len(blob)
    while pos + _HEAD.size <= n:
        magic, length, crc = _HEAD.unpack_from(blob, pos)
        start = pos + _HEAD.size
        end = start + length
        if magic != MAGIC or length > MAX_RECORD or end > n or length < _PAYLOAD_HEAD.size:
            break
        payload = blob[start:end]
        if zlib.crc32(payload) != crc:
            break
        base_rev, key_len = _PAYLOAD_HEAD.unpack_from(payload, 0)
        key_end = _PAYLOAD_HEAD.size + key_len
        if key_end > length:
            break
        try:
            key = payload[_PAYLOAD_HEAD.size:key_end].decode("utf-8")
        except UnicodeDecodeError:
            break
        entries.append(JournalEntry(key, base_rev, payload[key_end:]))
        pos = end
    return entries, pos


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
        self.torn_bytes = 0  # bytes of a torn or damaged tail cut off when the journal was opened
        self.dropped_strokes = 0  # strokes (whole or torn) in those bytes
        self.read_only = read_only
        if read_only:  # entries() still reads the file; append and keep refuse
            self._fd = -1
            return
        self._fd = self._open()
        self.repair()

    def repair(self) -> int:
        """Cut a torn or damaged tail off the file; returns how many strokes it held (0 when nothing was cut).
        `torn_bytes` and `dropped_strokes` keep what the last repair cut; `damage_message()` says it in words."""
        blob = self._read()
        _, valid = decode_entries(blob)
        if valid < len(blob):
            self.torn_bytes = len(blob) - valid
            self.dropped_strokes = count_frames(blob[valid:])
            os.ftruncate(self._fd, valid)
            self._sync()
        return self.dropped_strokes if valid < len(blob) else 0

    def damage_message(self) -> str | None:
        """What the repair when opening cut, for the user; None when the journal was whole."""
        if not self.torn_bytes:
            return None
        n = self.dropped_strokes
        return (f"the edit journal {self.path.name} ended in {self.torn_bytes:,} damaged bytes: "
                f"{n} unsaved stroke{'s' if n != 1 else ''} in them could not be recovered and "
                f"{'were' if n != 1 else 'was'} dropped; every stroke before them is kept")

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _read(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return b""

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
            return decode_entries(self._read())[0]

    def keep(self, predicate: Callable[[JournalEntry], bool]) -> int:
        """Rewrite the journal keeping only entries for which `predicate` is true; returns how many remain.

        An empty result truncates the file in place; otherwise the kept entries are written to a new file
        that atomically replaces the old one."""
        with self._lock:
            self._check_open()
            current = decode_entries(self._read())[0]
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
            return self.path.stat().st_size
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
