"""Screenshots of the Text edits dock editing only the pupil of a phantom frame (docs/img/textedit_region*.png).

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. python scripts/screenshot_textedit_region.py OUT_DIR [SD_DIR]

As a new user would: open a phantom dataset, open the Text edits dock, type a prompt, choose "Only the
checked classes", ask the prompt for its region, keep only the pupil checked, edit, accept the pair. Without
SD_DIR a tiny RANDOM Stable Diffusion is built (its pixels are noise-like: the screenshot shows the workflow,
not an edit's quality). Saves the window at 1366x768, the edited frame and a map of the pixels that changed.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def pump(app, cond, seconds: float = 600.0) -> None:
    end = time.time() + seconds
    while not cond() and time.time() < end:
        app.processEvents()
        time.sleep(0.02)


def main(out: Path, sd_dir: str | None = None) -> int:
    import numpy as np
    import torch
    from PySide6.QtWidgets import QApplication

    from desktop.main_window import MainWindow
    from engine.imageio import write_image
    from engine.phantom import generate_dataset
    from engine.textedit import build_tiny_sd
    from tests.gui.window_helpers import make_settings

    torch.set_num_threads(1)
    app = QApplication.instance() or QApplication([])
    tmp = Path(tempfile.mkdtemp(prefix="textedit-region-shot-"))
    root = tmp / "phantom"
    generate_dataset(root, videos=1, frames_per_video=2, seed=7)
    settings = make_settings(tmp / "settings.ini")
    settings.sd_dir, settings.device = sd_dir or str(build_tiny_sd(tmp / "sd")), "auto" if sd_dir else "cpu"
    window = MainWindow(settings)
    window.resize(1366, 768)
    window.show()
    opened = window.open_source(root, tmp / "project")
    window.runner.wait(60_000)
    if not opened:
        return 2
    window.model_panels.settings_changed()
    window.model_panels.show("textedit")
    panel = window.model_panels.panel("textedit")
    panel.prompt.setText("a bright red pupil")
    panel.steps.setValue(10)
    handle = panel.propose()
    pump(app, handle.is_finished)
    print("proposed", panel.region.proposal.classes, panel.last_message)
    panel.region.set_mode("only")
    panel.region.set_checked([0])  # the user keeps only the pupil
    out.mkdir(parents=True, exist_ok=True)
    _show(app, panel, panel.region.summary)
    window.grab().save(str(out / "textedit_region_picker_1366x768.png"))
    handle = panel.run()
    if handle is None:
        print("edit did not start:", panel.last_message)
        return 1
    pump(app, handle.is_finished)
    print("edit", handle.state, panel.last_message)
    res = panel.results[0]
    panel.gallery.item(0).setSelected(True)
    pid = panel.accept_selected()
    print("accepted", pid, panel.last_message)
    _show(app, panel, panel.message)
    window.grab().save(str(out / "textedit_region_1366x768.png"))
    image = window.doc.image
    write_image(out / "textedit_region_result.png", res.image)
    changed = np.any(res.image != image, axis=2)
    vis = (image.astype(np.float32) * 0.35).astype(np.uint8)
    vis[changed] = (255, 80, 40)
    write_image(out / "textedit_region_changed.png", vis)
    print("changed pixels", int(changed.sum()), "outside the region",
          int((changed & ~res.region.editable).sum()), "pupil pixels", int((window.doc.label == 0).sum()))
    return 0


def _show(app, panel, widget) -> None:
    """Scroll the dock so that `widget` is in view (the dock is shorter than the panel at 1366x768)."""
    from PySide6.QtWidgets import QScrollArea

    area = panel.parentWidget()
    while area is not None and not isinstance(area, QScrollArea):
        area = area.parentWidget()
    pump(app, lambda: False, 0.5)
    if area is not None:
        area.ensureWidgetVisible(widget, 0, 0)
    pump(app, lambda: False, 0.5)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None))
