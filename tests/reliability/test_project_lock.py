"""One writer per project: a second app or command on a project another process writes is refused with a
message naming the holder, may open it read-only, and can never append strokes to a journal the writer
replaces. A killed writer leaves no lock behind. Tested with two real processes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.project import Project, ProjectError
from tests.reliability import tally
from tests.reliability.data_loss_helpers import one_clear_line, run_cli
from tests.reliability.helpers import make_dataset

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the writer lock needs flock")
ROOT = Path(__file__).resolve().parents[2]
HOLDER = """
import sys
from engine.project import Project
try:
    p = Project.open_or_create(sys.argv[1], app="holder-app")
except TypeError:  # a version without the writer lock (to show the test fails there)
    p = Project.open_or_create(sys.argv[1])
print("open", flush=True)
for line in sys.stdin:
    key = p.frame_keys()[0]
    label = p.load_label(key)
    label[:4, :4] = 7
    p.save_label(key, label)  # replaces the journal file
    print("saved", flush=True)
"""


@pytest.fixture
def holder(tmp_path):
    """A second process that has the project open for writing."""
    dataset = make_dataset(tmp_path / "cadis")
    Project.open_or_create(dataset, project_dir=tmp_path / "proj").close()
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "proj")], cwd=ROOT,
                             env=dict(os.environ, PYTHONPATH=str(ROOT)), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "open"
    yield child, tmp_path / "proj"
    if child.poll() is None:
        child.kill()
    child.wait(timeout=30)


def test_a_second_writer_is_refused_naming_the_holder_and_may_read(holder):
    child, root = holder
    with pytest.raises(ProjectError) as caught:
        Project.open_or_create(root)
    message = str(caught.value)
    assert f"pid {child.pid}" in message and "holder-app" in message and "read-only" in message
    tally.add("lock_refusals")

    with Project.open_or_create(root, read_only=True) as p:
        key = p.frame_keys()[0]
        label = p.load_label(key)
        for change in (lambda: p.save_label(key, label), lambda: p.set_status(key, "done"),
                       lambda: p.discard_recovery(), lambda: p.journal_append(key, object())):
            with pytest.raises(ProjectError, match="read-only"):
                change()
        child.stdin.write("save\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "saved"
        assert p.load_label(key)[0, 0] == 7  # a reader sees the writer's saves
        assert p.pending_recovery() == {}


def test_the_cli_refuses_with_one_line_and_a_killed_writer_leaves_no_lock(holder, capsys):
    child, root = holder
    code, _out, err = run_cli(capsys, "augment", root, "--model", root.parent / "no-model", "--no-progress")
    line = one_clear_line(err)
    assert code == 2 and "already open for writing by holder-app" in line and f"pid {child.pid}" in line
    code, out, err = run_cli(capsys, "export", root, root.parent / "out", "--status", "unlabelled", "--no-progress")
    assert code == 0, err  # an export only reads: it works beside the writer
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    with Project.open_or_create(root) as p:  # the OS dropped the dead writer's lock
        p.set_status(p.frame_keys()[0], "done")


def test_the_app_offers_read_only_open_on_a_locked_project(holder, qtbot, monkeypatch, tmp_path):
    from desktop import dialogs
    from desktop.main_window import MainWindow
    from tests.gui.window_helpers import make_settings

    child, root = holder
    asked = []
    monkeypatch.setattr(dialogs, "ask_read_only", lambda parent, msg: asked.append(msg) or True)
    window = MainWindow(make_settings(tmp_path / "settings.json"))
    qtbot.addWidget(window)
    assert window.open_source(root, recovery="skip")
    window.runner.wait(30_000)
    assert len(asked) == 1 and f"pid {child.pid}" in asked[0]
    assert window.doc.project.read_only and "read-only" in window.windowTitle()
    key = window.doc.key
    window.doc.label[:] = 3  # an edit on screen ...
    window.doc._set_dirty(True)
    assert window.doc.save()  # ... is not kept, and never blocks closing
    assert not window.doc.project.has_saved_label(key)
    assert window.doc.close_project()

    monkeypatch.setattr(dialogs, "ask_read_only", lambda parent, msg: False)  # Cancel: nothing opens
    assert not window.open_source(root, recovery="skip")
    assert window.doc.project is None
    window.runner.shutdown()
    np.testing.assert_equal(child.poll(), None)
