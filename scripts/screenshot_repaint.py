"""Screenshots of the Synthesize dock with a repaint result (docs/img/repaint*.png), for the README and reviews.

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. python scripts/screenshot_repaint.py PHANTOM_DIR docs/img MODEL_DIR

Paints a new instrument (Hydrodissection Cannula) into the first frame, repaints with the final preset and a
16 px margin, saves the window at 1600x1000 and 1366x768 and the repainted frame, and accepts it as a pair.
"""
import sys, time
from pathlib import Path
import numpy as np
from PySide6.QtWidgets import QApplication
app = QApplication([])
from desktop.main_window import MainWindow
from tests.gui.window_helpers import make_settings, paint
import torch; torch.set_num_threads(1)
root, out, model = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
import tempfile; tmp = Path(tempfile.mkdtemp(prefix="repaint-shot-"))
s = make_settings(tmp / "settings.ini"); s.model_dir = model; s.device = "cpu"
w = MainWindow(s); w.resize(1600, 1000); w.show()
assert w.open_source(root, tmp / "project"); w.runner.wait(60_000)
def pump(cond, t=900):
    end = time.time() + t
    while not cond() and time.time() < end:
        app.processEvents(); time.sleep(0.02)
panel = w.model_panels.synthesis
w.canvas.setFocus()
h, wd = w.doc.label.shape
# a new instrument: a straight shaft from the right edge into the pupil (class 7 = an instrument)
paint(w, [(x, int(h * 0.62 - (x - wd * 0.45) * 0.25)) for x in range(int(wd * 0.45), int(wd * 0.95), 3)], cls=7)
w.palette.set_current_class(7)
panel.preset.setCurrentIndex(panel.preset.findData("final"))
panel.margin.setValue(16)
hd = panel.repaint(); assert hd is not None
pump(lambda: hd.is_finished()); print("repaint", hd.state, panel.status.text())
panel._show_selected()
for size, name in (((1600, 1000), "repaint.png"), ((1366, 768), "repaint_1366x768.png")):
    w.resize(*size); pump(lambda: False, 1.0); panel._show_selected(); pump(lambda: False, 0.5)
    w.grab().save(str(out / name))
e = panel.gallery.selected_entry()
from engine.imageio import write_image
write_image(out / "repaint_result.png", e.image)
pid = panel.accept_selected(); print("accepted pair", pid, sorted(w.doc.project.pair(pid).provenance["repaint"].keys()))
