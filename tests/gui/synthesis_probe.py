"""Run in a subprocess (Qt fixes the screen size when the QApplication starts): the Synthesize dock on a first
start, maximized on an offscreen screen of a given size, with a repaint result in it.

    python -m tests.gui.synthesis_probe WORK_DIR WIDTHxHEIGHT MODEL_DIR [SCREENSHOT.png]

WORK_DIR/sample is the dataset (made there as a phantom sample when missing). The probe raises the dock,
sketches an instrument onto the first frame, repaints it with the preview preset and waits for the result.
Prints one JSON line: what of the dock's results (big view, gallery, accept button) lies inside the visible
part of the dock without scrolling. `make screenshot-synthesis` saves docs/img/repaint*.png with it."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def visible_rect(widget, area) -> list[int]:
    """[x, y, w, h] of `widget` inside the scroll area's viewport, cut to what the viewport shows."""
    from PySide6.QtCore import QPoint, QRect

    top_left = widget.mapTo(area.viewport(), QPoint(0, 0))
    shown = QRect(top_left, widget.size()).intersected(area.viewport().rect())
    return [shown.x(), shown.y(), max(0, shown.width()), max(0, shown.height())]


def measure(window) -> dict:
    panel = window.model_panels.synthesis
    area = window.model_panels.docks["synthesis"].widget()
    out = {"viewport": [area.viewport().width(), area.viewport().height()],
           "scroll_max": area.verticalScrollBar().maximum()}
    for name in ("preview", "gallery", "accept_button", "repaint_button", "sketch_button"):
        widget = getattr(panel, name)
        out[name] = {"size": [widget.width(), widget.height()], "visible": visible_rect(widget, area)}
    return out


def main(work: Path, size: str, model_dir: str, shot: str | None) -> None:
    from desktop.app import offscreen_platform, parse_size

    os.environ["QT_QPA_PLATFORM"] = offscreen_platform(*parse_size(size))
    os.environ["CADIS_STUDIO_DATA"] = str(work / "data")
    import torch
    from PySide6.QtCore import QCoreApplication, Qt

    from engine.phantom import ensure_sample
    from tests.gui.canvas_helpers import drag
    from tests.gui.layout_probe import first_start

    torch.set_num_threads(1)
    sample = work / "sample" if (work / "sample").exists() else ensure_sample(work / "sample")

    def use_model(settings) -> None:
        settings.model_dir, settings.device = model_dir, "cpu"

    app, window = first_start(work, sample, use_model)
    window.model_panels.docks["synthesis"].raise_()
    panel = window.model_panels.synthesis
    panel.preset.setCurrentIndex(panel.preset.findData("preview"))
    panel.seed.setValue(3)
    panel.sketch_button.click()  # sketch a variant: a hydrodissection cannula across the iris
    h, w = window.doc.label.shape
    window.palette.set_current_class(7)
    window.set_tool("brush")
    window.canvas.set_brush_radius(max(3, w // 160))
    drag(window.canvas, [(x, int(h * 0.62 - (x - w * 0.3) * 0.25)) for x in range(int(w * 0.3), int(w * 0.55), 6)],
         Qt.MouseButton.LeftButton)
    handle = panel.repaint()
    assert handle is not None, panel.status.text()
    window.runner.wait(600_000)
    for _ in range(10):
        QCoreApplication.processEvents()
    panel._show_selected()
    QCoreApplication.processEvents()
    out = {"size": size, "status": panel.status.text(), **measure(window)}
    if shot:
        Path(shot).parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(shot, "PNG")
    if os.environ.get("CADIS_PROBE_RESULT"):  # the repainted frame itself, to look at (not for docs/img)
        from engine.imageio import write_image

        write_image(Path(os.environ["CADIS_PROBE_RESULT"]), panel.gallery.selected_entry().image)
    print(json.dumps(out))
    window.doc.end_sketch()
    window.close()
    app.quit()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
