"""Screenshots of the Synthesize dock with a repaint result (docs/img/repaint*.png), for the README and reviews.

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. python scripts/screenshot_repaint.py PHANTOM_DIR docs/img MODEL_DIR

Paints a new instrument (class 7) into the first frame, repaints with the final preset and a 16 px margin,
saves the window at 1600x1000 and 1366x768 and the repainted frame, and accepts it as a pair.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def pump(app, cond, seconds: float = 900.0) -> None:
    end = time.time() + seconds
    while not cond() and time.time() < end:
        app.processEvents()
        time.sleep(0.02)


def main(root: Path, out: Path, model: str) -> int:
    import torch
    from PySide6.QtWidgets import QApplication

    from desktop.main_window import MainWindow
    from engine.imageio import write_image
    from tests.gui.window_helpers import make_settings, paint

    torch.set_num_threads(1)
    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="repaint-shot-"))
    settings = make_settings(tmp / "settings.ini")
    settings.model_dir, settings.device = model, "cpu"
    window = MainWindow(settings)
    window.resize(1600, 1000)
    window.show()
    if not window.open_source(root, tmp / "project"):
        return 2
    window.runner.wait(60_000)
    panel = window.model_panels.synthesis
    window.canvas.setFocus()
    h, w = window.doc.label.shape
    # a new instrument: a straight shaft from the right edge into the pupil
    shaft = [(x, int(h * 0.62 - (x - w * 0.45) * 0.25)) for x in range(int(w * 0.45), int(w * 0.95), 3)]
    paint(window, shaft, cls=7)
    panel.preset.setCurrentIndex(panel.preset.findData("final"))
    panel.margin.setValue(16)
    handle = panel.repaint()
    if handle is None:
        print("repaint did not start:", panel.status.text())
        return 1
    pump(app, handle.is_finished)
    print("repaint", handle.state, panel.status.text())
    for size, name in (((1600, 1000), "repaint.png"), ((1366, 768), "repaint_1366x768.png")):
        window.resize(*size)
        pump(app, lambda: False, 1.0)
        panel._show_selected()
        pump(app, lambda: False, 0.5)
        window.grab().save(str(out / name))
    write_image(out / "repaint_result.png", panel.gallery.selected_entry().image)
    pid = panel.accept_selected()
    print("accepted pair", pid, sorted(window.doc.project.pair(pid).provenance["repaint"].keys()))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]))
