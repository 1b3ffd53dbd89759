"""Regenerate the model panels' screenshots in docs/img (offscreen, on the phantom sample).

    python scripts/panel_screenshots.py synthesis --model MODEL_DIR
    python scripts/panel_screenshots.py preseg --model MODEL_DIR
    python scripts/panel_screenshots.py training

`synthesis` runs the final preset for three variants and a live preview; `preseg` marks four frames done,
trains the head from the panel, erases the next frame's label (as a fresh frame looks) and pre-segments
it (also at 1366x768, and once more with the frame's colour channels swapped: the out-of-distribution
warning); `training` trains a tiny model for 60 steps in the training dialog. Work files go to a temp folder.
A docs tool: it drives the app from outside and is not part of it (nor of the installer).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout: the app's packages


def _wait(handle) -> None:
    from PySide6.QtCore import QCoreApplication

    while not handle.is_finished():
        QCoreApplication.processEvents()
        time.sleep(0.02)
    if handle.state != "done":
        raise RuntimeError(f"{handle.title}: {handle.state} {handle.error}")


def _window(work: Path, model_dir: str):
    from desktop.main_window import MainWindow
    from desktop.settings import Settings, phantom_dir
    from engine.phantom import ensure_sample

    s = Settings(work / "settings.ini")
    s.recovery_policy, s.model_dir, s.device = "discard", model_dir, "cpu"
    w = MainWindow(s)
    w.open_source(ensure_sample(phantom_dir()), work / "project", recovery="discard")
    w.resize(1600, 960)
    w.show()
    w.runner.wait(60_000)
    return w


def synthesis(w) -> None:
    p = w.model_panels.synthesis
    w.model_panels.show("synthesis")
    p.preset.setCurrentIndex(p.preset.findData("final"))
    p.variants.setValue(3)
    p.seed.setValue(7)
    _wait(p.synthesize())
    p.live.setChecked(True)
    _wait(p.preview_handle)
    p.gallery.setCurrentRow(0)


def preseg(w) -> None:
    from engine.preseg import EnsembleSettings, PresegSettings

    p = w.model_panels.preseg
    w.model_panels.show("preseg")
    keys = w.doc.project.frame_keys()
    p.preseg_settings = PresegSettings(pixels_per_frame=3000, ensemble=EnsembleSettings(members=5, max_epochs=10))
    for k in keys[:4]:
        w.doc.project.set_status(k, "done")
        w.frames.set_status(k, "done")
    _wait(p.train())
    w.show_frame(keys[5])
    w.doc.label[:, :] = 255  # a frame nobody has labelled yet
    w.canvas.refresh(None)
    w.palette.set_counts(w.doc.label)
    _wait(p.presegment())
    _wait(p.rank_label_next())


def _grab_small(w, path: Path, size=(1366, 768)) -> None:
    """The window at a laptop's 1366x768 (take_screenshot always uses the large documentation size)."""
    from PySide6.QtCore import QCoreApplication

    w.resize(*size)
    for _ in range(5):
        QCoreApplication.processEvents()
    w.default_layout()
    w.canvas.fit()
    w.runner.wait(60_000)
    for _ in range(5):
        QCoreApplication.processEvents()
    path.parent.mkdir(parents=True, exist_ok=True)
    w.grab().save(str(path))


def preseg_ood(w) -> None:
    """After `preseg`: the same frame with its colour channels swapped, a frame the head was not made for."""
    import numpy as np

    p = w.model_panels.preseg
    w.doc.current.image = np.ascontiguousarray(w.doc.image[..., ::-1])  # the session shows this image now
    w.canvas.set_frame(w.doc.image, w.doc.label)
    p.cache.clear()
    _wait(p.presegment())


def training(w, work: Path) -> None:
    from engine.training import TrainConfig

    for k in w.doc.project.frame_keys()[:6]:
        w.doc.project.set_status(k, "done")
    cfg = TrainConfig(block_out_channels=(8, 16), layers_per_block=1, spade_hidden=8, batch_size=2, warmup_steps=1,
                      checkpoint_every=20, sample_every=20, sample_steps=4, num_holdout=2, log_every=1,
                      learning_rate=2e-3)
    dlg = w.model_panels.open_training(base_config=cfg)
    dlg.out.setText(str(work / "trained"))
    dlg.resolution.setCurrentText("64x36")
    dlg.steps.setValue(60)
    dlg.device.setCurrentIndex(dlg.device.findData("cpu"))
    _wait(dlg.start())
    return dlg


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("which", choices=("synthesis", "preseg", "training"))
    ap.add_argument("--model", default="", help="synthesis model folder (synthesis, preseg)")
    ap.add_argument("--out", default="docs/img", help="folder for the PNG")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication

    from desktop.app import make_app, take_screenshot

    make_app()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        w = _window(work, args.model)
        w.default_layout()
        out = Path(args.out)
        if args.which == "training":
            dlg = training(w, work)
            for _ in range(5):
                QCoreApplication.processEvents()
            out.mkdir(parents=True, exist_ok=True)
            dlg.grab().save(str(out / "training_dialog.png"))
            path = out / "training_dialog.png"
        else:
            (synthesis if args.which == "synthesis" else preseg)(w)
            path = take_screenshot(w, out / f"{args.which}_panel.png")
            if args.which == "preseg":  # also at 1366x768, and a frame out of the head's distribution
                _grab_small(w, out / "preseg_panel_1366.png")
                preseg_ood(w)
                take_screenshot(w, out / "preseg_panel_ood.png")
                _grab_small(w, out / "preseg_panel_ood_1366.png")
        w.doc.forget_unsaved()  # the erased label of the preseg shot is not saved
        w.close()
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
