"""Edit journal: framing, torn tails, recovery of unsaved strokes, saves clearing the journal."""
from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from engine.project import Journal, JournalEntry, Project
from engine.project.journal import decode_entries, encode_entry

from test_project_store import H, W, make_cadis

from engine.edits import UndoRecord


def stroke(label: np.ndarray, y0: int, x0: int, h: int, w: int, value: int) -> UndoRecord:
    """Paint a rectangle into `label` in place and return its undo record (like an edit op would)."""
    before = label[y0:y0 + h, x0:x0 + w].copy()
    label[y0:y0 + h, x0:x0 + w] = value
    return UndoRecord(y0, x0, before, label[y0:y0 + h, x0:x0 + w].copy())


@pytest.fixture
def project(tmp_path):
    p = Project.open_or_create(make_cadis(tmp_path / "cadis"))
    yield p
    p.close()


def test_frames_round_trip_and_stop_at_corruption():
    entries = [JournalEntry("a.png", 0, b"x" * 10), JournalEntry("Vidéo/b.png", 7, b""), JournalEntry("c", 2, b"\0" * 300)]
    blob = b"".join(encode_entry(e) for e in entries)
    assert decode_entries(blob) == (entries, len(blob))
    # cut anywhere inside the last frame: the first two survive
    cut_from = len(blob) - len(encode_entry(entries[2]))
    for cut in range(cut_from, len(blob)):
        got, valid = decode_entries(blob[:cut])
        assert got == entries[:2] and valid == cut_from
    # a flipped bit in the middle frame's payload stops parsing there
    second = len(encode_entry(entries[0]))
    flipped = bytearray(blob)
    flipped[second + 14] ^= 0x01
    assert decode_entries(bytes(flipped))[0] == entries[:1]
    # an absurd length is garbage, not an allocation
    assert decode_entries(struct.pack("<4sII", b"CJ01", 0xFFFFFFF0, 0) + b"zz") == ([], 0)


_entries = st.lists(st.builds(JournalEntry, st.text(min_size=1, max_size=20), st.integers(0, 2**40),
                              st.binary(max_size=64)), max_size=6)


@settings(max_examples=150, deadline=None)
@given(_entries, st.data())
def test_any_damage_keeps_a_whole_prefix(entries, data):
    """Cutting or corrupting the file anywhere yields a prefix of the entries, never garbage or a crash."""
    blob = bytearray(b"".join(encode_entry(e) for e in entries))
    assert decode_entries(bytes(blob)) == (entries, len(blob))
    if not blob:
        return
    cut = data.draw(st.integers(0, len(blob)))
    flip = data.draw(st.one_of(st.none(), st.integers(0, len(blob) - 1)))
    if flip is not None:
        blob[flip] ^= data.draw(st.integers(1, 255))
    got, valid = decode_entries(bytes(blob[:cut]))
    assert got == entries[:len(got)]
    assert valid == sum(len(encode_entry(e)) for e in got) <= cut


def test_torn_tail_is_cut_on_open_and_appends_stay_readable(tmp_path):
    path = tmp_path / "journal.bin"
    j = Journal(path, fsync=False)
    j.append(JournalEntry("k", 0, b"one"))
    j.append(JournalEntry("k", 0, b"two"))
    j.close()
    whole = path.read_bytes()
    path.write_bytes(whole[:-2])  # a kill in the middle of the second write
    j = Journal(path)
    assert j.torn_bytes == len(encode_entry(JournalEntry("k", 0, b"two"))) - 2
    assert [e.data for e in j.entries()] == [b"one"]
    j.append(JournalEntry("k", 0, b"three"))
    assert [e.data for e in j.entries()] == [b"one", b"three"]
    j.close()


def test_a_failed_append_leaves_no_torn_frame(tmp_path, monkeypatch):
    """Disk full in the middle of an append: the half frame is cut off, later appends stay readable."""
    import errno
    import os

    journal = Journal(tmp_path / "journal.bin", fsync=False)
    first, third = JournalEntry("k", 0, b"first"), JournalEntry("k", 0, b"third")
    journal.append(first)
    real_write = os.write

    def half_then_full(fd, data):
        real_write(fd, bytes(data)[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(OSError, match="No space"):
        journal.append(JournalEntry("k", 0, b"second, torn"))
    monkeypatch.undo()
    journal.append(third)
    assert journal.entries() == [first, third]
    journal.close()


def test_recovery_replays_strokes_on_the_saved_label(project):
    key, other = project.frame_keys()[0], project.frame_keys()[3]
    saved = project.load_label(key).copy()
    project.save_label(key, saved)
    work = saved.copy()
    for y, x, v in [(1, 1, 20), (5, 8, 21), (3, 3, 22)]:
        project.journal_append(key, stroke(work, y, x, 6, 9, v))
    project.journal_append(other, stroke(project.load_label(other), 0, 0, 2, 2, 30))
    assert project.pending_recovery() == {key: 3, other: 1}
    root = project.root
    project.close()  # as if the app died here
    with Project.open_or_create(root) as p:
        assert p.pending_recovery() == {key: 3, other: 1}
        recovered = p.recover(key)
        assert np.array_equal(recovered, work) and not np.array_equal(recovered, saved)
        assert np.array_equal(p.load_label(key), saved)  # recover writes nothing
        p.save_label(key, recovered)
        assert p.pending_recovery() == {other: 1}  # saving clears that frame's strokes only
        assert np.array_equal(p.load_label(key), work)


def test_recovery_ignores_a_torn_last_record(project):
    key = project.frame_keys()[1]
    work = project.load_label(key).copy()
    first = stroke(work, 0, 0, 4, 4, 11)
    after_first = work.copy()
    project.journal_append(key, first)
    project.journal_append(key, stroke(work, 10, 10, 8, 8, 12))
    root = project.root
    project.close()
    jpath = root / "journal.bin"
    jpath.write_bytes(jpath.read_bytes()[:-5])
    with Project.open_or_create(root) as p:
        assert p.pending_recovery() == {key: 1}
        assert np.array_equal(p.recover(key), after_first)


def test_strokes_before_a_save_are_not_offered(project):
    key = project.frame_keys()[2]
    work = project.load_label(key).copy()
    project.journal_append(key, stroke(work, 2, 2, 3, 3, 17))
    project.save_label(key, work)
    assert project.pending_recovery() == {}
    assert (project.root / "journal.bin").stat().st_size == 0
    project.journal_append(key, stroke(work, 6, 6, 3, 3, 18))
    assert project.pending_recovery() == {key: 1}
    assert np.array_equal(project.recover(key), work)


def test_stale_strokes_left_by_a_kill_between_save_and_cleanup_are_ignored(project):
    key = project.frame_keys()[0]
    work = project.load_label(key).copy()
    project.journal_append(key, stroke(work, 2, 2, 3, 3, 17))
    project._journal.keep = lambda predicate: 1  # simulate a kill right after the database commit
    project.save_label(key, work)
    assert len(project._journal.entries()) == 1  # still on disk ...
    assert project.pending_recovery() == {}      # ... but older than the saved label


def test_discard_recovery(project):
    k0, k1 = project.frame_keys()[:2]
    for k in (k0, k1):
        project.journal_append(k, stroke(project.load_label(k), 0, 0, 2, 2, 5))
    project.discard_recovery(k0)
    assert project.pending_recovery() == {k1: 1}
    project.discard_recovery()
    assert project.pending_recovery() == {}
    with pytest.raises(Exception, match="not part of the dataset"):
        project.journal_append("nope.png", stroke(np.zeros((H, W), np.uint8), 0, 0, 1, 1, 1))
