"""The fast full-size preview (issue 29): the upsampler on a small copy of the mask, the frame brought to the
mask's size with its edges drawn from the full-size mask, the mask's SPADE maps kept between calls, and ONE
preview function for the CLI and the app."""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch

from engine.pipelines.refine import edge_band, mask_guided_resize
from tests.synthesis_helpers import TINY_SIZE, tiny_model, two_masks

pytestmark = pytest.mark.usefixtures("one_torch_thread")

A, B, C = (200, 40, 40), (30, 60, 220), (250, 250, 250)


def _two_class_frame(hs: int, ws: int, edge: int):
    """A small frame and its label: class 1 left of column `edge`, class 2 right of it, flat colours."""
    lab = np.full((hs, ws), 2, np.uint8)
    lab[:, :edge] = 1
    img = np.empty((hs, ws, 3), np.uint8)
    img[lab == 1], img[lab == 2] = A, B
    return img, lab


def test_edges_follow_the_full_size_mask_where_bicubic_blends_the_classes():
    small, small_lab = _two_class_frame(10, 16, 8)
    full = np.full((40, 64), 2, np.uint8)
    full[:, :33] = 1  # the full-size edge is one pixel off the small one's (32): inside a small pixel
    out = mask_guided_resize(small, small_lab, full)
    assert out.shape == (40, 64, 3) and out.dtype == np.uint8
    assert np.abs(out[full == 1].astype(int) - A).max() <= 1
    assert np.abs(out[full == 2].astype(int) - B).max() <= 1
    plain = cv2.resize(small, (64, 40), interpolation=cv2.INTER_CUBIC)
    assert np.abs(plain[full == 1].astype(int) - A).max() > 40  # what the preview had before: blended edges


def test_a_structure_thinner_than_a_small_pixel_takes_its_own_class_colour():
    small, small_lab = _two_class_frame(10, 16, 8)
    small_lab[:, 12], small[:, 12] = 3, C  # a one-pixel line in the small frame ...
    full = np.full((40, 64), 2, np.uint8)
    full[:, :32] = 1
    full[:, 49] = 3                        # ... one pixel wide at four times the size
    out = mask_guided_resize(small, small_lab, full)
    assert np.abs(out[full == 3].astype(int) - C).max() <= 1
    assert np.abs(out[full == 2].astype(int) - B).max() <= 1


def test_a_class_without_a_near_neighbour_takes_its_colour_from_farther_away():
    small, small_lab = _two_class_frame(10, 16, 8)
    small_lab[0, 0], small[0, 0] = 3, C
    full = np.full((40, 64), 2, np.uint8)
    full[:, :32] = 1
    full[20, 20] = 3  # class 3 is only far away (top left) in the small frame
    assert np.abs(mask_guided_resize(small, small_lab, full)[20, 20].astype(int) - C).max() <= 1


def test_away_from_edges_the_frame_is_the_bilinear_resize():
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (10, 16, 3), dtype=np.uint8)
    lab = np.full((10, 16), 4, np.uint8)
    full = np.full((40, 64), 4, np.uint8)
    assert len(edge_band(lab, full)[0]) == 0
    np.testing.assert_array_equal(mask_guided_resize(small, lab, full),
                                  cv2.resize(small, (64, 40), interpolation=cv2.INTER_LINEAR))
    with pytest.raises(ValueError, match="label"):
        mask_guided_resize(small, lab[:5], full)


@pytest.fixture()
def student_pipe():
    from engine.distill import ConsistencyStudent, StudentPipeline
    from engine.distill.student import lcm_scheduler_config
    from engine.models import MaskUpsampler2DModel
    from engine.models.model_dir import DEFAULT_SCHEDULER_CONFIG

    torch.manual_seed(0)
    up = MaskUpsampler2DModel(num_classes=8, class_set="1", block_out_channels=(8, 16), low_res_size=TINY_SIZE)
    student = ConsistencyStudent.from_teacher(tiny_model())
    return StudentPipeline(student, lcm_scheduler_config(dict(DEFAULT_SCHEDULER_CONFIG), 50), upsampler=up.eval())


def test_the_preview_lifts_small_and_draws_edges_and_the_old_lift_is_kept_as_an_option(student_pipe, monkeypatch):
    import engine.pipelines.refine as refine

    calls = []
    real = refine.mask_guided_resize
    monkeypatch.setattr(refine, "mask_guided_resize", lambda *a: calls.append(a[2].shape) or real(*a))
    mask = two_masks(96, 192)[0]
    s = replace(student_pipe.default_settings, max_lift_pixels=24 * 48, precision="fp32")
    r = student_pipe(mask, settings=s, num_inference_steps=1, seed=0)
    assert r.images[0].shape == (96, 192, 3) and calls == [(96, 192)] and r.settings["lift_edges"]
    plain = student_pipe(mask, settings=replace(s, lift_edges=False), num_inference_steps=1, seed=0)
    assert calls == [(96, 192)] and not plain.settings["lift_edges"]
    assert not np.array_equal(r.images[0], plain.images[0])


def test_the_masks_spade_maps_are_computed_once_for_repeated_calls(student_pipe, monkeypatch):
    model = student_pipe.student
    computed = []
    real = model.precompute_modulation
    monkeypatch.setattr(model, "precompute_modulation", lambda seg: computed.append(1) or real(seg))
    a, b = two_masks(32, 64)
    s = replace(student_pipe.default_settings, precision="fp32")
    first = student_pipe(a, settings=s, num_inference_steps=1, seed=0).images[0]
    again = student_pipe(a, settings=s, num_inference_steps=1, seed=0).images[0]
    student_pipe(a, settings=s, num_inference_steps=1, seed=5)
    assert len(computed) == 1
    np.testing.assert_array_equal(first, again)  # the cached maps give the same frame
    student_pipe(b, settings=s, num_inference_steps=1, seed=0)
    assert len(computed) == 2  # another mask: new maps


def test_cadis_synth_preview_calls_the_one_synthesis_service(student_pipe, monkeypatch, tmp_path, capsys):
    import engine.services.pipelines as pipelines
    import engine.services.synthesis as service
    from engine.cli import main
    from engine.imageio import write_label

    seen = []
    real = service.synthesize
    monkeypatch.setattr(pipelines.Pipelines, "load", lambda self, request, ctx=None: student_pipe)
    monkeypatch.setattr(service, "synthesize", lambda ctx, pipes, request: seen.append(request.preset)
                        or real(ctx, pipes, request))
    write_label(tmp_path / "m.png", two_masks(32, 64)[0])
    (tmp_path / "model").mkdir()
    assert main(["synth", "--model", str(tmp_path / "model"), "--mask", str(tmp_path / "m.png"),
                 "--out", str(tmp_path / "o.png"), "--preset", "preview", "--num", "2", "--quiet"]) == 0
    assert seen == ["preview"] and (tmp_path / "o_1.png").exists()
    assert "ms per frame" in capsys.readouterr().out



def test_the_preview_lifts_at_a_third_of_a_large_masks_side_and_on_the_pixel_budget_of_a_small_one(student_pipe):
    """960x540: the upsampler at 320x180 (a third of the side: 240x136 cost the retractors ~0.02 of the judge's
    IoU, docs/adr/0014); 480x270: at 240x136 (the pixel budget is more than a third there)."""
    from engine.distill.sampling import PREVIEW_LIFT_PIXELS
    from engine.pipelines.upsample import work_size

    s = replace(student_pipe.default_settings, precision="fp32")
    big = student_pipe(np.full((540, 960), 4, np.uint8), settings=s, num_inference_steps=1).settings["lift_scale"]
    small = student_pipe(np.full((270, 480), 4, np.uint8), settings=s, num_inference_steps=1).settings["lift_scale"]
    assert work_size(student_pipe.size, (540, 960), big) == (180, 320)
    assert work_size(student_pipe.size, (270, 480), small) == (136, 241)
    assert abs(small - (PREVIEW_LIFT_PIXELS / (480 * 270)) ** 0.5) < 1e-3
    plain = replace(s, min_lift_scale=0.0)  # the pixel budget alone (the first session's preview)
    r = student_pipe(np.full((540, 960), 4, np.uint8), settings=plain, num_inference_steps=1)
    assert work_size(student_pipe.size, (540, 960), r.settings["lift_scale"]) == (136, 241)
