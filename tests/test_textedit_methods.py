"""Each edit method end to end on a tiny random SD on the CPU: shapes, determinism, the shared UNet left
untouched, scores, and the memory-error translation."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from engine.jobs import JobContext
from engine.textedit import TextEditMemoryError, edit_frame, edit_label_miou
from engine.textedit.diffusion import decode, encode, oom_guard
from engine.textedit.framing import plan_framing
from engine.textedit.imagic import prepare
from tests.textedit_helpers import _one_torch_thread, make_frame, make_label, tiny_sd, tiny_sd_dir  # noqa: F401

FAST = dict(steps=4, guidance=3.0)


def _unet_state(sd):
    return {k: v.clone() for k, v in sd.unet.state_dict().items() if "lora" not in k}


def _same_state(sd, before):
    after = {k.replace(".base_layer", ""): v for k, v in sd.unet.state_dict().items() if "lora" not in k}
    before = {k.replace(".base_layer", ""): v for k, v in before.items()}
    return after.keys() == before.keys() and all(torch.equal(after[k], before[k]) for k in before)


def test_sdedit_end_to_end(tiny_sd):
    img = make_frame()
    msgs = []
    (r,) = edit_frame(tiny_sd, img, "bright bleeding", "sdedit", strength=0.5, seed=3,
                      ctx=JobContext(lambda f, m: msgs.append(m)), **FAST)
    assert r.image.shape == img.shape and r.image.dtype == np.uint8
    assert r.method == "sdedit" and r.alpha is None and r.seed == 3
    assert r.settings["strength"] == 0.5 and r.settings["resolution"] == "64x36" and r.settings["prompt"]
    assert any(m.startswith("sampling") for m in msgs)
    # strength 0 is the VAE round trip of the frame at the model resolution, brought back to its size
    (r0,) = edit_frame(tiny_sd, img, "bright bleeding", "sdedit", strength=0.0, **FAST)
    plan = plan_framing((96, 54), (64, 36))
    expect = plan.merge([decode(tiny_sd, encode(tiny_sd, plan.split(img)[0]))])
    np.testing.assert_array_equal(r0.image, expect)
    assert not np.array_equal(r.image, r0.image)
    # the seed matters for SDEdit, and a seed reproduces its edit
    (r_again,) = edit_frame(tiny_sd, img, "bright bleeding", "sdedit", strength=0.5, seed=3, **FAST)
    (r_other,) = edit_frame(tiny_sd, img, "bright bleeding", "sdedit", strength=0.5, seed=4, **FAST)
    np.testing.assert_array_equal(r.image, r_again.image)
    assert not np.array_equal(r.image, r_other.image)


def test_inversion_end_to_end_is_deterministic_and_ignores_the_seed(tiny_sd):
    img = make_frame()
    msgs = []
    (a,) = edit_frame(tiny_sd, img, "pale tissue", "invert", seed=1, ctx=JobContext(lambda f, m: msgs.append(m)),
                      **FAST)
    (b,) = edit_frame(tiny_sd, img, "pale tissue", "invert", seed=99, **FAST)
    assert a.image.shape == img.shape
    np.testing.assert_array_equal(a.image, b.image)
    assert [m for m in msgs if m.startswith("inverting")] == [f"inverting {i}/4" for i in range(1, 5)]
    assert a.settings["strength"] == 1.0 and a.settings["source_prompt"] == ""
    # a partial inversion is a different (milder) edit
    (c,) = edit_frame(tiny_sd, img, "pale tissue", "invert", strength=0.5, **FAST)
    assert not np.array_equal(a.image, c.image)


@pytest.mark.parametrize("tune", ["lora", "full"])
def test_imagic_end_to_end_sweep_leaves_the_shared_unet_untouched(tiny_sd, tune):
    img = make_frame()
    before = _unet_state(tiny_sd)
    stages = []
    results = edit_frame(tiny_sd, img, "heavy bleeding", "imagic", alphas=[0.0, 1.0, 4.0], interp="lerp",
                         opt_steps=3, tune_steps=2, tune=tune, ctx=JobContext(lambda f, m: stages.append(m)),
                         **FAST)
    assert [r.alpha for r in results] == [0.0, 1.0, 4.0]
    assert all(r.image.shape == img.shape for r in results)
    assert results[0].settings["tune"] == tune and results[0].settings["optimiser_steps_run"] == 3
    assert results[0].settings["fine_tuning_steps_run"] == 2 and "strength" not in results[0].settings
    # stage names in order: optimisation, then fine-tuning, then sampling
    firsts = [next(i for i, m in enumerate(stages) if m.startswith(s))
              for s in ("optimising embedding", "fine-tuning", "sampling")]
    assert firsts == sorted(firsts)
    # every progress message is "<stage> i/n" (the app shows the stage name before the count), then "done"
    assert stages[-1] == "done"
    assert all(re.fullmatch(r"(optimising embedding|fine-tuning|sampling) \d+/\d+", m) for m in stages[:-1])
    # α changes the conditioning; the sweep is not a constant image
    assert not np.array_equal(results[0].image, results[2].image)
    assert _same_state(tiny_sd, before)
    assert not getattr(tiny_sd.unet, "peft_config", {})  # no adapter left behind


def test_imagic_fine_tuning_changes_the_weights_it_returns(tiny_sd):
    img = make_frame(64, 36)
    lat = encode(tiny_sd, img)
    e_text = tiny_sd.encode_prompt("heavy bleeding")
    st = prepare(tiny_sd, lat, e_text, opt_steps=3, opt_lr=1e-2, tune_steps=2, tune_lr=1e-3, tune_mode="full",
                 lora_rank=4, seed=0, ctx=JobContext())
    assert not torch.equal(st.embedding, e_text.cpu())  # the embedding was optimised
    base = {k.replace(".base_layer", ""): v for k, v in tiny_sd.unet.state_dict().items()}
    changed = [k for k, v in st.unet_weights.items() if not torch.equal(v, base[k])]
    assert changed and set(st.unet_weights) == set(base)


def test_slerp_sweep_differs_from_lerp(tiny_sd):
    img = make_frame()
    # a large learning rate moves e_opt far enough from e_text for slerp not to fall back to lerp
    kw = dict(alphas=[3.0], opt_steps=3, opt_lr=0.2, tune_steps=0, **FAST)
    (lin,) = edit_frame(tiny_sd, img, "heavy bleeding", "imagic", interp="lerp", **kw)
    (sph,) = edit_frame(tiny_sd, img, "heavy bleeding", "imagic", interp="slerp", **kw)
    assert lin.settings["interp"] == "lerp" and sph.settings["interp"] == "slerp"
    assert not np.array_equal(lin.image, sph.image)


def test_tiled_framing_runs_each_tile(tiny_sd):
    img = make_frame()
    (r,) = edit_frame(tiny_sd, img, "bleeding", "sdedit", strength=0.4, resolution=(36, 36), framing="tile",
                      **FAST)
    assert r.image.shape == img.shape and r.settings["tiles"] == 2 and r.settings["framing"] == "tile"


def test_scores_and_edit_label_miou(tiny_sd):
    img, lab = make_frame(), make_label()
    (r,) = edit_frame(tiny_sd, img, "bleeding", "sdedit", strength=0.3, label=lab,
                      presegment=lambda im: lab.copy(), **FAST)
    assert r.label_miou == pytest.approx(1.0)
    assert np.isfinite(r.psnr) and -1.0 <= r.ssim <= 1.0
    shifted = np.roll(lab, 10, axis=1)
    assert edit_label_miou(lambda im: shifted, r.image, lab) < 0.9
    with pytest.raises(ValueError, match="label is"):
        edit_frame(tiny_sd, img, "x", "sdedit", label=lab[:10], **FAST)


def test_clear_errors_for_bad_settings(tiny_sd):
    img = make_frame()
    with pytest.raises(ValueError, match="imagic method only"):
        edit_frame(tiny_sd, img, "x", "sdedit", alphas=[1.0, 2.0])
    with pytest.raises(ValueError, match="unknown method"):
        edit_frame(tiny_sd, img, "x", "diffedit")
    with pytest.raises(ValueError, match="strength must be between 0 and 1"):
        edit_frame(tiny_sd, img, "x", "sdedit", strength=1.5)
    with pytest.raises(ValueError, match="multiples of 4"):
        edit_frame(tiny_sd, img, "x", "sdedit", resolution=(65, 36))


def test_out_of_memory_is_explained():
    with pytest.raises(TextEditMemoryError, match="LoRA.*resolution.*CPU") as err:
        with oom_guard():
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert isinstance(err.value.__cause__, torch.cuda.OutOfMemoryError)
    with pytest.raises(TextEditMemoryError):
        with oom_guard():
            raise RuntimeError("CUDA error: out of memory")
    with pytest.raises(TextEditMemoryError, match="RAM.*resolution"):
        with oom_guard():
            raise RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate 9 GB")
    with pytest.raises(KeyError):  # other errors pass through unchanged
        with oom_guard():
            raise KeyError("x")


def test_contact_sheet_lays_out_the_sweep_with_scores(tiny_sd):
    from engine.textedit.sweep_figure import contact_sheet

    img = make_frame()
    results = edit_frame(tiny_sd, img, "bleeding", "imagic", alphas=[0.0, 2.0], opt_steps=1, tune_steps=0,
                         **FAST)
    sheet = contact_sheet(img, results, height=54)
    assert sheet.dtype == np.uint8 and sheet.shape[0] > 54
    assert sheet.shape[1] == 3 * 96 + 2 * 6  # original + two results, 6-pixel gaps
    np.testing.assert_array_equal(sheet[:54, :96], img)  # the original, unscaled at this height
    np.testing.assert_array_equal(sheet[:54, 96 + 6:2 * 96 + 6], results[0].image)


def test_sd2_style_v_prediction_with_a_pndm_scheduler_config(tiny_sd_dir, tmp_path):
    """SD 2.x folders ship v-prediction; SD 1.5 ships a PNDM scheduler config: both must work."""
    import json
    import shutil

    from engine.textedit import load_sd

    d = tmp_path / "sd2"
    shutil.copytree(tiny_sd_dir, d)
    cfg_path = d / "scheduler" / "scheduler_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.update({"_class_name": "PNDMScheduler", "prediction_type": "v_prediction", "skip_prk_steps": True})
    cfg_path.write_text(json.dumps(cfg))
    sd2 = load_sd(d, device="cpu")
    assert sd2.prediction_type == "v_prediction"
    img = make_frame()
    for method, kw in (("sdedit", {}), ("invert", {}), ("imagic", dict(opt_steps=1, tune_steps=1))):
        (r,) = edit_frame(sd2, img, "bleeding", method, **kw, **FAST)
        assert r.image.shape == img.shape


def test_edit_label_miou_with_a_merged_class_set_proposal():
    from types import SimpleNamespace

    from engine.taxonomy import get_class_set, remap

    lab = make_label()
    lab[5:9, 5:40] = 12  # an instrument, merged into one class in experiment 1
    cs = get_class_set(1)
    proposal = SimpleNamespace(label=remap(lab, cs), class_set=cs)
    assert edit_label_miou(lambda im: proposal, make_frame(), lab) == pytest.approx(1.0)
    wrong = SimpleNamespace(label=np.zeros_like(lab), class_set=cs)
    assert edit_label_miou(lambda im: wrong, make_frame(), lab) < 0.6
