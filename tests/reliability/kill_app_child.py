"""The app process that test_kill_app.py kills: the real main window, offscreen, editing in a loop.

    python kill_app_child.py DATASET PROJECT_DIR SETTINGS_INI LOG SEED

It opens DATASET into PROJECT_DIR the way `cadis-studio` does (journal strokes left by a previous kill are
recovered and saved), prints READY, then edits forever through the document (brush strokes, fills, undo,
redo, frame switches, explicit saves and autosaves) until it is killed.

Every save and every journal append is logged to LOG (one unbuffered write per line, so a SIGKILL never
cuts a line the parent can see) with the content hash of the label involved:

    S key hash   a save of this label starts        s key   that save returned
    P key hash   a journal append starts; the frame shows this label     E key   that append returned
"""
from __future__ import annotations

import faulthandler
import hashlib
import os
import signal
import sys

os.environ["QT_QPA_PLATFORM"] = "offscreen"
faulthandler.register(signal.SIGUSR1)  # the parent asks for every thread's stack if the start hangs


def label_hash(label) -> str:
    return hashlib.blake2b(label.tobytes(), digest_size=12).hexdigest()


def open_log(path: str):
    """A function writing one line to `path` with one unbuffered write (a SIGKILL never cuts a line)."""
    log = open(path, "ab", buffering=0)
    return lambda line: log.write(line.encode("utf-8") + b"\n")


def log_calls(cls, name: str, write, before, after) -> None:
    """Wrap method `name` of `cls` so that it logs `before(*args)` when called and `after(*args)` when it returns."""
    real = getattr(cls, name)

    def logged(self, *args):
        write(before(*args))
        real(self, *args)
        write(after(*args))

    setattr(cls, name, logged)


def random_paint(rng, h: int, w: int, fill: bool):
    """A random flood fill (`fill`) or brush stroke on an h x w label: (op, args) for `op(label, *args)`."""
    from engine import edits

    if fill:
        return edits.flood_fill, ((int(rng.integers(w)), int(rng.integers(h))), int(rng.integers(36)))
    pts = [(float(rng.uniform(0, w)), float(rng.uniform(0, h))) for _ in range(int(rng.integers(1, 5)))]
    return edits.brush_stroke, (pts, float(rng.uniform(1, 6)), int(rng.integers(36)))


def random_action(rng, actions) -> None:
    """Run one of `actions`, [(upper bound, fn(r)), ...] in increasing bounds, for a uniform random r."""
    r = rng.random()
    next(fn for bound, fn in actions if r < bound)(r)


def main(dataset: str, project_dir: str, ini: str, log_path: str, seed: int) -> None:
    import numpy as np

    from desktop.app import make_app
    from desktop.main_window import MainWindow
    from desktop.settings import Settings
    from engine.project import Project

    write = open_log(log_path)
    window = None
    log_calls(Project, "save_label", write, lambda key, label: f"S {key} {label_hash(label)}", lambda key, _: f"s {key}")
    log_calls(Project, "journal_append", write, lambda key, _: f"P {key} {label_hash(window.doc.label)}",
              lambda key, _: f"E {key}")

    app = make_app()
    settings = Settings(ini)
    settings.recovery_policy = "recover"
    settings.autosave_ms = 40
    window = MainWindow(settings)
    window.resize(800, 600)
    window.show()
    write(f"R {seed}")
    if not window.open_source(dataset, project_dir):
        raise SystemExit("could not open the dataset")
    app.processEvents()
    print("READY", flush=True)

    rng = np.random.default_rng(seed)
    keys = window.doc.keys()
    doc = window.doc

    def paint(r: float) -> None:
        op, args = random_paint(rng, *doc.label.shape, fill=r < 0.32)
        doc.apply(op, *args)

    actions = [(0.08, lambda r: window.show_frame(keys[int(rng.integers(len(keys)))])), (0.16, lambda r: doc.undo()),
               (0.20, lambda r: doc.redo()), (0.26, lambda r: doc.save()), (1.0, paint)]
    while True:
        random_action(rng, actions)
        app.processEvents()  # lets the autosave timer fire at random moments


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
