"""The student preview: its cheaper lift to the mask's size (the upsampler run on a pixel budget, while the
final preset still lifts at the mask's own size) and its 2-step schedule."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from engine.pipelines.upsample import lift_to_mask_size, work_size
from tests.synthesis_helpers import TINY_SIZE, tiny_model, two_masks

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _upsampler():
    from engine.models import MaskUpsampler2DModel

    torch.manual_seed(0)
    up = MaskUpsampler2DModel(num_classes=8, class_set="1", block_out_channels=(8, 16), low_res_size=TINY_SIZE)
    with torch.no_grad():
        up.conv_out.weight.normal_(0, 0.05)  # not the identity it starts as
    return up.eval()


def _sizes_seen(up) -> list[tuple[int, int]]:
    seen = []
    up.register_forward_pre_hook(lambda _m, args: seen.append(tuple(args[0].shape[-2:])))
    return seen


@pytest.fixture()
def student_pipe():
    from engine.distill import ConsistencyStudent, StudentPipeline
    from engine.distill.student import lcm_scheduler_config
    from engine.models.model_dir import DEFAULT_SCHEDULER_CONFIG

    student = ConsistencyStudent.from_teacher(tiny_model())
    return StudentPipeline(student, lcm_scheduler_config(dict(DEFAULT_SCHEDULER_CONFIG), 50), upsampler=_upsampler())


def test_work_size_stays_between_the_unet_size_and_the_mask_size():
    assert work_size((72, 128), (540, 960), 0.5) == (270, 480)
    assert work_size((72, 128), (100, 180), 0.5) == (72, 128)   # never below the UNet's size
    assert work_size((72, 128), (540, 960), 1.0) == (540, 960)


def test_lift_at_a_scale_runs_the_upsampler_smaller_and_returns_the_mask_size():
    up = _upsampler()
    seen = _sizes_seen(up)
    low = torch.rand(1, 3, *TINY_SIZE) * 2 - 1
    mask = two_masks(64, 128)[0]
    with torch.no_grad():
        full = lift_to_mask_size(low, mask, up, "1")
        half = lift_to_mask_size(low, mask, up, "1", scale=0.5)
    assert full.shape == half.shape == (64, 128, 3) and half.dtype == np.uint8
    assert seen == [(64, 128), (32, 64)]
    assert not np.array_equal(full, half)  # a cheaper lift, not the same one
    with pytest.raises(ValueError, match="scale"):
        lift_to_mask_size(low, mask, up, "1", scale=0.0)


def test_student_preview_of_a_large_mask_is_the_masks_size_and_lifts_on_the_budget(student_pipe):
    up = student_pipe.upsampler
    mask = two_masks(96, 192)[0]
    budget = replace(student_pipe.default_settings, max_lift_pixels=48 * 96, precision="fp32")
    seen = _sizes_seen(up)
    r = student_pipe(mask, settings=budget, num_inference_steps=1, seed=1)
    assert r.images[0].shape == (96, 192, 3)
    assert seen == [(48, 96)] and r.settings["lift_scale"] == 0.5
    full = student_pipe(mask, settings=replace(budget, max_lift_pixels=None), num_inference_steps=1, seed=1)
    assert seen[-1] == (96, 192) and full.settings["lift_scale"] == 1.0
    assert full.images[0].shape == (96, 192, 3)


def test_a_mask_within_the_budget_is_lifted_at_its_own_size(student_pipe):
    seen = _sizes_seen(student_pipe.upsampler)
    mask = two_masks(32, 64)[0]
    r = student_pipe(mask, settings=replace(student_pipe.default_settings, precision="fp32"), num_inference_steps=1, seed=0)
    assert seen == [(32, 64)] and r.settings["lift_scale"] == 1.0


def test_the_final_preset_lifts_at_the_masks_own_size():
    from engine.pipelines import SynthesisPipeline, preset

    up = _upsampler()
    pipe = SynthesisPipeline(tiny_model("1", seed=3), None, up)
    seen = _sizes_seen(up)
    mask = two_masks(96, 192)[0]
    r = pipe(mask, settings=preset("final", steps=2), seed=0)
    assert seen == [(96, 192)] and r.images[0].shape == (96, 192, 3)


def test_bf16_preview_lift_is_within_a_grey_level_or_two_of_fp32(student_pipe):
    from engine.pipelines.synthesis import cpu_has_bf16

    if not cpu_has_bf16():
        pytest.skip("this CPU has no native bf16: previews lift in fp32 here")
    low = torch.rand(1, 3, *TINY_SIZE) * 2 - 1
    mask = two_masks(64, 128)[0]
    with torch.no_grad():
        a = lift_to_mask_size(low, mask, student_pipe.upsampler, "1").astype(int)
        b = lift_to_mask_size(low, mask, student_pipe._lifter("bf16"), "1").astype(int)
    assert student_pipe._lifter("bf16") is not student_pipe.upsampler
    assert np.abs(a - b).max() <= 2


def test_two_steps_use_the_tuned_schedule_and_custom_timesteps_override(student_pipe):
    from engine.distill import StudentSettings
    from engine.distill.sampling import two_step_timesteps

    mask = two_masks(32, 64)[0]
    two = student_pipe(mask, num_inference_steps=2, seed=0)
    assert two.settings["timesteps"] == list(two_step_timesteps(student_pipe.scheduler_config)) == [999, 879]
    lcm = student_pipe(mask, settings=StudentSettings(timesteps=(999, 499)), seed=0)
    assert lcm.settings["timesteps"] == [999, 499] and lcm.settings["steps"] == 2
    assert not np.array_equal(two.images[0], lcm.images[0])  # the second step starts elsewhere
    assert student_pipe(mask, num_inference_steps=1, seed=0).settings["timesteps"] == [999]


def test_the_shipped_starter_model_has_a_fresh_student_for_live_preview():
    """`make run` previews with the starter model's student: it must be there and made from its UNet."""
    from engine.distill import StudentPipeline, preview_pipeline, student_problem
    from engine.models import starter_model_dir

    folder = starter_model_dir()
    assert student_problem(folder) is None
    pipe, why = preview_pipeline(folder, device="cpu")
    assert isinstance(pipe, StudentPipeline), why
    assert pipe.card["weights_dtype"] == "float16" and pipe.card["steps"] > 0


def test_the_student_is_a_diffusion_pipeline_that_refuses_what_it_cannot_do(student_pipe):
    """One pipeline contract: the synthesis pipeline's call; a repaint is refused, never run as a full synthesis."""
    from diffusers import DiffusionPipeline

    assert isinstance(student_pipe, DiffusionPipeline)
    mask, edited = two_masks(64, 128)
    image = np.full((64, 128, 3), 90, np.uint8)
    with pytest.raises(ValueError, match="cannot repaint"):
        student_pipe(edited, image=image, parent_mask=mask, num_inference_steps=1)
    with pytest.raises(ValueError, match="cannot repaint"):
        student_pipe(edited, parent_mask=mask, num_inference_steps=1)
    with pytest.raises(ValueError, match="LCM"):
        student_pipe(mask, sampler="dpm", num_inference_steps=1)
    with pytest.raises(ValueError, match="preview preset"):
        student_pipe(mask, preset_name="final", num_inference_steps=1)
    with pytest.raises(TypeError):
        student_pipe(mask, strength=0.5)  # an unknown argument is an error, not silently dropped
    r = student_pipe(mask, preset_name="preview", guidance_scale=1.5, num_images_per_prompt=2, seed=4,
                     num_inference_steps=1, output_type="pil")
    assert len(r.images) == 2 and r.images[0].size == (128, 64) and r.seeds == [4, 5]
    assert r.settings["guidance"] == 1.5 and r.changed is None
