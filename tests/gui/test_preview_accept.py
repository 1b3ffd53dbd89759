"""An accepted live preview is stored from the final preset's lift: the preview lifts on a pixel budget, the
stored frame is the same student sample lifted (fp32) at the mask's own size."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from tests.gui.synthesis_fixtures import model_dir, window  # noqa: F401 - fixtures
from tests.synthesis_helpers import TINY_SIZE, tiny_model

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture
def student_folder(tmp_path):
    from engine.distill import ConsistencyStudent, save_student
    from engine.distill.student import teacher_sha256
    from engine.models import MaskUpsampler2DModel, load_synthesis_model
    from engine.pipelines import SynthesisPipeline

    torch.manual_seed(0)
    up = MaskUpsampler2DModel(num_classes=8, class_set="1", block_out_channels=(8, 16), low_res_size=TINY_SIZE)
    with torch.no_grad():
        up.conv_out.weight.normal_(0, 0.05)
    folder = SynthesisPipeline(tiny_model("1"), None, up.eval()).save_pretrained(tmp_path / "with-student")
    teacher, sched, _ = load_synthesis_model(folder, device="cpu")
    save_student(ConsistencyStudent.from_teacher(teacher, default_steps=1), folder, sched,
                 {"teacher_weights_sha256": teacher_sha256(folder)})
    return folder


def test_accepted_preview_is_stored_with_the_full_size_lift(window, qtbot, student_folder, monkeypatch):
    import engine.distill.sampling as sampling
    from engine.distill import StudentPipeline

    monkeypatch.setattr(sampling, "PREVIEW_LIFT_PIXELS", 64 * 32)  # the test frame is over this budget
    panel = window.model_panels.synthesis
    window.settings.model_dir = str(student_folder)
    window.model_panels.settings_changed()
    panel.live.setChecked(True)
    qtbot.waitUntil(panel.preview_handle.is_finished, timeout=30_000)
    entry = panel.gallery.live_entry()
    mask = window.doc.label
    assert entry.image.shape == (*mask.shape, 3)  # the preview is at the mask's size ...
    assert entry.provenance["lift_scale"] < 1.0   # ... lifted on the budget
    preview_image = entry.image.copy()

    assert panel.accept_selected() is None  # a job first
    qtbot.waitUntil(panel.accept_handle.is_finished, timeout=30_000)
    project = window.doc.project
    assert entry.pair_id is not None and len(project.pairs()) == 1
    stored, label = project.load_pair(entry.pair_id)
    np.testing.assert_array_equal(label, mask)
    rec = project.pair(entry.pair_id)
    assert rec.provenance["lift_scale"] == 1.0 and rec.provenance["sampler"].startswith("lcm")

    pipe = StudentPipeline.from_pretrained(student_folder, device="cpu")
    full = replace(pipe.default_settings, max_lift_pixels=None, guidance=entry.provenance["guidance"])
    expected = pipe(mask, settings=full, seed=entry.provenance["seed"]).images[0]
    np.testing.assert_array_equal(stored, expected)  # the same sample, the final preset's lift
    assert not np.array_equal(stored, preview_image)
