"""A labeller's day at 1366x768, run through `desktop.app.main` (the real start-up) in a subprocess:

    python -m tests.gui.day_loop WORK_DIR first|again

"first": a first start with no argument opens the phantom sample from the user's data folder; paint a stroke,
D (done), N (next unfinished), paint again, quit. "again": start with no argument again. Each run prints one
JSON line with what the window showed; test_day_loop.py checks the second run continues the first."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(work: Path, phase: str) -> int:
    from desktop.app import offscreen_platform

    os.environ["QT_QPA_PLATFORM"] = offscreen_platform(1366, 768)
    os.environ["CADIS_STUDIO_DATA"] = str(work / "data")
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    import desktop.app
    from desktop.main_window import MainWindow
    from tests.gui.canvas_helpers import drag

    report: dict = {"phase": phase}

    def day() -> None:
        app = QApplication.instance()
        w = next(x for x in app.topLevelWidgets() if isinstance(x, MainWindow))
        w.runner.wait(60_000)
        fg, canvas = w.frameGeometry(), w.canvas.geometry()
        report.update(window=[fg.width(), fg.height()], canvas_share=canvas.width() * canvas.height() /
                      (w.width() * w.height()), project=str(w.doc.project.root), key=w.doc.key,
                      sample=str(w.doc.project.dataset.root))
        if phase == "first":
            w.activateWindow()
            w.canvas.setFocus()
            h, wd = w.doc.label.shape
            QTest.keyClick(w.canvas, Qt.Key.Key_3)  # class 3 (Eye Retractors) with its digit key
            QTest.keyClick(w.canvas, Qt.Key.Key_4)  # then 4 within a moment: class 34 (Cotton)
            report["class"] = w.palette.current_class()
            drag(w.canvas, [(x, h // 2) for x in range(wd // 3, 2 * wd // 3, 8)])
            report["painted"] = int((w.doc.label == 34).sum())
            QTest.keyClick(w.canvas, Qt.Key.Key_D)
            report["done_key"] = w.doc.key
            QTest.keyClick(w.canvas, Qt.Key.Key_N)
            report["next_key"] = w.doc.key
            drag(w.canvas, [(wd // 2, y) for y in range(h // 4, 3 * h // 4, 8)])
            report["painted_next"] = int((w.doc.label == 34).sum())
        else:
            p = w.doc.project
            report["statuses"] = {k: s for k, s in p.statuses().items() if s != "unlabelled"}
            report["saved"] = [k for k in p.frame_keys() if p.has_saved_label(k)]
            report["cotton"] = {k: int((p.load_label(k) == 34).sum()) for k in report["saved"]}
        w.close()  # quit: saves
        app.quit()

    QTimer.singleShot(0, day)
    rc = desktop.app.main(["--settings", str(work / "settings.ini")])
    print(json.dumps(report))
    return rc


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2]))
