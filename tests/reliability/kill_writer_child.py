"""Writer process for tests/reliability/test_kill_writer.py: saves labels (or exports) in a loop until killed.

    python kill_writer_child.py save DATASET_ROOT PROJECT_DIR START           one label writer
    python kill_writer_child.py zygote DATASET_ROOT PROJECT_DIR               a fork server for many writers

A label writer opens the project, prints "ready PID", then forever saves version A or B (alternating,
starting with START) of every frame's label, appends one journal stroke per save (painting STROKE_BOX
with STROKE_VALUE on top of the saved version) and flips the frame's status. An export writer exports the
project's done frames over and over into one folder (overwriting), alternating between the original
classes and experiment 1. The parent kills them with SIGKILL at random moments and checks that nothing
is torn.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

HEIGHT, WIDTH = 1080, 1920
STROKE_BOX = (100, 200, 60, 90)  # y0, x0, h, w
STROKE_VALUE = 33


def versions() -> tuple[np.ndarray, np.ndarray]:
    """The two label contents every saved label must equal: diagonal and checker patterns of class IDs."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    a = ((x // 7 + y // 5) % 36).astype(np.uint8)
    b = (((x // 16) ^ (y // 9)) % 30 + 3).astype(np.uint8)
    return a, b


def with_stroke(label: np.ndarray) -> np.ndarray:
    y0, x0, h, w = STROKE_BOX
    out = label.copy()
    out[y0:y0 + h, x0:x0 + w] = STROKE_VALUE
    return out


def save_forever(dataset: str, project_dir: str, start: int) -> None:
    from engine.edits import UndoRecord
    from engine.project import Project

    pair = versions()
    project = Project.open_or_create(Path(dataset), project_dir=Path(project_dir))
    keys = project.frame_keys()
    print(f"ready {os.getpid()}", flush=True)
    y0, x0, h, w = STROKE_BOX
    i = start
    while True:
        for key in keys:
            label = pair[i % 2]
            project.save_label(key, label)
            project.journal_append(key, UndoRecord(y0, x0, label[y0:y0 + h, x0:x0 + w].copy(),
                                                   np.full((h, w), STROKE_VALUE, np.uint8)))
            project.set_status(key, "done" if i % 2 else "in_progress", f"save {i}")
        i += 1


def export_forever(dataset: str, project_dir: str, start: int, out_dir: str) -> None:
    from engine.export import export_cadis
    from engine.project import Project

    project = Project.open_or_create(Path(dataset), project_dir=Path(project_dir))
    print(f"ready {os.getpid()}", flush=True)
    i = start
    while True:
        export_cadis(project, out_dir, experiment=None if i % 2 == 0 else 1, overwrite=True)
        i += 1


def zygote(dataset: str, project_dir: str) -> None:
    """Import everything once, then fork one writer per line on stdin ("save START" or "export START OUT";
    a fresh interpreter costs ~0.7 s to import numpy and cv2, a fork milliseconds). After each fork, wait
    for the writer to die (the parent kills it) and print "dead PID STATUS". The zygote runs no cv2 code
    itself, so forking is safe (no thread pools exist yet)."""
    import engine.export  # noqa: F401  (warm the imports the writers need)
    import engine.project  # noqa: F401

    print("zygote ready", flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] not in ("save", "export"):
            break
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                if parts[0] == "save":
                    save_forever(dataset, project_dir, int(parts[1]))
                else:
                    export_forever(dataset, project_dir, int(parts[1]), parts[2])
            except BaseException:
                import traceback

                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        print(f"dead {pid} {status}", flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    if sys.argv[1] == "zygote":
        zygote(sys.argv[2], sys.argv[3])
    else:
        save_forever(sys.argv[2], sys.argv[3], int(sys.argv[4]))
