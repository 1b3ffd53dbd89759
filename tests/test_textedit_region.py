"""Region-restricted text edits (issue 28) on a tiny RANDOM Stable Diffusion: pixels outside the region are
byte-identical to the input (pad and tile framing, every method), protected classes are untouched, the known
latents are blended back at every step, an empty selection is refused, provenance records the region, a
sweep gives one pair per α, and label consistency is measured inside the region only."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.jobs import JobContext
from engine.textedit import edit_frame
from engine.textedit.region import make_region, parse_classes
from tests.textedit_helpers import _one_torch_thread, make_frame, make_label, tiny_sd, tiny_sd_dir  # noqa: F401

IRIS = 4  # the disk of make_label


def _outside_equal(result, image) -> bool:
    ed = result.region.editable
    return bool(np.array_equal(result.image[~ed], image[~ed]))


def test_classes_by_id_name_and_group():
    assert parse_classes("4, 0") == (0, 4)
    assert parse_classes("pupil,Iris") == (0, 4)
    assert parse_classes(["I/A handpiece", 6]) == (6, 15)
    assert parse_classes("instruments") == tuple(range(7, 36))
    assert parse_classes(" , ") == ()
    with pytest.raises(ValueError, match="unknown class 'lens'"):
        parse_classes("pupil,lens")
    with pytest.raises(ValueError, match="class ID 36 does not exist"):
        parse_classes("36")


def test_region_feather_goes_out_for_only_and_in_for_keep():
    label = make_label()
    only = make_region(label, "only", [IRIS], margin=3)
    assert only.editable[label == IRIS].all() and (only.soft[label == IRIS] == 1).all()
    ring = only.editable & (label != IRIS)
    assert ring.any() and (only.soft[ring] < 1).all()          # the margin lies outside the class
    keep = make_region(label, "keep", [IRIS], margin=3)
    assert not keep.editable[label == IRIS].any()              # a protected class is never touched
    with pytest.raises(ValueError, match="no class chosen"):
        make_region(label, "only", [], margin=3)
    with pytest.raises(ValueError, match="not in this frame's label"):
        make_region(label, "only", [parse_classes("cornea")[0]], margin=3)


@pytest.mark.parametrize("framing", ["pad", "tile"])
@pytest.mark.parametrize("method", ["sdedit", "invert"])
def test_outside_the_region_is_byte_identical(tiny_sd, method, framing):
    image, label = make_frame(), make_label()
    (r,) = edit_frame(tiny_sd, image, "heavy bleeding", method, steps=3, label=label, region="only",
                      region_classes="iris", framing=framing, resolution=(64, 64) if framing == "tile" else None)
    assert r.settings["tiles"] == (2 if framing == "tile" else 1)
    assert _outside_equal(r, image)
    assert r.scores["changed_outside"] == 0.0 and r.scores["changed_inside"] > 0.5
    # the region is the iris plus its margin: everything far from the disk is the input's own bytes
    far = ~make_region(label, "only", [IRIS], margin=r.region.margin + 1).editable
    assert np.array_equal(r.image[far], image[far])


def test_keep_classes_leaves_them_exactly_and_edits_the_rest(tiny_sd):
    image, label = make_frame(), make_label()
    (r,) = edit_frame(tiny_sd, image, "more blood in the sclera", "sdedit", steps=3, label=label, region="keep",
                      region_classes=[IRIS])
    assert np.array_equal(r.image[label == IRIS], image[label == IRIS])
    assert np.any(r.image[label == 0] != image[label == 0])
    assert r.settings["region"]["mode"] == "keep" and r.settings["region"]["classes"] == [IRIS]


def test_known_latents_are_blended_back_at_every_step(tiny_sd):
    from engine.textedit.diffusion import encode
    from engine.textedit.sdedit import sdedit

    canvas = make_frame(64, 36)
    lat0 = encode(tiny_sd, canvas)
    cond, uncond = tiny_sd.encode_prompt("bleeding"), tiny_sd.encode_prompt("")
    cells = np.zeros(lat0.shape[-2:], bool)
    cells[:, : cells.shape[1] // 2] = True
    kw = dict(strength=0.8, steps=4, guidance=3.0, seed=1, ctx=JobContext())
    blended = sdedit(tiny_sd, lat0, cond, uncond, cell_mask=cells, **kw)
    free = sdedit(tiny_sd, lat0, cond, uncond, **kw)
    keep = torch.from_numpy(~cells)
    assert torch.equal(blended[..., keep], lat0[..., keep])          # the known part ends as the frame's latents
    edit = torch.from_numpy(cells)
    # the edited part was denoised next to the frame's own (noised) latents, so it differs from a free run
    assert not torch.allclose(blended[..., edit], free[..., edit])


def test_empty_or_missing_selection_is_refused_in_one_line(tiny_sd):
    image, label = make_frame(), make_label()
    with pytest.raises(ValueError, match=r"^no class chosen: pick at least one class to edit \(--only-classes\)$"):
        edit_frame(tiny_sd, image, "x", "sdedit", steps=2, label=label, region="only", region_classes="")
    with pytest.raises(ValueError, match="needs the frame's label"):
        edit_frame(tiny_sd, image, "x", "sdedit", steps=2, region="only", region_classes="iris")
    with pytest.raises(ValueError, match="cannot be combined"):
        edit_frame(tiny_sd, image, "x", "sdedit", steps=2, label=label, region="keep", region_classes="iris",
                   auto_region=True)


def test_sweep_gives_one_pair_per_alpha_with_the_region_in_provenance(tiny_sd, phantom_root, tmp_path):
    from engine.project import Project
    from engine.textedit.outputs import project_cache_dir, store_pair

    with Project.open_or_create(phantom_root, project_dir=tmp_path / "proj") as project:
        key = project.dataset.frames[0].key
        image, label = project.load_image(key), project.load_label(key)
        kw = dict(alphas=[0.8, 1.4], interp="slerp", opt_steps=1, tune_steps=1, steps=2, label=label,
                  region="only", region_classes="pupil", cache_dir=project_cache_dir(project), seed=3)
        results = edit_frame(tiny_sd, image, "a red pupil", "imagic", **kw)
        again = edit_frame(tiny_sd, image, "a red pupil", "imagic", **{**kw, "alphas": [2.0]})
        ids = [store_pair(project, key, label, r) for r in results]
        recs = [project.pair(i) for i in ids]
        stored_image, stored_label = project.load_pair(ids[1])
    assert [r.alpha for r in results] == [0.8, 1.4] and len(set(ids)) == 2
    assert again[0].settings["cache"] == "hit"                      # the region does not spoil the cache
    for r in results + again:
        assert r.image.shape == image.shape and _outside_equal(r, image)
    np.testing.assert_array_equal(stored_label, label)
    np.testing.assert_array_equal(stored_image, results[1].image)
    prov = recs[1].provenance
    assert prov["region"]["mode"] == "only" and prov["region"]["classes"] == [0]
    assert prov["region"]["class_names"] == ["Pupil"] and prov["region"]["margin_px"] == results[1].region.margin
    assert prov["alpha"] == 1.4 and prov["seed"] == 3 and prov["method"] == "imagic"
    assert prov["prompt"] == "a red pupil" and prov["settings"]["interp"] == "slerp"
    assert prov["scores"]["changed_outside"] == 0.0


def test_label_consistency_is_measured_inside_the_region_only(tiny_sd):
    image, label = make_frame(), make_label()

    def preseg(img):  # right on the iris, wrong (all iris) everywhere else
        return np.full(label.shape, IRIS, np.uint8)

    (r,) = edit_frame(tiny_sd, image, "x", "sdedit", steps=2, label=label, presegment=preseg, region="only",
                      region_classes=[IRIS], region_margin=0)
    assert r.region_label_miou == pytest.approx(1.0)
    assert r.label_miou < 0.6                                       # the whole frame would call it poor
    from engine.provenance import text_edit_provenance

    prov = text_edit_provenance(r, "Video1/frame", "x")
    assert prov["scores"]["consistency"] == pytest.approx(1.0)
    from desktop.panels.curation.pair_model import pair_scores

    assert pair_scores(prov)["consistency"] == pytest.approx(1.0)  # what the gallery's filter reads


def test_auto_region_proposes_classes_from_the_prompt(tiny_sd):
    from engine.textedit.auto_region import propose_region
    from engine.textedit.framing import plan_for_model

    image, label = make_frame(), make_label()
    plan = plan_for_model((96, 54), None, "pad", tiny_sd.native_size, tiny_sd.size_multiple)
    prop = propose_region(tiny_sd, image, label, "heavy bleeding", plan)
    assert prop.heat.shape == label.shape and 0.0 <= prop.heat.min() and prop.heat.max() <= 1.0
    assert prop.mask.any() and set(prop.shares) == {0, IRIS}
    assert all(prop.shares[c] >= 0.5 for c in prop.classes)
    assert prop.classes == tuple(c for c in (0, IRIS) if prop.shares[c] >= 0.5)
    assert prop.classes  # the tiny model is built from a fixed seed: its proposal is fixed too
    (r,) = edit_frame(tiny_sd, image, "heavy bleeding", "sdedit", steps=2, label=label, region="only",
                      auto_region=True)
    assert r.settings["region"]["auto"]["proposed"] == list(prop.classes)
    assert r.settings["region"]["classes"] == list(prop.classes) and _outside_equal(r, image)


def test_region_edit_with_a_save_pretrained_tokenizer(tmp_path):
    from engine.textedit import build_tiny_sd, load_sd

    sd = load_sd(build_tiny_sd(tmp_path / "saved", form="save_pretrained"), device="cpu")
    image, label = make_frame(), make_label()
    (r,) = edit_frame(sd, image, "dim light", "sdedit", steps=2, label=label, region="only", region_classes="iris")
    assert _outside_equal(r, image) and r.scores["changed_inside"] > 0


def test_latent_blend_keeps_half_precision():
    """CUDA half precision: the blend works in the latents' dtype (checked on the CPU; no GPU here)."""
    from engine.textedit.blend import LatentBlend, latent_mask
    from engine.textedit.diffusion import make_ddim

    class _SD:  # make_ddim reads only these
        scheduler_config = {"num_train_timesteps": 1000, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
                            "beta_end": 0.012}
        device = torch.device("cpu")

    sched = make_ddim(_SD(), 10)
    lat0 = torch.randn(1, 4, 6, 8).half()
    canvas = np.zeros((48, 64), bool)
    canvas[:20, :30] = True
    mask = latent_mask(canvas, (6, 8))           # 8-pixel cells: any editable pixel makes the cell editable
    assert mask[:3, :4].all() and not mask[3:].any() and not mask[:, 4:].any()
    blend = LatentBlend(sched, lat0, mask, seed=0)
    out = blend(torch.zeros_like(lat0), sched.timesteps[3])
    assert out.dtype == torch.float16
    known, edit = torch.from_numpy(~mask), torch.from_numpy(mask)
    assert torch.equal(blend(torch.zeros_like(lat0), None)[..., known], lat0[..., known])
    assert torch.all(out[..., edit] == 0) and not torch.equal(out[..., known], lat0[..., known])
