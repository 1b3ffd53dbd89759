"""GUI benchmark: a 30-second clip at every frame imports and propagates without the window freezing.

In the real main window (offscreen Qt): File → New dataset from video (`desktop.video_import.start_import`,
every frame) of a phantom clip (`engine.phantom.write_video`, 25 fps, 960x540, written before the clock starts),
then the first frame is labelled (its true label accepted) and the Propagate dock carries it forward over every
other frame of the clip. A 10 ms QTimer in the GUI thread and an event filter on the window record when the
event loop last ran; the figure is the longest gap between two GUI-thread ticks (timer or paint events) during
the import and during the propagation (a frozen window shows as a gap of the freeze's length). Also reported:
how many paint events the window got, the wall time of each job and the propagation's seconds per frame (PNG
reads included, one OpenCV thread). The result is one JSON line on stdout (and `--json FILE`).

    python -m benchmarks.bench_video_gui [--seconds 30] [--fps 25] [--width 960 --height 540] [--clip FILE] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


class Ticks:
    """Time stamps of the GUI thread's timer ticks and paint events; `longest(t0, t1)` is the longest gap."""

    def __init__(self, app, window):
        from PySide6.QtCore import QEvent, QObject, QTimer

        self.stamps: list[float] = []
        self.paints = 0
        ticks = self

        class PaintSpy(QObject):
            def eventFilter(self, obj, event):  # noqa: N802 (Qt's name)
                if event.type() == QEvent.Type.Paint:
                    ticks.paints += 1
                    ticks.stamps.append(time.perf_counter())
                return False

        self.spy = PaintSpy()
        app.installEventFilter(self.spy)
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(lambda: self.stamps.append(time.perf_counter()))
        self.timer.start()

    def longest(self, t0: float, t1: float) -> float:
        s = sorted(x for x in self.stamps if t0 <= x <= t1)
        s = [t0] + s + [t1]
        return max(b - a for a, b in zip(s, s[1:]))


def _run_until(app, handle, timeout: float) -> None:
    end = time.perf_counter() + timeout
    while not handle.is_finished():
        if time.perf_counter() > end:
            raise TimeoutError("the job did not finish in time")
        app.processEvents()
        time.sleep(0.002)


def run(seconds: float, fps: float, width: int, height: int, work: Path, clip: str | None = None) -> dict:
    import cv2
    import numpy as np
    from PySide6.QtWidgets import QApplication

    from desktop.main_window import MainWindow
    from desktop.settings import Settings
    from desktop.video_import import start_import
    from engine.edits import PaintPolicy, accept_proposal
    from engine.phantom import VideoRenderer, write_video

    cv2.setNumThreads(1)
    frames = int(round(seconds * fps))
    if clip is None:
        video = write_video(work / "clip.avi", seed=5, video=1, frames=frames, width=width, height=height, fps=fps)
    else:   # a clip this benchmark wrote before (same seed, size and length)
        video = Path(clip)
    app = QApplication.instance() or QApplication([])
    settings = Settings(work / "settings.ini")
    window = MainWindow(settings)
    window.ask_open_anyway = lambda *_: True
    window.resize(1366, 768)
    window.show()
    app.processEvents()
    ticks = Ticks(app, window)
    out: dict = {"frames": frames, "fps": fps, "size": [width, height]}

    t0 = time.perf_counter()
    handle = start_import(window, str(video), str(work / "data"), every=1)
    _run_until(app, handle, 3600)
    end = time.perf_counter() + 600
    while window.doc.project is None and time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.002)
    t1 = time.perf_counter()   # the dataset is open (jobs the window starts then run on, as for a person)
    out["import_s"] = round(t1 - t0, 1)
    out["import_longest_gap_ms"] = round(1000 * ticks.longest(t0, t1), 1)
    keys = window.doc.keys()
    out["imported"] = len(keys)

    truth = VideoRenderer(5, 1, width, height).render_video_frame(0)[1]
    window.show_frame(keys[0])
    window.doc.apply(accept_proposal, truth, np.ones_like(truth, bool), PaintPolicy(), "label", True)
    panel = window.model_panels.propagate
    window.model_panels.show("propagate")
    panel.count.setValue(min(panel.count.maximum(), len(keys) - 1))
    panel.min_conf.setValue(0.0)    # carry it over the whole clip (the default stops where confidence is lost)
    paints_before = ticks.paints
    t2 = time.perf_counter()
    panel.forward.click()
    _run_until(app, panel.handle, 3600)
    for _ in range(50):
        app.processEvents()
    t3 = time.perf_counter()
    out["propagate_s"] = round(t3 - t2, 1)
    out["propagated"] = len(panel.proposals)
    out["propagate_s_per_frame"] = round((t3 - t2) / max(1, len(panel.proposals)), 3)
    out["propagate_longest_gap_ms"] = round(1000 * ticks.longest(t2, t3), 1)
    out["paint_events"] = ticks.paints
    out["paint_events_while_propagating"] = ticks.paints - paints_before
    out["status"] = panel.status.text()
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    window.close()
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=30.0, help="clip length (default 30)")
    p.add_argument("--fps", type=float, default=25.0, help="frames per second (default 25)")
    p.add_argument("--width", type=int, default=960, help="frame width (default 960)")
    p.add_argument("--height", type=int, default=540, help="frame height (default 540)")
    p.add_argument("--clip", default=None, help="reuse a clip written by an earlier run (seed 5, video 1)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="bench-video-gui-") as tmp:
        res = run(args.seconds, args.fps, args.width, args.height, Path(tmp), args.clip)
    line = json.dumps(res)
    print(line, flush=True)
    if args.json:
        Path(args.json).write_text(line + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
