"""The one background-job mechanism of the desktop: QThreadPool + QRunnable with signals.

`JobRunner.submit(title, fn, group=..., on_result=..., on_error=...)` runs `fn(ctx)` off the GUI thread,
where `ctx` is an `engine.jobs.JobContext`. The returned `JobHandle` lives in the GUI thread and
re-emits progress and the end of the job there, so widgets may connect to it directly.

- progress: `ctx.report(fraction, message)` -> `JobHandle.progressChanged` (throttled to ~30 Hz).
- cancel: `handle.cancel()` makes the next `ctx.check()` raise `JobCancelled`; the job ends as
  "cancelled" and its callbacks are not called.
- latest request wins: a new submit in the same `group` cancels the older jobs of that group; an older
  job's result is dropped even if it finished before noticing.
- errors: an exception becomes `handle.error` (a one-line message) and state "failed"; `on_error` is
  called with that message. Nothing propagates into the Qt event loop.
- lanes: `runner.lane("preview")` is a child runner with ONE thread of its own, so interactive work
  (the live preview) never waits behind long jobs on the shared threads. With one thread and latest-wins
  groups, at most one job of a group runs; a newer request cancels the running one at its next check, and
  requests still queued behind it end "cancelled" without running, so the newest runs next.
  `wait`, `cancel_all` and `shutdown` of the runner include its lanes.
- interactive lanes: while a job of a lane made with `lane(name, interactive=True)` (the live preview) runs,
  every other job (shared threads and other lanes) waits at its next `ctx.check()` / `ctx.is_cancelled()` (at most
  `YIELD_MAX_S` at a time), so a training job between two steps leaves the CPU (and the GIL) to the preview.
"""
from __future__ import annotations

import itertools
import threading
import time
import traceback
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from engine.jobs import JobCancelled, JobContext

JobFn = Callable[[JobContext], Any]

QUEUED, RUNNING, DONE, CANCELLED, FAILED = "queued", "running", "done", "cancelled", "failed"
FINAL_STATES = (DONE, CANCELLED, FAILED)
_PROGRESS_INTERVAL_S = 1.0 / 30.0
YIELD_MAX_S = 5.0  # a shared-pool job waits at most this long per check for interactive work to end


class _YieldGate:
    """Counts the interactive jobs running; `wait_idle` blocks while any runs (bounded by `timeout`)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._running = 0

    def enter(self) -> None:
        with self._cond:
            self._running += 1

    def leave(self) -> None:
        with self._cond:
            self._running -= 1
            if not self._running:
                self._cond.notify_all()

    def wait_idle(self, timeout: float = YIELD_MAX_S) -> None:
        with self._cond:
            self._cond.wait_for(lambda: not self._running, timeout)


def error_message(exc: BaseException) -> str:
    """A one-line message for the user from an exception (type name when the text is empty)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    if isinstance(exc, (ValueError, FileNotFoundError, OSError, RuntimeError)) and text:
        return text
    return f"{name}: {text}" if text else name


def limit_torch_threads_here(n: int) -> None:
    """Let torch use `n` intra-op threads in the CALLING thread only (a lane's worker thread), leaving the default
    of every other thread as it was. Under load, a preview whose OpenMP team waits on a core that a long job
    holds took 10x longer here than one on a single thread. torch keeps the count per thread, but a change also
    becomes the default for threads started later, so a helper thread puts that default back."""
    import torch

    before = torch.get_num_threads()
    if before == n:
        return
    torch.set_num_threads(n)
    restore = threading.Thread(target=torch.set_num_threads, args=(before,), daemon=True)
    restore.start()
    restore.join()


class _Bridge(QObject):
    """Lives in the GUI thread; emitted from worker threads and delivered to the runner by queued
    connections, so every handle update and callback happens in the GUI thread."""

    progress = Signal(int, float, str)     # job id, fraction, message
    started = Signal(int)                  # job id
    finished = Signal(int, str, object, str)  # job id, state, result, error text


class JobHandle(QObject):
    """A submitted job as seen from the GUI thread."""

    progressChanged = Signal(float, str)
    stateChanged = Signal(str)
    finished = Signal(str)  # final state

    def __init__(self, job_id: int, title: str, group: Optional[str], parent: Optional[QObject] = None):
        super().__init__(parent)
        self.id = job_id
        self.title = title
        self.group = group
        self.device = ""  # which device the job computes on ("CPU", "CUDA GPU 0 (...)"); "" = not a model job
        self.state = QUEUED
        self.fraction = 0.0
        self.message = ""
        self.error = ""
        self.result: Any = None
        self.traceback = ""
        self._cancel = threading.Event()
        self._superseded = False

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def superseded(self) -> bool:
        """True when a newer job of the same group replaced this one."""
        return self._superseded

    def is_finished(self) -> bool:
        return self.state in FINAL_STATES

    def cancel(self) -> None:
        """Ask the job to stop at its next `ctx.check()`; its result will be dropped."""
        self._cancel.set()

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.stateChanged.emit(state)


class _Runnable(QRunnable):
    def __init__(self, fn: JobFn, handle: JobHandle, bridge: _Bridge, gate: Optional[_YieldGate] = None,
                 interactive: bool = False):
        super().__init__()
        self.setAutoDelete(True)
        self._fn = fn
        self._handle = handle
        self._bridge = bridge
        self._last_emit = 0.0
        self._gate, self._interactive = gate, interactive

    def _cancelled(self) -> bool:
        cancel = self._handle._cancel
        if self._gate is not None and not self._interactive and not cancel.is_set():
            self._gate.wait_idle()  # interactive work first: this job pauses here between its steps
        return cancel.is_set()

    def _progress(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if fraction >= 1.0 or now - self._last_emit >= _PROGRESS_INTERVAL_S:
            self._last_emit = now
            self._bridge.progress.emit(self._handle.id, float(fraction), message)

    def run(self) -> None:  # worker thread
        handle, bridge, jid = self._handle, self._bridge, self._handle.id
        if handle.cancelled:
            bridge.finished.emit(jid, CANCELLED, None, "")
            return
        bridge.started.emit(jid)
        ctx = JobContext(progress=self._progress, cancelled=self._cancelled)
        if self._interactive:
            self._gate.enter()
        try:
            result = self._fn(ctx)
        except JobCancelled:
            bridge.finished.emit(jid, CANCELLED, None, "")
        except BaseException as exc:  # noqa: BLE001 - a job must never take the app down
            handle.traceback = traceback.format_exc()
            bridge.finished.emit(jid, FAILED, None, error_message(exc))
        else:
            bridge.finished.emit(jid, CANCELLED if handle.cancelled else DONE, result, "")
        finally:
            if self._interactive:
                self._gate.leave()


class JobRunner(QObject):
    """Runs jobs on a private thread pool and keeps the list of jobs for the jobs panel."""

    jobAdded = Signal(object)     # JobHandle
    jobFinished = Signal(object)  # JobHandle
    jobRemoved = Signal(object)   # JobHandle (panel clean-up)

    def __init__(self, max_threads: int = 2, keep_finished: int = 50, parent: Optional[QObject] = None,
                 gate: Optional[_YieldGate] = None, interactive: bool = False):
        super().__init__(parent)
        self._is_lane, self._interactive = gate is not None, interactive
        self._gate = gate or _YieldGate()  # shared with the lanes: interactive lanes enter it, shared threads wait
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max(1, max_threads))
        self._ids = itertools.count(1)
        self._jobs: list[JobHandle] = []
        self._callbacks: dict[int, tuple] = {}
        self._keep_finished = keep_finished
        self._bridge = _Bridge(self)
        self._bridge.progress.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        self._bridge.started.connect(self._on_started, Qt.ConnectionType.QueuedConnection)
        self._bridge.finished.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)
        self._lanes: dict[str, "JobRunner"] = {}

    def lane(self, name: str, interactive: bool = False) -> "JobRunner":
        """The child runner `name` with one thread of its own (made on first use); `interactive`: the shared
        threads' jobs wait at their checks while one of its jobs runs (see the module docstring)."""
        if name not in self._lanes:
            self._lanes[name] = JobRunner(max_threads=1, keep_finished=self._keep_finished, parent=self,
                                          gate=self._gate, interactive=interactive)
        return self._lanes[name]

    # -- public API -------------------------------------------------------------------------------
    def submit(self, title: str, fn: JobFn, *, group: Optional[str] = None,
               on_result: Optional[Callable[[Any], None]] = None,
               on_error: Optional[Callable[[str], None]] = None, device: Optional[str] = None) -> JobHandle:
        """Run `fn(ctx)` in the background; callbacks run in the GUI thread. `device` (auto/cpu/cuda, as the
        job will resolve it) is shown with the job, e.g. "CUDA GPU 0 (NVIDIA ...)" or "CPU"."""
        if group is not None:
            for old in self.active(group):
                old._superseded = True
                old.cancel()
        label = _device_label(device) if device is not None else ""
        handle = JobHandle(next(self._ids), f"{title} · {label}" if label else title, group, parent=self)
        handle.device = label
        self._callbacks[handle.id] = (handle, on_result, on_error)
        self._jobs.append(handle)
        self.jobAdded.emit(handle)
        gate = self._gate if self._interactive or not self._is_lane else None  # other lanes never wait
        self._pool.start(_Runnable(fn, handle, self._bridge, gate, self._interactive))
        return handle

    def jobs(self) -> list[JobHandle]:
        return list(self._jobs)

    def active(self, group: Optional[str] = None) -> list[JobHandle]:
        """Jobs not finished yet (of one group when given)."""
        return [j for j in self._jobs if not j.is_finished() and (group is None or j.group == group)]

    def cancel_all(self) -> None:
        for job in self.active():
            job.cancel()
        for lane in self._lanes.values():
            lane.cancel_all()

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until no job is left, delivering the pending signals (so a job that a result callback submits
        is waited for too); True when all ended within `timeout_ms`."""
        from PySide6.QtCore import QCoreApplication

        deadline = time.monotonic() + timeout_ms / 1000.0
        while True:
            left_ms = max(0, int((deadline - time.monotonic()) * 1000))
            ok = all([lane.wait(left_ms) for lane in self._lanes.values()])
            ok = self._pool.waitForDone(left_ms) and ok
            QCoreApplication.processEvents()
            busy = self.active() or any(lane.active() for lane in self._lanes.values())
            if not busy or time.monotonic() >= deadline:
                return ok and not busy
            time.sleep(0.005)

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Cancel everything and wait for the threads (used when the window closes)."""
        self.cancel_all()
        for lane in self._lanes.values():
            lane.shutdown(timeout_ms)
        self._pool.waitForDone(timeout_ms)

    def clear_finished(self) -> None:
        for job in [j for j in self._jobs if j.is_finished()]:
            self._jobs.remove(job)
            self.jobRemoved.emit(job)
            job.deleteLater()

    # -- GUI-thread slots -------------------------------------------------------------------------
    def _handle(self, job_id: int) -> Optional[JobHandle]:
        entry = self._callbacks.get(job_id)
        return entry[0] if entry else None

    @Slot(int)
    def _on_started(self, job_id: int) -> None:
        handle = self._handle(job_id)
        if handle is not None and not handle.is_finished():
            handle._set_state(RUNNING)

    @Slot(int, float, str)
    def _on_progress(self, job_id: int, fraction: float, message: str) -> None:
        handle = self._handle(job_id)
        if handle is None or handle.is_finished():
            return
        handle.fraction, handle.message = fraction, message or handle.message
        handle.progressChanged.emit(fraction, handle.message)

    @Slot(int, str, object, str)
    def _on_finished(self, job_id: int, state: str, result: Any, error: str) -> None:
        entry = self._callbacks.pop(job_id, None)
        if entry is None:
            return
        handle, on_result, on_error = entry
        if handle.cancelled and state == DONE:
            state = CANCELLED  # cancelled (or superseded) after its last check: drop the result
        handle.error = error
        if state == DONE:
            handle.result, handle.fraction = result, 1.0
        handle._set_state(state)
        try:
            if state == DONE and on_result is not None:
                on_result(result)
            elif state == FAILED and on_error is not None:
                on_error(error)
        except Exception as exc:  # noqa: BLE001 - a failing callback becomes the job's error
            handle.traceback = traceback.format_exc()
            handle.error = f"while showing the result: {error_message(exc)}"
            handle._set_state(FAILED)
        handle.finished.emit(handle.state)
        self.jobFinished.emit(handle)
        self._trim()

    def _trim(self) -> None:
        done = [j for j in self._jobs if j.is_finished()]
        for job in done[: max(0, len(done) - self._keep_finished)]:
            self._jobs.remove(job)
            self.jobRemoved.emit(job)
            job.deleteLater()


def _device_label(device: str) -> str:
    from engine.device import describe_device

    try:
        return describe_device(device)
    except (RuntimeError, ValueError):  # e.g. cuda without a GPU: the job itself will say so
        return str(device)
