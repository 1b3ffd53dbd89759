"""The live preview lane: the newest preview wins with at most one in flight, a preview completes while long
jobs hold the shared threads, the model cache is not locked for a whole job, the student is used when present."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from desktop.workers import CANCELLED, DONE, RUNNING
from tests.gui.window_helpers import middle_stroke, paint
from tests.gui.synthesis_fixtures import model_dir, window  # noqa: F401 - fixtures

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("one_torch_thread")]


class CountingPipeline:
    """Wraps a pipeline: each call takes at least `delay` s (checking cancel) and records how many overlap."""

    def __init__(self, pipe, delay: float = 0.3):
        self.pipe, self.delay = pipe, delay
        self.running = self.max_running = self.calls = 0
        self.masks: list[np.ndarray] = []
        self._lock = threading.Lock()

    def __call__(self, mask, ctx=None, **kw):
        with self._lock:
            self.running += 1
            self.calls += 1
            self.max_running = max(self.max_running, self.running)
        try:
            end = time.monotonic() + self.delay
            while time.monotonic() < end:
                ctx.check()
                time.sleep(0.01)
            self.masks.append(mask.copy())
            return self.pipe(mask, ctx=ctx, **kw)
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture
def counting(monkeypatch):
    import engine.distill

    real = engine.distill.preview_pipeline
    holder = {}

    def wrapped(model_dir, device="auto", use_student=True):
        pipe, why = real(model_dir, device=device, use_student=use_student)
        holder["pipe"] = CountingPipeline(pipe)
        return holder["pipe"], why

    monkeypatch.setattr(engine.distill, "preview_pipeline", wrapped)
    return holder


def test_newest_preview_wins_with_at_most_one_in_flight(window, qtbot, counting):
    panel = window.model_panels.synthesis
    shown = []
    panel.previewShown.connect(shown.append)
    panel.live.setChecked(True)
    h, w = window.doc.label.shape
    handles = []
    for i, cls in enumerate((34, 13, 5, 34)):  # four quick strokes while the first preview still runs
        paint(window, [(x, h // 4 + 10 * i) for x in range(w // 4, w // 2, 8)], cls=cls)
        handles.append(panel.preview_handle)
    newest = handles[-1]
    qtbot.waitUntil(newest.is_finished, timeout=30_000)
    window.runner.wait(30_000)
    assert newest.state == DONE
    assert all(hd.state == CANCELLED and hd.superseded for hd in handles[:-1])
    pipe = counting["pipe"]
    assert pipe.max_running == 1  # never two previews at once
    assert pipe.calls < 1 + len(handles)  # queued stale requests never ran
    # the big view shows the newest preview: made from the mask after the last stroke
    entry = panel.gallery.selected_entry()
    assert entry is panel.gallery.live_entry()

    np.testing.assert_array_equal(entry.mask, window.doc.label)  # the frame's own mask, at its size
    np.testing.assert_array_equal(pipe.masks[-1], window.doc.label)
    assert shown and shown[-1] == panel.last_preview_s and not panel.preview.pixmap().isNull()


def test_preview_completes_while_long_jobs_hold_the_shared_threads(window, qtbot):
    panel = window.model_panels.synthesis
    release = threading.Event()

    def long_job(ctx):
        while not release.wait(0.02):
            ctx.check()
        return "long"

    longs = [window.runner.submit(f"long {i}", long_job) for i in range(3)]  # more than the shared threads
    try:
        qtbot.waitUntil(lambda: sum(j.state == RUNNING for j in longs) == 2, timeout=10_000)
        panel.live.setChecked(True)
        paint(window, middle_stroke(window))
        handle = panel.preview_handle
        qtbot.waitUntil(handle.is_finished, timeout=30_000)
        assert handle.state == DONE and panel.gallery.live_entry() is not None
        assert all(not j.is_finished() for j in longs)  # the long jobs are still going
    finally:
        release.set()
        window.runner.wait(30_000)
    assert all(j.state == DONE for j in longs)


def test_model_cache_is_not_locked_for_a_whole_job():
    from engine.model_cache import ModelCache

    cache = ModelCache(exclusive=False)
    inside, release, order = threading.Event(), threading.Event(), []

    def long_use(obj):
        inside.set()
        release.wait(10)
        order.append("long")

    t = threading.Thread(target=lambda: cache.use("k", lambda: "model", long_use))
    t.start()
    assert inside.wait(10)
    cache.use("k", lambda: "other", lambda obj: order.append(f"short {obj}"))  # does not wait for the long use
    release.set()
    t.join(10)
    assert order == ["short model", "long"]


def test_preview_uses_the_distilled_student_when_present(window, qtbot, model_dir, tmp_path):
    import json
    import shutil

    from engine.distill import ConsistencyStudent, save_student
    from engine.models import load_synthesis_model

    folder = tmp_path / "with-student"
    shutil.copytree(model_dir, folder)
    teacher, sched, card = load_synthesis_model(folder, device="cpu")
    save_student(ConsistencyStudent.from_teacher(teacher, default_steps=1), folder, sched,
                 {"teacher_weights_sha256": card["weights_sha256"]})
    panel = window.model_panels.synthesis
    window.settings.model_dir = str(folder)
    window.model_panels.settings_changed()
    assert "distilled student" in panel.model_label.text()
    panel.live.setChecked(True)
    qtbot.waitUntil(panel.preview_handle.is_finished, timeout=30_000)
    prov = panel.gallery.live_entry().provenance
    assert prov["sampler"].startswith("lcm") and prov["steps"] == 1
    assert "lcm" in panel.status.text() and " ms" in panel.status.text()
    json.loads((folder / "student" / "student_card.json").read_text())


def test_lane_thread_limit_leaves_other_threads_alone():
    import torch

    from desktop.workers import limit_torch_threads_here

    default = torch.get_num_threads()
    seen = {}

    def lane():
        limit_torch_threads_here(1)
        seen["lane"] = torch.get_num_threads()

    t = threading.Thread(target=lane)
    t.start()
    t.join()
    later = threading.Thread(target=lambda: seen.update(later=torch.get_num_threads()))
    later.start()
    later.join()
    assert seen["lane"] == 1
    assert seen["later"] == default and torch.get_num_threads() == default


def test_models_menu_distils_a_student_with_progress_and_cancel(window, qtbot, model_dir, tmp_path):
    import shutil

    from engine.distill import student_problem

    folder = tmp_path / "to-distil"
    shutil.copytree(model_dir, folder)
    window.settings.model_dir = str(folder)
    window.model_panels.settings_changed()
    action = window.model_panels.actions["models.distill"]
    assert action.text() == "Distil preview student…"
    action.trigger()
    handle = window.model_panels.synthesis.distill_handle
    assert handle is not None and handle.group == "distill"
    assert window.docks["jobs"].isVisible()  # its row there shows progress and a cancel button
    qtbot.waitUntil(lambda: "step" in handle.message, timeout=60_000)
    handle.cancel()
    qtbot.waitUntil(handle.is_finished, timeout=60_000)
    assert handle.state == CANCELLED
    assert student_problem(folder) is None  # cancelling saved what it had; the next run continues from it
    assert (folder / "student" / "training" / "distill_config.json").is_file()
