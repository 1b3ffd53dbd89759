"""Paths stored in manifests and project records cannot leave their folder.

Promise: every path the project writes to its database or to an export manifest is relative, uses forward
slashes and is validated again when read back, so a tampered record or manifest (`..`, an absolute path, a
drive letter, a link out of the project) is refused and nothing outside the project is read or written.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reliability import tally

ESCAPES = ["../outside.png", "a/../../outside.png", "/etc/passwd", "C:/Windows/x.png", "C:x.png", "a\\..\\b.png",
           "", ".", "a//b.png", "a/./b.png", "x\x00y.png", "..", "labels/../../x.png"]


@pytest.mark.parametrize("rel", ESCAPES)
def test_escaping_paths_are_refused(tmp_path, rel):
    from engine.project import ProjectError, check_relpath, resolve_inside

    with pytest.raises(ProjectError):
        check_relpath(rel)
    with pytest.raises(ProjectError):
        resolve_inside(tmp_path, rel)


@settings(max_examples=300, deadline=None)
@given(rel=st.text(st.sampled_from(list("ab./\\:~ \x00é")), max_size=14))
def test_any_accepted_path_stays_inside(tmp_path_factory, rel):
    from engine.project import ProjectError, check_relpath, resolve_inside

    root = tmp_path_factory.getbasetemp() / "inside-root"
    root.mkdir(exist_ok=True)
    tally.add("fuzz_cases")
    try:
        check_relpath(rel)
        path = resolve_inside(root, rel)
    except ProjectError:
        tally.add("fuzz_refused")
        return
    real_root = os.path.realpath(root)
    assert os.path.commonpath([real_root, os.path.realpath(path)]) == real_root


def test_link_out_of_the_project_is_refused(tmp_path):
    from engine.project import Project, ProjectError
    from tests.reliability.helpers import frame_key, make_dataset

    outside = tmp_path / "outside"
    outside.mkdir()
    proj_dir = tmp_path / "p.cadis-project"
    with Project.open_or_create(make_dataset(tmp_path / "ds"), proj_dir) as proj:
        shutil.rmtree(proj_dir / "labels", ignore_errors=True)
        os.symlink(outside, proj_dir / "labels")
        key = frame_key(1, 1)
        with pytest.raises(ProjectError, match="outside"):
            proj.save_label(key, np.zeros((36, 64), np.uint8))
    assert list(outside.iterdir()) == [], "nothing may be written through the link"


def test_tampered_pair_paths_in_the_database_are_refused(tmp_path):
    from engine.project import Project, ProjectError
    from tests.reliability.helpers import make_dataset

    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not yours")
    proj_dir = tmp_path / "p.cadis-project"
    with Project.open_or_create(make_dataset(tmp_path / "ds"), proj_dir) as proj:
        pid = proj.add_pair(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8), "synthesis", {"seed": 1})
    for bad in ("../../secret.png", str(secret), "pairs/1/../../../secret.png"):
        conn = sqlite3.connect(proj_dir / "project.sqlite")
        conn.execute("UPDATE pairs SET image_path=? WHERE id=?", (bad, pid))
        conn.commit()
        conn.close()
        with Project.open_or_create(proj_dir) as proj:
            for call in (lambda: proj.pair(pid), lambda: proj.load_pair(pid), lambda: proj.pairs()):
                with pytest.raises(ProjectError):
                    call()
        tally.add("fuzz_cases")
        tally.add("fuzz_refused")


def test_journal_keys_outside_the_dataset_are_never_used(tmp_path):
    """A tampered journal file naming frames outside the dataset: nothing is offered, read or written."""
    from engine.edits import UndoRecord
    from engine.project import Project, ProjectError
    from engine.project.journal import Journal, JournalEntry
    from tests.reliability.helpers import make_dataset

    rec = UndoRecord(0, 0, np.zeros((2, 2), np.uint8), np.ones((2, 2), np.uint8))
    proj_dir = tmp_path / "p.cadis-project"
    Project.open_or_create(make_dataset(tmp_path / "ds"), proj_dir).close()
    bad_keys = ("../../evil.png", "/tmp/evil.png", "Video01/Images/../../../evil.png")
    journal = Journal(proj_dir / "journal.bin", fsync=False)
    for key in bad_keys:
        journal.append(JournalEntry(key, 0, rec.to_bytes()))
    journal.close()
    with Project.open_or_create(proj_dir) as proj:
        assert proj.pending_recovery() == {}
        for key in bad_keys:
            with pytest.raises(ProjectError):
                proj.recover(key)
            with pytest.raises(ProjectError):
                proj.save_label(key, np.zeros((36, 64), np.uint8))
            tally.add("fuzz_cases")
            tally.add("fuzz_refused")
    assert not (tmp_path / "evil.png").exists()


@pytest.mark.parametrize("bad", ["../x.png", "/abs/x.png", "a/../../x.png", "C:/x.png"])
@pytest.mark.parametrize("field", ["image", "label", "preview"])
def test_manifest_paths_cannot_escape(tmp_path, bad, field):
    from engine.export import read_manifest
    from engine.export.manifest import FORMAT, MANIFEST_NAME

    entry = {"image": "Video01/Images/a.png", "label": "Video01/Labels/a.png", "preview": None, field: bad}
    (tmp_path / MANIFEST_NAME).write_text(json.dumps({"format": FORMAT, "version": 1, "frames": [entry]}))
    with pytest.raises(ValueError, match="may not contain|absolute"):
        read_manifest(tmp_path)
    tally.add("fuzz_cases")
    tally.add("fuzz_refused")
