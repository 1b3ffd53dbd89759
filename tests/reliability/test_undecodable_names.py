"""A file name that is not valid UTF-8 is a problem when the folder is indexed (it could never be saved), and
the user is never told strokes are safe when the journal write that would keep them failed."""
from __future__ import annotations

import errno
import os

import numpy as np
import pytest

from engine import edits
from engine.dataset import open_dataset
from engine.imageio import write_image
from engine.project import Project
from engine.session import AutosavePolicy, ProjectSession, SessionEvents
from tests.reliability import tally
from tests.reliability.helpers import make_dataset

BAD = b"frame_\xff\xfe.png"


@pytest.fixture
def frame_folder(tmp_path):
    folder = tmp_path / "frames"
    rng = np.random.default_rng(0)
    write_image(folder / "frame_good.png", rng.integers(0, 256, (36, 64, 3), dtype=np.uint8))
    write_image(folder / "frame_other.png", rng.integers(0, 256, (36, 64, 3), dtype=np.uint8))
    os.rename(folder / "frame_other.png", os.path.join(os.fsencode(folder), BAD))
    return folder


def test_undecodable_name_is_a_problem_at_index_time(frame_folder, tmp_path):
    index = open_dataset(frame_folder)
    assert [f.key for f in index.frames] == ["frame_good.png"]
    problems = [p for p in index.scan_problems if "UTF-8" in p.reason]
    assert len(problems) == 1 and "\\xff\\xfe" in problems[0].path
    str(problems[0]).encode("utf-8")  # printable and storable
    with Project.open_or_create(frame_folder, project_dir=tmp_path / "p.cadis-project") as p:
        assert p.frame_keys() == ["frame_good.png"]
    tally.add("fuzz_cases")
    tally.add("fuzz_refused")


class Errors(SessionEvents):
    def __init__(self):
        self.messages: list[str] = []

    def error(self, message: str) -> None:
        self.messages.append(message)


def test_no_safety_claim_when_the_journal_write_failed(tmp_path, monkeypatch):
    project = Project.open_or_create(make_dataset(tmp_path / "ds"))
    events = Errors()
    session = ProjectSession(events, AutosavePolicy(500))
    session.open_project(project)
    assert session.set_frame(session.keys()[0])

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(project, "journal_append", full)
    monkeypatch.setattr(project, "save_label", full)
    session.record_edit(edits.brush_stroke(session.current.label, [(2, 2), (8, 2)], 1.5, 13))
    assert events.messages and "only on screen" in events.messages[-1]
    assert session.save() is False
    assert "still in the journal" not in events.messages[-1] and "only on screen" in events.messages[-1]
    monkeypatch.undo()
    assert session.save() is True  # once the disk has room the save works and the claim holds again
    assert project.pending_recovery() == {}
    project.close()
    tally.add("disk_full_cases")
