"""Both forms real Stable Diffusion folders come in load, and the fp16 variant: tiny folders built the way
each is made (a Hub snapshot's vocab.json + merges.txt; `StableDiffusionPipeline.save_pretrained` with
transformers 5, which writes tokenizer/tokenizer.json and no vocab/merges; `save_pretrained(variant="fp16")`)."""
from __future__ import annotations

import shutil

import pytest
import torch

from engine.textedit import SDFolderError, build_tiny_sd, load_sd, missing_parts
from engine.textedit.sd_loader import tokenizer_form
from tests.textedit_helpers import _one_torch_thread  # noqa: F401  (fixture)

PROMPT = "the iris behind a phaco handpiece"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("sd_forms")
    return {"snapshot": build_tiny_sd(root / "snapshot"),
            "save_pretrained": build_tiny_sd(root / "saved", form="save_pretrained"),
            "fp16": build_tiny_sd(root / "fp16", form="save_pretrained", variant="fp16")}


def test_the_two_tokenizer_forms_are_what_each_tool_writes(folders):
    snap, saved = folders["snapshot"] / "tokenizer", folders["save_pretrained"] / "tokenizer"
    assert (snap / "vocab.json").is_file() and (snap / "merges.txt").is_file()
    assert (saved / "tokenizer.json").is_file() and not (saved / "vocab.json").exists()
    assert not (saved / "merges.txt").exists()
    assert (tokenizer_form(snap), tokenizer_form(saved)) == ("vocab+merges", "tokenizer.json")
    assert sorted(p.name for p in (folders["fp16"] / "unet").glob("*.safetensors")) == [
        "diffusion_pytorch_model.fp16.safetensors"]


def test_a_save_pretrained_folder_loads_and_encodes_like_the_snapshot(folders):
    assert missing_parts(folders["save_pretrained"]) == []
    a, b = load_sd(folders["snapshot"], device="cpu"), load_sd(folders["save_pretrained"], device="cpu")
    assert a.tokenizer(PROMPT).input_ids == b.tokenizer(PROMPT).input_ids
    assert torch.equal(a.encode_prompt(PROMPT), b.encode_prompt(PROMPT))   # same seed: same model, same text


def test_an_fp16_variant_folder_loads_on_the_cpu_in_fp32(folders):
    full, half = load_sd(folders["save_pretrained"], device="cpu"), load_sd(folders["fp16"], device="cpu")
    assert half.unet.dtype == torch.float32 and half.text_encoder.dtype == torch.float32
    ea, eb = full.encode_prompt(PROMPT), half.encode_prompt(PROMPT)
    assert not torch.equal(ea, eb) and torch.allclose(ea, eb, atol=5e-2)  # rounded to fp16, then upcast
    latents = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ua = full.unet(latents, 10, encoder_hidden_states=ea).sample
        ub = half.unet(latents, 10, encoder_hidden_states=eb).sample
    assert torch.allclose(ua, ub, atol=5e-2)


def test_a_tokenizer_folder_with_neither_form_names_both(folders, tmp_path):
    d = tmp_path / "sd"
    shutil.copytree(folders["save_pretrained"], d)
    (d / "tokenizer" / "tokenizer.json").unlink()
    with pytest.raises(SDFolderError, match=r"vocab.json \+ tokenizer/merges.txt \(or tokenizer/tokenizer.json\)"):
        load_sd(d, device="cpu")
