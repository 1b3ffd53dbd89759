"""The generic background-job mechanism: progress, cancel, latest-wins, errors as messages."""
from __future__ import annotations

import threading
import time

import pytest

from desktop.workers import CANCELLED, DONE, FAILED, JobRunner

pytestmark = pytest.mark.gui


@pytest.fixture
def runner(qtbot):
    r = JobRunner(max_threads=2)
    yield r
    r.shutdown()


def test_result_progress_and_gui_thread_callback(qtbot, runner):
    seen: list[tuple[float, str]] = []
    results = []
    main_thread = threading.get_ident()
    callback_threads = []

    def job(ctx):
        for i in range(5):
            ctx.report(i / 4, f"step {i}")
            time.sleep(0.04)  # longer than the progress throttle so every step is forwarded
        return sum(range(10))

    def on_result(value):
        callback_threads.append(threading.get_ident())
        results.append(value)

    handle = runner.submit("sum", job, on_result=on_result)
    handle.progressChanged.connect(lambda f, m: seen.append((f, m)))
    with qtbot.waitSignal(handle.finished, timeout=5000):
        pass
    assert handle.state == DONE and handle.result == 45 and results == [45]
    assert callback_threads == [main_thread]
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert seen[-1][1] == "step 4"


def test_cancel_stops_job_at_next_check(qtbot, runner):
    started = threading.Event()
    iterations = []
    results = []

    def job(ctx):
        started.set()
        for i in range(1000):
            ctx.check()
            iterations.append(i)
            time.sleep(0.005)
        return "finished"

    handle = runner.submit("long", job, on_result=results.append)
    assert started.wait(5)
    handle.cancel()
    with qtbot.waitSignal(handle.finished, timeout=5000):
        pass
    assert handle.state == CANCELLED
    assert results == [] and handle.result is None
    assert len(iterations) < 1000


def test_latest_request_wins_in_a_group(qtbot, runner):
    gate = threading.Event()
    results = []

    def slow(ctx):
        gate.wait(5)  # finishes without ever checking: its result must still be dropped
        return "old"

    old = runner.submit("preview 1", slow, group="preview", on_result=results.append)
    other = runner.submit("unrelated", lambda ctx: "other", group="thumbs", on_result=results.append)
    new = runner.submit("preview 2", lambda ctx: "new", group="preview", on_result=results.append)
    assert old.cancelled and old.superseded and not other.cancelled
    gate.set()
    assert runner.wait(5000)
    assert old.state == CANCELLED and new.state == DONE and other.state == DONE
    assert "old" not in results and sorted(results) == ["new", "other"]


def test_exception_becomes_error_message_not_crash(qtbot, runner):
    errors = []

    def broken(ctx):
        raise FileNotFoundError("model folder /nowhere has no config.json; pick one in Preferences")

    handle = runner.submit("load model", broken, on_error=errors.append)
    with qtbot.waitSignal(handle.finished, timeout=5000):
        pass
    assert handle.state == FAILED
    assert errors == [handle.error]
    assert "config.json" in handle.error and "Traceback" not in handle.error
    assert "FileNotFoundError" in handle.traceback
    # the runner keeps working after a failure
    ok = runner.submit("after", lambda ctx: 1)
    with qtbot.waitSignal(ok.finished, timeout=5000):
        pass
    assert ok.state == DONE


def test_failing_result_callback_is_reported(qtbot, runner):
    def bad_callback(value):
        raise KeyError("frame vanished")

    handle = runner.submit("x", lambda ctx: 1, on_result=bad_callback)
    with qtbot.waitSignal(handle.finished, timeout=5000):
        pass
    assert handle.state == FAILED and "frame vanished" in handle.error


def test_jobs_panel_shows_progress_cancel_and_errors(qtbot, runner):
    from desktop.docks.jobs_panel import JobsPanel

    panel = JobsPanel(runner)
    qtbot.addWidget(panel)
    gate = threading.Event()

    def waits(ctx):
        ctx.report(0.5, "half way")
        while not gate.is_set():
            ctx.check()
            time.sleep(0.01)

    long_job = runner.submit("Waiting job", waits)
    failing = runner.submit("Broken job", lambda ctx: 1 / 0)
    qtbot.waitUntil(lambda: failing.is_finished() and long_job.fraction == 0.5, timeout=5000)
    row_long, row_fail = panel.row_for(long_job), panel.row_for(failing)
    assert row_long.progress.value() == 500
    assert "half way" in row_long.status_text()
    assert "division by zero" in row_fail.status_text()
    assert not row_fail.cancel_button.isEnabled()
    row_long.cancel_button.click()
    with qtbot.waitSignal(long_job.finished, timeout=5000):
        pass
    assert long_job.state == CANCELLED and "ancel" in row_long.status_text()


def test_a_model_job_shows_the_device_it_runs_on(qtbot, runner, monkeypatch, tmp_path):
    import torch

    from desktop.docks.jobs_panel import JobsPanel

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    panel = JobsPanel(runner)
    qtbot.addWidget(panel)
    panel.resize(420, 200)
    auto = runner.submit("Synthesize preview", lambda ctx: None, device="auto")
    plain = runner.submit("Thumbnails", lambda ctx: None)
    qtbot.waitUntil(lambda: auto.is_finished() and plain.is_finished(), timeout=5000)
    assert auto.device == "CPU"                                   # auto without a GPU means the CPU
    assert panel.row_for(auto).title.text() == "Synthesize preview · CPU"
    assert panel.row_for(plain).title.text() == "Thumbnails" and plain.device == ""
    assert runner.submit("Train", lambda ctx: None, device="cuda").device == "cuda"  # the job will say no GPU
    panel.grab().save(str(tmp_path / "jobs_device.png"))


def test_wait_covers_a_job_that_a_result_callback_submits(qtbot, runner):
    """`wait` returns when the chain is done, not when the first job is (a slow second job on a loaded
    machine made a test read the result before it arrived)."""
    import time

    got = []

    def second(ctx):
        time.sleep(2.5)  # longer than any fixed grace period after the first job
        return "second"

    runner.submit("first", lambda ctx: "first",
                  on_result=lambda r: runner.submit("second", second, on_result=got.append))
    assert runner.wait(20_000) and got == ["second"]


def test_the_cycle_collector_runs_only_in_the_gui_thread(qtbot):
    import gc
    import threading

    from desktop.app import make_app
    from desktop.gc_guard import collect_due

    gc.enable()                                   # as Python starts
    app = make_app()
    assert not gc.isenabled() and app._cadis_gc_timer.isActive()

    class Node:
        pass

    collected_in = []
    gc.callbacks.append(lambda phase, info: phase == "stop" and collected_in.append(threading.current_thread()))
    try:
        worker = threading.Thread(target=lambda: [[] for _ in range(50_000)])  # 50,000 live objects at once
        worker.start()
        worker.join()
        assert collected_in == []                 # allocation on a worker thread collected nothing
        a, b = Node(), Node()
        a.other, b.other = b, a
        ref = __import__("weakref").ref(a)
        del a, b
        alive = [[] for _ in range(gc.get_threshold()[0] + 1)]  # the youngest generation is due
        collect_due()
        del alive
        assert ref() is None and collected_in and all(t is threading.main_thread() for t in collected_in)
    finally:
        gc.callbacks.pop()


def test_shared_jobs_wait_at_their_checks_while_an_interactive_lane_job_runs(qtbot, runner):
    """A long job (training) pauses between its steps while the live preview's interactive lane works, so
    the preview gets the CPU and the GIL; a plain lane (segment) does not make it wait."""
    preview_running, release = threading.Event(), threading.Event()
    steps: list[tuple[float, bool]] = []

    def long_job(ctx):
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            ctx.check()
            steps.append((time.monotonic(), preview_running.is_set()))
            time.sleep(0.01)

    def preview(ctx):
        preview_running.set()
        release.wait(5)
        time.sleep(0.3)  # the long job, told to wait, must not step in this time
        t = time.monotonic()
        preview_running.clear()
        return t

    def plain(ctx):
        time.sleep(0.3)
        return time.monotonic()

    long = runner.submit("train", long_job)
    qtbot.waitUntil(lambda: len(steps) > 3, timeout=5000)
    job = runner.lane("preview", interactive=True).submit("preview", preview)
    qtbot.waitUntil(preview_running.is_set, timeout=5000)
    time.sleep(0.05)  # the long job reaches its next check
    n, release_t = len(steps), time.monotonic()
    release.set()
    qtbot.waitUntil(job.is_finished, timeout=5000)
    ended = job.result
    assert all(t >= ended or t < release_t for t, _ in steps[n:])  # no step while the preview ran
    before = len(steps)
    other = runner.lane("segment").submit("segment", plain)
    qtbot.waitUntil(other.is_finished, timeout=5000)
    assert len(steps) > before + 5  # a plain lane's job leaves the long job running
    qtbot.waitUntil(long.is_finished, timeout=10_000)
    assert long.state == DONE
