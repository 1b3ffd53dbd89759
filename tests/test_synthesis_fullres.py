"""Full-resolution synthesis: diffusers round-trips, pipeline folders, old folders, repaint keeps the rest."""
import json
import warnings

import numpy as np
import pytest
import torch

from engine.cli import main
from engine.imageio import read_image, read_label, write_image, write_label
from engine.models import MaskUpsampler2DModel, ModelFolderError, save_synthesis_model
from engine.pipelines import SynthesisPipeline
from tests.synthesis_helpers import TINY_SIZE, tiny_model, two_masks


def tiny_upsampler(seed=0):
    torch.manual_seed(seed)
    up = MaskUpsampler2DModel(num_classes=8, class_set="1", block_out_channels=(8, 16), low_res_size=TINY_SIZE)
    with torch.no_grad():  # conv_out starts at zero (identity); give it weights so round-trips are meaningful
        up.conv_out.weight.normal_(0, 0.05)
    return up.eval()


@pytest.fixture(scope="module")
def pipe():
    return SynthesisPipeline(tiny_model("1", seed=3), None, tiny_upsampler())


@pytest.fixture(scope="module")
def folder(pipe, tmp_path_factory):
    return pipe.save_pretrained(tmp_path_factory.mktemp("pipe") / "p")


def edited_pair(h=54, w=96):
    parent = two_masks(h, w)[0]
    edited = parent.copy()
    edited[10:20, 50:80] = 7  # paint an instrument
    real = np.random.default_rng(1).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return parent, edited, real


@pytest.mark.parametrize("make", [lambda: tiny_model("1", seed=4), tiny_upsampler])
def test_each_network_round_trips_through_save_pretrained(make, tmp_path):
    model = make()
    model.save_pretrained(tmp_path / "m", safe_serialization=True)
    assert (tmp_path / "m" / "diffusion_pytorch_model.safetensors").exists()
    back = type(model).from_pretrained(tmp_path / "m", use_safetensors=True).eval()
    def plain(cfg):
        return {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in cfg.items() if not k.startswith("_")}

    assert plain(back.config) == plain(model.config)
    for (k, a), (_, b) in zip(model.state_dict().items(), back.state_dict().items()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=k)


def test_upsampler_runs_fully_convolutionally_and_starts_as_identity():
    up = MaskUpsampler2DModel(num_classes=8, class_set="1", block_out_channels=(8, 16, 16))
    x = torch.rand(1, 3, 40, 72) * 2 - 1
    seg = torch.zeros(1, 8, 40, 72)
    torch.testing.assert_close(up(x, seg), x)  # zero-initialised output conv: input passes through
    with pytest.raises(ValueError, match="divide by 4"):
        up(torch.zeros(1, 3, 42, 72), torch.zeros(1, 8, 42, 72))


def test_frames_come_out_at_the_mask_size_with_the_label_unchanged(pipe):
    for h, w in ((54, 96), (37, 61)):  # any size, also not a multiple of the upsampler's 2
        mask = two_masks(h, w)[1]
        res = pipe(mask, num_inference_steps=2, seed=0)
        assert res.images[0].shape == (h, w, 3)
        np.testing.assert_array_equal(res.mask, mask)
        assert res.settings["resolution"] == f"{w}x{h}" and res.settings["upsampler"] is True


def test_standard_argument_names_and_output_types(pipe):
    mask = two_masks()[0]
    a = pipe(mask, num_inference_steps=2, guidance_scale=1.5, generator=torch.Generator().manual_seed(5)).images[0]
    b = pipe(mask, num_inference_steps=2, guidance_scale=1.5, generator=torch.Generator().manual_seed(5)).images[0]
    np.testing.assert_array_equal(a, b)
    pil = pipe(mask, num_inference_steps=2, output_type="pil", seed=1).images[0]
    pt = pipe(mask, num_inference_steps=2, output_type="pt", seed=1, num_images_per_prompt=2).images
    assert pil.size == (96, 54) and len(pt) == 2 and pt[0].shape == (3, 54, 96) and float(pt[0].max()) <= 1.0
    with pytest.raises(ValueError, match="output_type"):
        pipe(mask, num_inference_steps=2, output_type="latent")


def test_pipeline_folder_has_the_diffusers_layout_and_loads(pipe, folder):
    idx = json.loads((folder / "model_index.json").read_text())
    assert idx["_class_name"] == "SynthesisPipeline"
    assert idx["unet"] == ["engine.models.spade_unet", "SpadeUNet2DModel"]
    assert idx["upsampler"] == ["engine.models.mask_upsampler", "MaskUpsampler2DModel"]
    assert (folder / "scheduler" / "scheduler_config.json").exists()
    back = SynthesisPipeline.from_pretrained(folder, device="cpu")
    mask = two_masks()[0]
    np.testing.assert_array_equal(back(mask, num_inference_steps=2, seed=2).images[0],
                                  pipe(mask, num_inference_steps=2, seed=2).images[0])
    assert back.fingerprint == json.loads((folder / "model_card.json").read_text())["weights_sha256"][:16]
    # diffusers' own generic loader reads the same folder (standard layout, nothing custom)
    generic = super(SynthesisPipeline, SynthesisPipeline).from_pretrained(folder)
    assert isinstance(generic.upsampler, MaskUpsampler2DModel)


def test_a_model_index_naming_another_class_is_refused(folder, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    idx = json.loads((bad / "model_index.json").read_text())
    idx["upsampler"] = ["os", "system"]
    (bad / "model_index.json").write_text(json.dumps(idx))
    with pytest.raises(ModelFolderError, match="refusing to import"):
        SynthesisPipeline.from_pretrained(bad, device="cpu")


def test_pickle_weights_in_a_component_are_refused(folder, tmp_path):
    import shutil

    bad = tmp_path / "pickled"
    shutil.copytree(folder, bad)
    w = bad / "upsampler" / "diffusion_pytorch_model.safetensors"
    w.write_bytes(b"\x80\x04" + b"\x00" * 64)
    with pytest.raises(ModelFolderError, match="pickle"):
        SynthesisPipeline.from_pretrained(bad, device="cpu")


def test_old_single_unet_folder_loads_with_a_convert_note_and_converts(tmp_path, folder):
    old = save_synthesis_model(tiny_model("1", seed=6), tmp_path / "old")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pipe = SynthesisPipeline.from_pretrained(old, device="cpu")
    assert any("cadis convert-model" in str(w.message) for w in caught)
    assert pipe.upsampler is None and pipe(two_masks()[0], num_inference_steps=2).images[0].shape == (54, 96, 3)
    rc = main(["convert-model", str(old), str(tmp_path / "new"), "--upsampler", str(folder)])
    assert rc == 0
    new = SynthesisPipeline.from_pretrained(tmp_path / "new", device="cpu")
    assert new.upsampler is not None
    for a, b in zip(pipe.unet.state_dict().values(), new.unet.state_dict().values()):
        torch.testing.assert_close(a, b.float(), atol=1e-3, rtol=1e-3)  # fp16 storage
    assert main(["convert-model", str(old), str(tmp_path / "new")]) == 2  # never over a non-empty folder


def test_repaint_keeps_every_pixel_outside_the_region_identical(pipe):
    parent, edited, real = edited_pair()
    for margin in (0, 5):
        res = pipe(edited, image=real, parent_mask=parent, margin=margin, num_inference_steps=3, seed=1)
        out = res.images[0]
        assert res.changed.sum() == (parent != edited).sum()
        np.testing.assert_array_equal(out[~res.region], real[~res.region])
        assert (out[res.changed] != real[res.changed]).any()  # the change itself is new content
        assert res.settings["mode"] == "repaint" and res.settings["sampler"] == "ddim"
    grown = pipe(edited, image=real, parent_mask=parent, margin=5, num_inference_steps=2).region
    assert grown.sum() > res.changed.sum()


def test_repaint_with_nothing_changed_returns_the_real_frame(pipe):
    parent, _, real = edited_pair()
    out = pipe(parent, image=real, parent_mask=parent, num_inference_steps=2).images[0]
    np.testing.assert_array_equal(out, real)


def test_repaint_input_errors(pipe):
    parent, edited, real = edited_pair()
    with pytest.raises(ValueError, match="parent_mask"):
        pipe(edited, image=real, num_inference_steps=2)
    with pytest.raises(ValueError, match="frame is 96x20 but the mask 96x54"):
        pipe(edited, image=real[:20], parent_mask=parent, num_inference_steps=2)


def test_repaint_provenance_round_trips_the_region(pipe):
    from engine.pipelines import repaint_provenance
    from engine.pipelines.repaint import decode_region

    parent, edited, real = edited_pair()
    res = pipe(edited, image=real, parent_mask=parent, margin=3, num_inference_steps=2, seed=9)
    prov = repaint_provenance(res, "Video01/frame1")
    json.dumps(prov)
    np.testing.assert_array_equal(decode_region(prov["changed_region"]), res.changed)
    assert prov["seed"] == 9 and prov["parent_frame"] == "Video01/frame1"


def test_cli_repaint_finds_the_cadis_label_and_never_overwrites_inputs(folder, tmp_path):
    parent, edited, real = edited_pair()
    ds = tmp_path / "dataset"  # a CaDIS dataset: outputs go beside it, never into it
    img = write_image(ds / "Video01" / "Images" / "f.png", real)
    write_label(ds / "Video01" / "Labels" / "f.png", parent)
    edited_png = write_label(tmp_path / "edited.png", edited)
    out = tmp_path / "out.png"
    rc = main(["synth", "--model", str(folder), "--mask", str(edited_png), "--image", str(img), "--repaint",
               "--margin", "4", "--steps", "2", "--out", str(out), "--quiet"])
    assert rc == 0
    got, region = read_image(out), read_label(tmp_path / "out.region.png") > 0
    np.testing.assert_array_equal(got[~region], real[~region])
    np.testing.assert_array_equal(read_label(tmp_path / "out.mask.png"), edited)
    assert main(["synth", "--model", str(folder), "--mask", str(edited_png), "--image", str(img), "--repaint",
                 "--out", str(img), "--quiet"]) == 2
    assert main(["synth", "--model", str(folder), "--mask", str(edited_png), "--image", str(img), "--repaint",
                 "--out", str(ds / "new.png"), "--quiet"]) == 2  # never into the dataset
    assert main(["synth", "--model", str(folder), "--mask", str(edited_png), "--margin", "3",
                 "--out", str(tmp_path / "x.png"), "--quiet"]) == 2  # --margin without --repaint


def test_upsampler_training_writes_a_loadable_folder_and_resumes_exactly(tmp_path):
    from safetensors.torch import load_file

    from engine.jobs import JobCancelled, JobContext
    from engine.pipelines.folder import load_upsampler
    from engine.training.checkpoint import CheckpointError, latest_checkpoint, read_checkpoint_state
    from engine.training.train_upsampler import STATE_NAME, UpsamplerTrainConfig, train_upsampler

    rng = np.random.default_rng(0)
    pairs = [(rng.integers(0, 256, (40, 72, 3), dtype=np.uint8), two_masks(40, 72)[k % 2]) for k in range(3)]
    cfg = UpsamplerTrainConfig(low_res=TINY_SIZE, class_set="1", block_out_channels=(8, 16), crop=32, batch_size=2,
                               max_steps=5, save_every=2, warmup_steps=1, log_every=1, device="cpu")
    straight = train_upsampler(pairs, tmp_path / "straight", cfg)
    assert (straight.start_step, straight.step) == (0, 5) and np.isfinite(straight.last_loss)

    steps = []                                    # the same run, cancelled after step 3 ...
    ctx = JobContext(progress=lambda f, m: steps.append(m), cancelled=lambda: len(steps) >= 3)
    with pytest.raises(JobCancelled, match="--resume"):
        train_upsampler(pairs, tmp_path / "up", cfg, ctx=ctx)
    ck = latest_checkpoint(tmp_path / "up" / "training")
    assert ck.name == "checkpoint-000003" and read_checkpoint_state(ck)["step"] == 3
    assert all(p.suffix in (".safetensors", ".json") for p in ck.iterdir())
    first = load_upsampler(tmp_path / "up")       # the cancel left a usable folder too
    res2 = train_upsampler(pairs, tmp_path / "up", cfg, resume=True)   # ... and resumed
    assert (res2.start_step, res2.step) == (3, 5)
    second = load_upsampler(tmp_path / "up")
    assert any(not torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))
    resumed, uncut = (load_file(str(d / "diffusion_pytorch_model.safetensors")) for d in (tmp_path / "up",
                                                                                          tmp_path / "straight"))
    for k in uncut:                               # continues exactly where it stopped
        assert torch.allclose(resumed[k], uncut[k], atol=1e-6), k
    log = [json.loads(x) for x in (tmp_path / "up" / "training" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5] and log[-1]["lr"] == pytest.approx(0.0)  # cosine to 0 at 5
    assert json.loads((tmp_path / "up" / STATE_NAME).read_text())["step"] == 5

    (tmp_path / "old").mkdir()                    # a folder of the version that kept no checkpoint
    (tmp_path / "old" / STATE_NAME).write_text('{"step": 9}')
    with pytest.raises(CheckpointError, match="older version"):
        train_upsampler(pairs, tmp_path / "old", cfg, resume=True)
    pipe = SynthesisPipeline(tiny_model("1"), None, second)
    assert pipe(two_masks(40, 72)[0], num_inference_steps=2).images[0].shape == (40, 72, 3)
