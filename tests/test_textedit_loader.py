"""Strictly offline loading of a diffusers-layout SD folder, with clear messages for missing / broken ones."""
from __future__ import annotations

import json
import shutil

import pytest

from engine.textedit import SDFolderError, load_sd, missing_parts
from tests.textedit_helpers import _one_torch_thread, tiny_sd_dir  # noqa: F401  (fixtures)


def _copy(src, tmp_path):
    dst = tmp_path / "sd_copy"
    shutil.copytree(src, dst)
    return dst


def test_tiny_folder_loads_through_the_real_path(tiny_sd_dir):
    sd = load_sd(tiny_sd_dir, device="cpu")
    assert sd.unet.config.cross_attention_dim == sd.text_encoder.config.hidden_size == 32
    assert (sd.native_size, sd.vae_scale, sd.size_multiple) == (64, 2, 4)
    emb = sd.encode_prompt("heavy bleeding")
    assert tuple(emb.shape) == (1, 77, 32)
    assert not any(p.requires_grad for p in sd.unet.parameters())
    assert missing_parts(tiny_sd_dir) == []
    # the fingerprint identifies the model: same folder, same id
    assert load_sd(tiny_sd_dir, device="cpu").fingerprint == sd.fingerprint


def test_missing_folder_says_what_is_expected(tmp_path):
    with pytest.raises(SDFolderError) as err:
        load_sd(tmp_path / "nope", device="cpu")
    msg = str(err.value)
    assert "does not exist" in msg
    for part in ("model_index.json", "unet/", "vae/", "text_encoder/", "tokenizer/", "scheduler/"):
        assert part in msg
    assert "downloaded" in msg


def test_empty_folder_lists_every_missing_part(tmp_path):
    with pytest.raises(SDFolderError, match=r"incomplete: missing model_index.json, unet/, vae/, text_encoder/, "
                                            r"tokenizer/, scheduler/"):
        load_sd(tmp_path, device="cpu")


@pytest.mark.parametrize("part", ["unet", "tokenizer", "model_index.json"])
def test_one_missing_part_is_named(tiny_sd_dir, tmp_path, part):
    d = _copy(tiny_sd_dir, tmp_path)
    target = d / part
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    with pytest.raises(SDFolderError, match=rf"missing {part}/?") as err:
        load_sd(d, device="cpu")
    assert str(d) in str(err.value)


def test_missing_weights_and_pickles_are_refused(tiny_sd_dir, tmp_path):
    d = _copy(tiny_sd_dir, tmp_path)
    w = d / "vae" / "diffusion_pytorch_model.safetensors"
    w.rename(w.with_suffix(".bin"))
    with pytest.raises(SDFolderError, match=r"vae/\*\.safetensors"):
        load_sd(d, device="cpu")


def test_broken_weights_give_a_clear_message(tiny_sd_dir, tmp_path):
    d = _copy(tiny_sd_dir, tmp_path)
    w = d / "unet" / "diffusion_pytorch_model.safetensors"
    w.write_bytes(w.read_bytes()[:1000])  # truncated download
    with pytest.raises(SDFolderError, match=r"cannot load unet from .*unet"):
        load_sd(d, device="cpu")


def test_broken_model_index_and_mismatched_parts(tiny_sd_dir, tmp_path):
    d = _copy(tiny_sd_dir, tmp_path)
    (d / "model_index.json").write_text("{not json")
    with pytest.raises(SDFolderError, match="model_index.json is not readable JSON"):
        load_sd(d, device="cpu")
    (d / "model_index.json").write_text("{}")
    cfg = json.loads((d / "unet" / "config.json").read_text())
    cfg["cross_attention_dim"] = 64
    (d / "unet" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(SDFolderError):  # weights no longer fit the config, or the parts disagree
        load_sd(d, device="cpu")


def test_a_file_instead_of_a_folder(tmp_path):
    f = tmp_path / "model.ckpt"
    f.write_bytes(b"x")
    with pytest.raises(SDFolderError, match="is a file, not a Stable Diffusion folder"):
        load_sd(f, device="cpu")


def test_a_snapshot_with_only_fp16_variant_files_loads(tiny_sd_dir, tmp_path):
    d = _copy(tiny_sd_dir, tmp_path)
    w = d / "vae" / "diffusion_pytorch_model.safetensors"
    w.rename(d / "vae" / "diffusion_pytorch_model.fp16.safetensors")
    sd = load_sd(d, device="cpu")
    assert sd.vae.config.latent_channels == 4
