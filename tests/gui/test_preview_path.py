"""The app's live preview goes through the same function as `cadis synth --preset preview`
(`engine.services.synthesis.synthesize`; tests/test_preview_fast.py shows the CLI side)."""
from __future__ import annotations

import numpy as np
import pytest

from desktop.workers import DONE
from tests.gui.synthesis_fixtures import model_dir, window  # noqa: F401 - fixtures

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("one_torch_thread")]


def test_live_preview_calls_the_one_synthesis_service(window, qtbot, monkeypatch):
    import desktop.panels.synthesis.panel as panel_module
    import engine.services.synthesis as service

    assert panel_module.synthesize is service.synthesize  # the function `cadis synth` calls too
    seen = []
    real = service.synthesize
    monkeypatch.setattr(panel_module, "synthesize",
                        lambda ctx, pipelines, request: seen.append((request.preset, request.mask.shape))
                        or real(ctx, pipelines, request))
    panel = window.model_panels.synthesis
    handle = panel.request_preview()
    qtbot.waitUntil(handle.is_finished, timeout=60_000)
    assert handle.state == DONE and seen == [("preview", window.doc.label.shape)]


def test_app_preview_cadis_synth_and_cadis_augment_preview_make_frames_with_the_one_student_call(
        window, qtbot, model_dir, tmp_path, monkeypatch):
    """Issue 29: the live preview, `cadis synth --preset preview` and `cadis augment --preset preview` (repaint
    and full) all call `engine.services.synthesis.synthesize` and get their frames from the distilled student."""
    import shutil

    import engine.services.synthesis as service
    from engine.cli import main
    from engine.distill import ConsistencyStudent, save_student
    from engine.imageio import write_label
    from engine.models import load_synthesis_model
    from engine.pipelines.repaint import decode_region, grow
    from engine.project import Project
    from tests.augment_helpers import make_project

    folder = tmp_path / "with-student"
    shutil.copytree(model_dir, folder)
    teacher, sched, card = load_synthesis_model(folder, device="cpu")
    save_student(ConsistencyStudent.from_teacher(teacher, default_steps=1), folder, sched,
                 {"teacher_weights_sha256": card["weights_sha256"]})
    seen = []
    real = service.synthesize

    def spy(ctx, pipelines, request):
        out = real(ctx, pipelines, request)
        seen.append((request.preset, out.result.settings["sampler"]))
        return out

    import desktop.panels.synthesis.panel as panel_module

    monkeypatch.setattr(service, "synthesize", spy)
    monkeypatch.setattr(panel_module, "synthesize", spy)  # the panel's name for the same function
    window.settings.model_dir = str(folder)
    window.model_panels.settings_changed()
    handle = window.model_panels.synthesis.request_preview()
    qtbot.waitUntil(handle.is_finished, timeout=60_000)
    assert handle.state == DONE and len(seen) == 1

    write_label(tmp_path / "m.png", window.doc.label)
    assert main(["synth", "--model", str(folder), "--mask", str(tmp_path / "m.png"), "--out",
                 str(tmp_path / "o.png"), "--preset", "preview", "--device", "cpu", "--quiet"]) == 0
    assert len(seen) == 2

    project = make_project(tmp_path / "aug", videos=1, frames=1)
    root = project.root
    project.close()
    for mode in ("repaint", "full"):
        assert main(["augment", str(root), "--model", str(folder), "--preset", "preview", "--mode", mode,
                     "--layouts", "2", "--samples", "1", "--device", "cpu", "--no-progress"]) == 0
    assert [p for p, _ in seen] == ["preview"] * len(seen) and len(seen) >= 4
    assert all(sampler.startswith("lcm") for _, sampler in seen)  # the student, every time
    with Project.open_or_create(root) as p:
        pairs = p.pairs(source="augment")
        assert {pair.provenance["mode"] for pair in pairs} == {"repaint", "full"}
        rep = next(pair for pair in pairs if pair.provenance["mode"] == "repaint")
        image, real_frame = p.load_pair(rep.id)[0], p.load_image(rep.parent_key)
        outside = ~grow(decode_region(rep.provenance["repaint"]["changed_region"]), rep.provenance["repaint"]["margin"])
        np.testing.assert_array_equal(image[outside], real_frame[outside])  # a repaint keeps the real frame there
        assert rep.provenance["model_info"]["sampler"].startswith("lcm")
