"""GUI benchmark: mouse release -> live preview on screen, in the real main window (offscreen Qt).

For the distilled student (when the model folder has one) and the teacher's 4-step preview preset, each
without and with a synthesis training job running in the background on the app's shared job threads:
20 brush strokes through synthesized mouse events, ~0.4 s apart as a person paints; the time is from
sending the mouse release to the panel's `previewShown` (the picture set and repainted in the big view).
Median and spread per case, all measured in one run (each preview kind in a process of its own; the
"none_dealloc" deaths seen here when a second training job ran in one process were PySide6 6.12.0 losing
references to None/True, see tests/gui/test_qt_references.py).

    python -m benchmarks.bench_preview_gui [--strokes 20] [--screenshots DIR] [--preview both|student|teacher]
                                          [--before CHECKOUT]

Each case runs in a process of its own on the app of this checkout (and, with --before, then on the app of
another checkout: before and after in one run). Every stroke is on a row of its own and changes the mask
(strokes that repeated an earlier one changed no pixel, so no preview was asked for: until 2026-12-06 the
training-job strokes repeated the idle ones and no preview came in the 60 s wait, for any code).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _mouse(view, kind: str, x: float, y: float) -> None:
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    types = {"press": QEvent.MouseButtonPress, "move": QEvent.MouseMove, "release": QEvent.MouseButtonRelease}
    pos = QPointF(view.mapFromScene(QPointF(x, y)))
    glob = QPointF(view.viewport().mapToGlobal(pos.toPoint()))
    button = Qt.NoButton if kind == "move" else Qt.LeftButton
    buttons = Qt.NoButton if kind == "release" else Qt.LeftButton
    QApplication.sendEvent(view.viewport(), QMouseEvent(types[kind], pos, glob, button, buttons, Qt.NoModifier))


def _wait(app, cond, timeout: float) -> bool:
    end = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > end:
            return False
        app.processEvents()
        time.sleep(0.001)
    return True


def strokes(app, window, n: int, first: int = 0, gap_s: float = 0.4) -> tuple[list[float], int]:
    """Strokes `first` .. `first + n - 1` (each on its own row: a stroke that repeated an earlier one would
    change no pixel, send no preview request and wait out the 60 s); returns the ms from each release to its
    preview on screen (strokes that got none within 60 s: left out) and how many strokes changed no pixel."""
    panel, canvas = window.model_panels.synthesis, window.canvas
    h, w = window.doc.label.shape
    shown: list[float] = []
    panel.previewShown.connect(lambda _s: shown.append(time.perf_counter()))
    out, unchanged = [], 0
    for i in range(first, first + n):
        y = h // 5 + (i * 37) % (3 * h // 5)
        cls = (34, 13, 5, 4)[i % 4]
        window.palette.set_current_class(cls)
        pts = [(x + 0.5, y + 0.5) for x in range(w // 4, 3 * w // 4, max(4, w // 40))]
        label = window.doc.label.copy()  # the brush paints while it moves: compare with the mask before the press
        _mouse(canvas, "press", *pts[0])
        for p in pts[1:]:
            _mouse(canvas, "move", *p)
        before = len(shown)
        released = time.perf_counter()
        _mouse(canvas, "release", *pts[-1])
        if np.array_equal(label, window.doc.label):
            unchanged += 1
        elif _wait(app, lambda before=before: len(shown) > before, 60.0):
            out.append((shown[before] - released) * 1000.0)
        _wait(app, lambda: False, gap_s)
    return out, unchanged


def _training_job(window, data: Path, out: Path):
    from benchmarks.train_starter_models import starter_config
    from engine.training import train_synthesis

    cfg = starter_config(max_steps=1_000_000)
    cfg.sample_every, cfg.checkpoint_every, cfg.num_holdout = 0, 1_000_000, 0
    return window.runner.submit("Train synthesis model (benchmark load)",
                                lambda ctx: train_synthesis(data, out, cfg, ctx=ctx), group="bench-train")


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from benchmarks._timing import print_table
    from desktop.main_window import MainWindow
    from desktop.settings import Settings
    from engine.distill import student_problem
    from engine.models import starter_model_dir
    from engine.phantom import generate_dataset

    parser = argparse.ArgumentParser(prog="bench_preview_gui")
    parser.add_argument("--strokes", type=int, default=20)
    parser.add_argument("--screenshots", type=Path, default=None, help="save window screenshots here")
    parser.add_argument("--preview", choices=("both", "student", "teacher"), default="both")
    parser.add_argument("--before", type=Path, default=None,
                        help="a checkout of the app before a change (e.g. `git archive` of main): measured in the same "
                             "run after this one, with this benchmark's strokes")
    parser.add_argument("--tree", type=Path, default=None, help=argparse.SUPPRESS)  # a child: the app of this tree
    parser.add_argument("--label", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv if argv is not None else [])
    if args.tree is None:
        rows = []
        trees = [(ROOT, "")] + ([(args.before.resolve(), " (before)")] if args.before else [])
        kinds = ("student", "teacher") if args.preview == "both" else (args.preview,)
        for tree, label in trees:
            for kind in kinds:
                cmd = [sys.executable, str(Path(__file__).resolve()), "--tree", str(tree), "--label", label,
                       "--preview", kind, "--strokes", str(args.strokes)]
                if args.screenshots is not None and kind == "student" and not label:
                    cmd += ["--screenshots", str(args.screenshots)]
                out = subprocess.run(cmd, cwd=tree, capture_output=True, text=True).stdout
                rows += [tuple(json.loads(line[5:])) for line in out.splitlines() if line.startswith("ROW: ")]
        print_table(f"mouse release -> preview on screen (model {Path(starter_model_dir()).name}, load average "
                    f"{os.getloadavg()[0]:.1f})", rows,
                    ("preview", "background", "previews of strokes", "median ms", "min ms", "max ms", "load after"))
        return
    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="bench_preview_gui_"))
    data = tmp / "phantom"
    generate_dataset(data, videos=3, frames_per_video=2, seed=5)
    settings = Settings(tmp / "settings.ini")
    settings.model_dir, settings.device = str(starter_model_dir()), "cpu"
    window = MainWindow(settings)
    window.resize(1600, 900)
    window.show()
    window.open_source(str(data), str(tmp / "project"))
    window.runner.wait(60_000)
    window.set_tool("brush")
    panel = window.model_panels.synthesis
    panel.live.setChecked(True)
    _wait(app, lambda: panel.preview_handle is not None and panel.preview_handle.is_finished(), 120)

    lanes = []
    if args.preview == "student":
        if student_problem(settings.model_dir) is None:
            lanes.append(("distilled student", True))
        else:
            print(f"no student: {student_problem(settings.model_dir)}")
    else:
        lanes.append(("teacher 4-step preview", False))
    rows = []
    for lane_name, use_student in lanes:
        panel.use_student = use_student
        panel.request_preview()
        _wait(app, lambda: panel.preview_handle.is_finished(), 120)
        for load in ("idle", "training job running"):
            job = _training_job(window, data, tmp / f"train-{use_student}") if load != "idle" else None
            if job is not None:
                _wait(app, lambda job=job: "step" in (job.message or ""), 300)  # training has really started
            ms, unchanged = strokes(app, window, args.strokes, first=len(rows) * args.strokes)
            if args.screenshots is not None and job is not None:
                _screenshots(app, window, args.screenshots)
            if job is not None:
                job.cancel()
                window.runner.wait(120_000)
            rows.append((f"{lane_name}{args.label}", load, f"{len(ms)} of {args.strokes - unchanged}",
                         round(statistics.median(ms)) if ms else "-", round(min(ms)) if ms else "-",
                         round(max(ms)) if ms else "-", f"{os.getloadavg()[0]:.1f}"))
            print("ROW: " + json.dumps(list(rows[-1])), flush=True)
    window.runner.shutdown()
    window.close()


def _screenshots(app, window, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    window.model_panels.docks["synthesis"].raise_()  # the preview itself in view, not only the canvas
    for w, h in ((1600, 900), (1366, 768)):
        window.resize(w, h)
        _wait(app, lambda: False, 0.5)
        window.grab().save(str(folder / f"live_preview_{w}x{h}.png"))
    window.resize(1600, 900)


if __name__ == "__main__":
    _tree = sys.argv[sys.argv.index("--tree") + 1] if "--tree" in sys.argv else str(ROOT)
    sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
    sys.path.insert(0, _tree)  # a child measures the app (desktop/, engine/) of its tree
    main(sys.argv[1:])
