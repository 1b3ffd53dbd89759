"""The process that test_kill_pair_editor.py kills: the real pair editor, offscreen, repairing one pair's mask.

    python kill_pair_child.py PROJECT_DIR PAIR_ID LOG SEED

It opens the pair in a `PairEditor` the way the curation gallery does (journal strokes left by a previous
kill are replayed), prints READY, then repairs forever: brush strokes and fills delivered the way the canvas
delivers them (painted into the label, then `strokeFinished`), undo, redo and saves, until it is killed.

The log has one unbuffered line per event with the content hash of the label involved (see test_kill_app.py):

    S pair hash   a save of this label starts        s pair   that save returned
    P pair hash   a journal append starts; the editor shows this label     E pair   that append returned
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from kill_app_child import label_hash, log_calls, open_log, random_action, random_paint  # noqa: E402 - the same log format


def main(project_dir: str, pair_id: int, log_path: str, seed: int) -> None:
    import numpy as np

    from desktop.app import make_app
    from desktop.panels.curation.pair_editor import PairEditor
    from engine.project import Project

    write = open_log(log_path)
    editor = None
    log_calls(Project, "save_pair_label", write, lambda _, label: f"S pair {label_hash(label)}", lambda *_: "s pair")
    log_calls(Project, "pair_journal_append", write, lambda *_: f"P pair {label_hash(editor.label)}",
              lambda *_: "E pair")

    app = make_app()
    project = Project.open_or_create(project_dir)
    editor = PairEditor(project, pair_id)
    editor.show()
    app.processEvents()
    print("READY", flush=True)

    rng = np.random.default_rng(seed)

    def paint(r: float) -> None:
        op, args = random_paint(rng, *editor.label.shape, fill=r < 0.32)
        rec = op(editor.label, *args)  # painted into the label, as the canvas does
        if rec is not None:
            editor.canvas.refresh(rec.bbox)
            editor.canvas.strokeFinished.emit(rec)  # what the canvas sends when a stroke ends

    actions = [(0.12, lambda r: editor.undo()), (0.18, lambda r: editor.redo()), (0.24, lambda r: editor.save()),
               (1.0, paint)]
    while True:
        random_action(rng, actions)
        app.processEvents()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
