"""Issue 22's first-day trial, repeated under Xvfb (or offscreen) at 1366x768 on phantom frames of two styles (a stand-in for
a team's real frames): one labelled frame of one video (realistic style) and five unlabelled frames of
another video (plain style).

    python scripts/first_day_trial.py --model resources/models/starter-synthesis --out SHOTS_DIR

It opens the folder (no problems dialog: the five frames are "to label"), marks the labelled frame Done,
trains the head from the Pre-segment panel (the few-frames question is answered yes), pre-segments an
unlabelled frame of the other video, tries "Accept confident" (the question is answered no, then yes), runs
"Suspicious labels" with the model-filled frame marked Done, and exports; every step's result is printed
and screenshots of the window are written to SHOTS_DIR. A docs tool: it drives the app from outside and is
not part of it.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _wait(handle) -> None:
    from PySide6.QtCore import QCoreApplication

    while not handle.is_finished():
        QCoreApplication.processEvents()
        time.sleep(0.02)
    if handle.state != "done":
        raise RuntimeError(f"{handle.title}: {handle.state} {handle.error}")


def build_folder(root: Path) -> None:
    """Video01: one realistic frame with its label; Video02: five plain frames without labels."""
    from engine.imageio import write_image, write_label
    from engine.phantom import VideoRenderer

    r = VideoRenderer(7, 1, 960, 540, "realistic")
    image, label = r.render(0)
    write_image(root / "Video01" / "Images" / "Video1_frame000000.png", image)
    write_label(root / "Video01" / "Labels" / "Video1_frame000000.png", label)
    other = VideoRenderer(7, 2, 960, 540, "plain")
    for i in range(5):
        image, _ = other.render(i)
        write_image(root / "Video02" / "Images" / f"Video2_frame{i:06d}.png", image)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    from desktop.app import make_app
    from desktop.main_window import MainWindow
    from desktop.settings import Settings
    from desktop.window_layout import show_on_screen

    app = make_app()  # the app's style and wheel guard, as a user gets them
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="first-day-"))
    data = work / "frames"
    build_folder(data)
    s = Settings(work / "settings.ini")
    s.recovery_policy, s.model_dir, s.device = "discard", str(args.model), "cpu"
    w = MainWindow(s)
    show_on_screen(w)  # as on a first start, on the screen: run under `xvfb-run -s "-screen 0 1366x768x24"`
    assert w.open_source(data, work / "project", recovery="discard")
    w.runner.wait(60_000)
    app.processEvents()

    def shot(name: str) -> None:
        app.processEvents()
        w.grab().save(str(args.out / f"{name}.png"))
        print(f"screenshot {args.out / name}.png")

    print("problems dialog:", w.problems_dialog is not None, "| to label:", len(w.frames.to_label_keys()))
    shot("01_opened_to_label")
    p, doc = w.model_panels.preseg, w.doc
    keys = doc.project.frame_keys()
    asked: list[str] = []
    answers = iter([True, False, True, True])  # train anyway; accept confident: no, then yes; accept all: yes
    p.confirm = lambda title, text: asked.append(f"{title}: {text}") or next(answers)
    doc.project.set_status(keys[0], "done")
    w.frames.set_status(keys[0], "done")
    w.model_panels.show("preseg")
    t0 = time.perf_counter()
    _wait(p.train())
    print(f"trained in {time.perf_counter() - t0:.0f} s; asked: {asked[-1][:160]}")
    w.show_frame(keys[2])
    t0 = time.perf_counter()
    _wait(p.presegment())
    print(f"proposal in {time.perf_counter() - t0:.1f} s; shift {p.result.shift}, warnings:")
    for line in p.result.warnings:
        print("  -", line)
    shot("02_proposal_warnings")
    assert p.accept_confident() is None
    print("accept confident, answered no:", p.status.text())
    p.accept_confident()
    print("accept confident, answered yes:", p.status.text())
    p.made_box.setChecked(True)
    shot("03_model_made_overlay")
    doc.save()
    doc.project.set_status(keys[2], "done")
    w.frames.set_status(keys[2], "done")
    w.refresh_model_made()
    print("frame list model-made:", w.frames.model_made_keys())
    t0 = time.perf_counter()
    _wait(p.find_suspicious())
    ranked = [(p.sus_list.item(i).text()) for i in range(p.sus_list.count())]
    print(f"suspicious labels in {time.perf_counter() - t0:.0f} s: {ranked}")
    shot("04_suspicious")
    from engine.export import export_cadis

    export_cadis(doc.project, work / "export")
    frames = json.loads((work / "export" / "manifest.json").read_text())["frames"]
    print("export:", [(f["key"], f.get("model_made_fraction")) for f in frames])
    print("questions asked:", len(asked))
    w.close()


if __name__ == "__main__":
    main()
