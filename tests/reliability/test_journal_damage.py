"""Journal records that inflate without bound are refused within the size of their box, and a repair that
cuts a damaged journal tail says how many strokes it dropped."""
from __future__ import annotations

import struct
import tracemalloc
import zlib

import numpy as np
import pytest

from engine.edits import UndoRecord
from engine.project import Project, ProjectError
from engine.project.journal import Journal, JournalEntry, count_frames, encode_entry
from tests.reliability import tally
from tests.reliability.helpers import make_dataset

_HEADER = struct.Struct("<4sIIIIBI")  # the undo record header (engine.edits.record)


def bomb_record(h: int, w: int, inflated_mb: int) -> bytes:
    """An undo record for an h x w box whose zlib payload inflates to `inflated_mb` MB of zeros."""
    z = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    body = b"".join(z.compress(chunk) for _ in range(inflated_mb)) + z.flush()
    return _HEADER.pack(b"CUR1", 0, 0, h, w, 0, 0) + body


def test_compression_bomb_is_refused_within_the_box_size():
    data = bomb_record(8, 8, 200)  # about 200 KB that would inflate to 200 MB; the box holds 128 bytes
    assert len(data) < 400_000
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="corrupt undo record"):
            UndoRecord.from_bytes(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.0f} MB"
    with pytest.raises(ValueError, match="larger than any label"):
        UndoRecord.from_bytes(_HEADER.pack(b"CUR1", 0, 0, 100_000, 100_000, 0, 0) + zlib.compress(b"x"))
    tally.add("fuzz_cases", 2)
    tally.add("fuzz_refused", 2)


def test_bomb_in_the_project_journal_is_a_project_error(tmp_path):
    ds = make_dataset(tmp_path / "ds")
    with Project.open_or_create(ds) as p:
        key = p.frame_keys()[0]
        p._journal.append(JournalEntry(key, 0, bomb_record(8, 8, 100)))  # a valid checksum around it
        assert p.pending_recovery() == {key: 1}
        tracemalloc.start()
        try:
            with pytest.raises(ProjectError, match="cannot be replayed"):
                p.recover(key)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 8 * 2**20, f"peak {peak / 2**20:.0f} MB"


def _stroke(p: Project, key: str, value: int) -> None:
    before = p.load_label(key)[0:4, 0:4].copy()
    p.journal_append(key, UndoRecord(0, 0, before, np.full_like(before, value), "brush"))


def test_repair_reports_how_many_strokes_it_dropped(tmp_path):
    ds = make_dataset(tmp_path / "ds")
    with Project.open_or_create(ds) as p:
        key = p.frame_keys()[0]
        assert p.journal_dropped_strokes == 0 and p.journal_damage is None
        for v in range(6):
            _stroke(p, key, v)
        path = p.root / "journal.bin"
    blob = bytearray(path.read_bytes())
    frame = len(blob) // 6
    blob[3 * frame + 20] ^= 0xFF  # one flipped bit in the fourth stroke: only that stroke is lost
    path.write_bytes(bytes(blob))
    with Project.open_or_create(ds) as p:
        assert p.journal_dropped_strokes == 1
        assert "1 unsaved stroke in them" in p.journal_damage and "was dropped" in p.journal_damage
        assert "5 whole strokes were kept" in p.journal_damage
        assert p.pending_recovery() == {key: 5}  # the two strokes after the damaged one are still there
        assert p.recover(key)[0, 0] == 5
    copies = list(p.root.glob("journal.bin.damaged-*"))  # the journal as it was before the repair
    assert len(copies) == 1 and copies[0].read_bytes() == bytes(blob)
    assert copies[0].name in p.journal_damage
    with Project.open_or_create(ds) as p:  # the repair happened once; the journal is whole now
        assert p.journal_dropped_strokes == 0 and p.pending_recovery() == {key: 5}


def test_only_the_newest_damaged_copies_are_kept(tmp_path):
    """Each repair keeps a copy of the damaged journal; older copies beyond KEEP_DAMAGED are removed, so a
    journal that keeps being damaged does not fill the disk."""
    import os

    from engine.project.journal import KEEP_DAMAGED

    ds = make_dataset(tmp_path / "ds")
    with Project.open_or_create(ds) as p:
        key = p.frame_keys()[0]
        root = p.root
    path = root / "journal.bin"
    old = []
    for i in range(KEEP_DAMAGED + 2):  # copies of earlier repairs, oldest first
        c = root / f"journal.bin.damaged-20200101-00000{i}"
        c.write_bytes(b"old %d" % i)
        os.utime(c, (1_000_000 + i, 1_000_000 + i))
        old.append(c)
    elsewhere = root / "journal.bin.damaged-keep-me-dir"
    elsewhere.mkdir()  # not a copy this program wrote: never removed
    os.utime(elsewhere, (1, 1))
    with Project.open_or_create(ds) as p:
        for v in range(3):
            _stroke(p, key, v)
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 3 + 20] ^= 0xFF
    path.write_bytes(bytes(blob))
    with Project.open_or_create(ds) as p:
        assert p.journal_dropped_strokes == 1
    copies = sorted(c.name for c in root.glob("journal.bin.damaged-*") if c.is_file())
    new = [c for c in copies if not c.startswith("journal.bin.damaged-2020")]
    assert len(new) == 1 and (root / new[0]).read_bytes() == bytes(blob)  # the copy of this repair
    assert len(copies) == KEEP_DAMAGED  # this one and the newest older ones
    assert [c for c in copies if c != new[0]] == [c.name for c in old[-(KEEP_DAMAGED - 1):]]
    assert elsewhere.is_dir()


def test_torn_tail_of_a_kill_counts_one_stroke(tmp_path):
    path = tmp_path / "journal.bin"
    frames = [encode_entry(JournalEntry("k", 0, bytes([i]) * 50)) for i in range(3)]
    path.write_bytes(b"".join(frames) + frames[0][:10])
    j = Journal(path, fsync=False)
    try:
        assert j.dropped_strokes == 1 and j.torn_bytes == 10 and len(j.entries()) == 3
        assert "1 unsaved stroke in them" in j.damage_message()
    finally:
        j.close()
    assert count_frames(b"\x00" * 64) == 0
    assert count_frames(b"".join(frames)) == 3


def test_one_unreadable_stroke_does_not_refuse_the_frame(tmp_path):
    """A record with a valid checksum whose stroke cannot be decoded is skipped; the frame's other strokes
    are replayed and the count of each is kept."""
    ds = make_dataset(tmp_path / "ds")
    with Project.open_or_create(ds) as p:
        key = p.frame_keys()[0]
        _stroke(p, key, 4)
        p._journal.append(JournalEntry(key, 0, b"not a stroke record"))
        before = p.load_label(key)[8:12, 8:12].copy()
        p.journal_append(key, UndoRecord(8, 8, before, np.full_like(before, 6), "brush"))
    with Project.open_or_create(ds) as p:
        assert p.pending_recovery() == {key: 3}
        label, replayed, skipped = p.recover_counted(key)
        assert (replayed, skipped) == (2, 1)
        assert label[0, 0] == 4 and label[9, 9] == 6
        assert p.recover(key)[9, 9] == 6 and p.last_recovery == (2, 1)
