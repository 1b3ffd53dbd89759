"""A real crash: the app is killed with SIGKILL after painting; the next start recovers every stroke."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.gui.window_helpers import make_settings, open_window

pytestmark = [pytest.mark.gui, pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")]
ROOT = Path(__file__).resolve().parents[2]

PAINT_AND_DIE = textwrap.dedent("""
    import os, signal, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    import numpy as np
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from tests.gui.window_helpers import make_settings, middle_stroke, paint
    from desktop.main_window import MainWindow
    source, project, ini, out = sys.argv[1:5]
    w = MainWindow(make_settings(ini))
    w.resize(1000, 700)
    w.show()
    assert w.open_source(source, project)
    app.processEvents()
    paint(w, middle_stroke(w))
    h, width = w.doc.label.shape
    paint(w, [(width // 2, y) for y in range(h // 4, 3 * h // 4, 6)], cls=33)
    assert w.doc.dirty
    np.save(out, w.doc.label)
    with open(out + ".key", "w") as fh:
        fh.write(w.doc.key)
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_sigkill_after_strokes_then_recover(qtbot, phantom_root, tmp_path):
    out = str(tmp_path / "expected.npy")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", PAINT_AND_DIE, str(phantom_root), str(tmp_path / "proj"),
                           str(tmp_path / "a.ini"), out], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    expected = np.load(out)
    key = Path(out + ".key").read_text()
    w = open_window(qtbot, phantom_root, tmp_path / "proj", make_settings(tmp_path / "b.ini", recovery="recover"))
    assert not w.doc.project.pending_recovery()
    w.show_frame(key)
    np.testing.assert_array_equal(w.doc.label, expected)
    assert (expected == 34).any() and (expected == 33).any()
