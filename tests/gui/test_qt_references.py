"""The Qt binding must not lose references to None, True or False.

On Python 3.11 these three are ordinary counted objects; PySide6 6.12.0 dropped one reference to True on every
signal emit and one to None on every Python paintEvent, QRunnable.run and model data() call, so a long session
reached zero and died in `bool_dealloc`/`none_dealloc` (pyproject.toml excludes that release). Each case runs
a Qt path many times and checks the counts held; a binding with the bug loses one reference per call.
"""
from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtWidgets import QListView, QWidget

CALLS = 400


class _Painted(QWidget):
    def paintEvent(self, event):  # noqa: ARG002 - Qt signature
        self.painted = getattr(self, "painted", 0) + 1


class _Emitter(QObject):
    flag = Signal(bool)
    value = Signal(object)


class _Empty(QAbstractListModel):
    def rowCount(self, parent=QModelIndex()):  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else 30

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):  # noqa: ARG002 - Qt signature
        return None


class _Job(QRunnable):
    def run(self):
        return None


def _lost(action) -> dict[str, int]:
    action()  # warm up: first calls may create caches that hold references
    before = {name: sys.getrefcount(obj) for name, obj in (("None", None), ("True", True), ("False", False))}
    for _ in range(CALLS):
        action()
    return {name: before[name] - sys.getrefcount(obj) for name, obj in (("None", None), ("True", True),
                                                                         ("False", False))}


def _assert_held(lost: dict[str, int]) -> None:
    # a leaking binding loses CALLS (one per call); a few references may move for unrelated reasons
    assert all(n < CALLS // 4 for n in lost.values()), f"references lost over {CALLS} calls: {lost}"


def test_signal_emits_keep_references(qtbot):
    emitter = _Emitter()
    got = []
    emitter.flag.connect(got.append)
    emitter.value.connect(got.append)
    _assert_held(_lost(lambda: (emitter.flag.emit(True), emitter.value.emit(None), got.clear())))


def test_paint_events_keep_references(qtbot):
    widget = _Painted()
    qtbot.addWidget(widget)
    widget.resize(40, 40)
    _assert_held(_lost(widget.grab))  # grab() renders the widget through its paintEvent
    assert widget.painted > CALLS


def test_model_data_returning_none_keeps_references(qtbot):
    view = QListView()
    qtbot.addWidget(view)
    model = _Empty()
    view.setModel(model)
    view.resize(120, 400)
    _assert_held(_lost(view.grab))


def test_thread_pool_runnables_keep_references(qtbot):
    pool = QThreadPool()

    def run_batch():
        job = _Job()
        job.setAutoDelete(False)
        pool.start(job)
        pool.waitForDone()

    _assert_held(_lost(run_batch))


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None/True/False are immortal from Python 3.12")
def test_the_check_sees_a_leak():
    """The measurement itself can fail: a deliberate leak of one reference per call is caught."""
    import ctypes

    def leak():
        ctypes.pythonapi.Py_DecRef.argtypes = [ctypes.py_object]
        ctypes.pythonapi.Py_IncRef.argtypes = [ctypes.py_object]
        ctypes.pythonapi.Py_IncRef(True)  # borrow one, so the test cannot bring True near zero
        ctypes.pythonapi.Py_DecRef(True)
        ctypes.pythonapi.Py_DecRef(True)

    lost = _lost(leak)
    for _ in range(CALLS + 1):  # give the references back
        ctypes.pythonapi.Py_IncRef(True)
    with pytest.raises(AssertionError, match="references lost"):
        _assert_held(lost)
