"""Faults inside background jobs never bring the window down and leave no partial files.

Faults are injected into real engine work run through the window's JobRunner: an export that hits an
exception, a MemoryError, a torch-style "out of memory" RuntimeError or a SystemExit halfway, an export
cancelled while it writes, and a model folder deleted while a job is using it. After each: the job is
"failed" (or "cancelled") with a readable message in the jobs panel, the export target and its temp
folder are absent, and the window still paints and saves.
"""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.reliability import tally
from tests.reliability.helpers import leftover_temp_files, make_dataset

pytest.importorskip("desktop.workers")
pytestmark = pytest.mark.gui

FAULTS = {
    "exception": (lambda: ValueError("synthetic failure in frame 2"), "synthetic failure"),
    "memory": (lambda: MemoryError(), "MemoryError"),
    "torch oom": (lambda: RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), "out of memory"),
    "system exit": (lambda: SystemExit(3), "SystemExit"),
}


@pytest.fixture
def window(qtbot, tmp_path):
    from tests.gui.window_helpers import make_settings, open_window

    ds = make_dataset(tmp_path / "dataset", frames=[(1, f) for f in range(1, 7)])
    w = open_window(qtbot, ds, tmp_path / "proj", make_settings(tmp_path / "s.ini"))
    for key in w.doc.keys():
        w.doc.project.set_status(key, "done")
    yield w
    w.runner.shutdown()


def _export(window, out: Path):
    return window.export({"out_dir": str(out), "experiment": None, "split": "all", "statuses": ("done",),
                          "previews": True})


def _assert_window_alive(qtbot, window) -> None:
    """The window is up and still edits and saves."""
    from tests.gui.window_helpers import middle_stroke, paint

    assert window.isVisible()
    paint(window, middle_stroke(window))
    assert window.doc.dirty
    assert window.doc.save() is True
    np.testing.assert_array_equal(window.doc.project.load_label(window.doc.key), window.doc.label)


def _assert_no_partial_export(out: Path) -> None:
    assert not out.exists(), "a failed export must not leave a half export under the target name"
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(out.name)] == []
    assert leftover_temp_files(out.parent) == []


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_in_export_job(qtbot, window, tmp_path, monkeypatch, fault):
    import engine.export.cadis_export as cx
    from desktop.workers import FAILED

    make_error, text = FAULTS[fault]
    real_encode, calls = cx.encode_png, {"n": 0}

    def failing_encode(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # a few files are already written in the temp folder
            raise make_error()
        return real_encode(*args, **kwargs)

    monkeypatch.setattr(cx, "encode_png", failing_encode)
    out = tmp_path / "exports" / "cadis-export"
    handle = _export(window, out)
    with qtbot.waitSignal(handle.finished, timeout=30_000):
        pass
    assert handle.state == FAILED and text in handle.error
    assert window.jobs_panel.row_for(handle).status_text().startswith("Failed")
    _assert_no_partial_export(out)
    monkeypatch.undo()
    _assert_window_alive(qtbot, window)
    tally.add("job_faults")


def test_cancelled_export_leaves_nothing(qtbot, window, tmp_path, monkeypatch):
    import engine.export.cadis_export as cx
    from desktop.workers import CANCELLED

    real_encode = cx.encode_png
    writing, go = threading.Event(), threading.Event()

    def slow_encode(*args, **kwargs):
        writing.set()
        go.wait(10)
        return real_encode(*args, **kwargs)

    monkeypatch.setattr(cx, "encode_png", slow_encode)
    out = tmp_path / "exports" / "cadis-export"
    handle = _export(window, out)
    assert writing.wait(20), "the export never started writing"
    handle.cancel()
    go.set()
    with qtbot.waitSignal(handle.finished, timeout=30_000):
        pass
    assert handle.state == CANCELLED
    _assert_no_partial_export(out)
    monkeypatch.undo()
    _assert_window_alive(qtbot, window)
    tally.add("job_faults")


def test_model_folder_deleted_while_a_job_uses_it(qtbot, window, tmp_path):
    torch = pytest.importorskip("torch")
    from desktop.workers import FAILED
    from engine.models import SpadeUNet2DModel, load_synthesis_model, model_fingerprint, save_synthesis_model

    torch.manual_seed(0)
    model_dir = save_synthesis_model(
        SpadeUNet2DModel(sample_size=(16, 32), num_classes=8, class_set="1", block_out_channels=(8, 16),
                         layers_per_block=1, spade_hidden=8, head_dim=8), tmp_path / "models" / "tiny")
    opened, go = threading.Event(), threading.Event()
    out = tmp_path / "samples"

    def job(ctx):
        fingerprint = model_fingerprint(model_dir)  # the job has started using the folder
        opened.set()
        go.wait(10)
        ctx.check()
        model, _sched, _card = load_synthesis_model(model_dir, device="cpu")  # the folder is gone by now
        (out / fingerprint).mkdir(parents=True)
        return model

    handle = window.runner.submit("Sample from tiny model", job, group="synthesis")
    assert opened.wait(20)
    shutil.rmtree(model_dir)
    go.set()
    with qtbot.waitSignal(handle.finished, timeout=30_000):
        pass
    assert handle.state == FAILED
    assert "does not exist" in handle.error and str(model_dir.name) in handle.error
    assert not out.exists()
    _assert_window_alive(qtbot, window)
    tally.add("job_faults")


def test_many_failing_jobs_in_a_row_keep_the_window_up(qtbot, window):
    from desktop.workers import FAILED

    def boom(ctx, i):
        ctx.report(0.5, f"job {i}")
        if i % 3 == 0:
            raise MemoryError()
        if i % 3 == 1:
            raise RuntimeError("out of memory")
        raise OSError(28, "No space left on device")

    handles = [window.runner.submit(f"job {i}", lambda ctx, i=i: boom(ctx, i)) for i in range(12)]
    assert window.runner.wait(30_000)
    assert [h.state for h in handles] == [FAILED] * 12
    assert all(h.error for h in handles)
    _assert_window_alive(qtbot, window)
    tally.add("job_faults", len(handles))
