"""A TINY, RANDOMLY INITIALISED Stable Diffusion folder built from configs (for tests and demos only).

`build_tiny_sd(folder)` writes a complete diffusers-layout Stable Diffusion 1.x folder (model_index.json,
unet/, vae/, text_encoder/, tokenizer/, scheduler/) whose weights are random: it produces noise-like
images, never meaningful edits. It exists so that the real loading and editing code paths can run offline
in seconds on a CPU. Nothing is downloaded. The tokenizer is a hand-written byte-level BPE vocabulary.
Both forms real folders come in can be written (`form`), and the fp16 variant.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
# A few merges so the BPE is not trivial; every merge names tokens in the vocabulary.
_MERGES = [("t", "h"), ("th", "e</w>"), ("e", "r</w>"), ("i", "n"), ("b", "l")]


def _byte_chars() -> list[str]:
    """The 256 printable stand-ins for bytes used by byte-level BPE (GPT-2 / CLIP convention)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = [], 0
    for b in range(256):
        if b in keep:
            chars.append(chr(b))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def write_tokenizer(folder: str | os.PathLike) -> Path:
    """Write vocab.json, merges.txt and the tokenizer configs of a byte-level CLIP tokenizer."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chars = _byte_chars()
    tokens = chars + [c + "</w>" for c in chars]
    tokens += ["".join(m).replace("</w></w>", "</w>") for m in _MERGES]
    tokens += [BOS, EOS]
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys(tokens))}
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    merges = "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in _MERGES)
    (folder / "merges.txt").write_text(merges, encoding="utf-8")
    cfg = {"model_max_length": 77, "bos_token": BOS, "eos_token": EOS, "unk_token": EOS, "pad_token": EOS,
           "tokenizer_class": "CLIPTokenizer"}
    (folder / "tokenizer_config.json").write_text(json.dumps(cfg), encoding="utf-8")
    (folder / "special_tokens_map.json").write_text(
        json.dumps({"bos_token": BOS, "eos_token": EOS, "unk_token": EOS, "pad_token": EOS}), encoding="utf-8")
    return folder


def _tiny_components(tokenizer, seed: int):
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=2, sample_size=32, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32, norm_num_groups=32,
    )
    vae = AutoencoderKL(
        block_out_channels=[32, 64], in_channels=3, out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"], latent_channels=4, sample_size=64,
        norm_num_groups=32,
    )
    text_cfg = CLIPTextConfig(
        hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=5,
        vocab_size=1000, max_position_embeddings=77, layer_norm_eps=1e-5,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    text_encoder = CLIPTextModel(text_cfg)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    return dict(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler)


def build_tiny_sd(folder: str | os.PathLike, seed: int = 0, form: str = "snapshot",
                  variant: str | None = None) -> Path:
    """Write a random tiny SD 1.x folder (about 1M parameters, 64x64 pixels natively) and return it.

    `form` is how real folders are made: "snapshot" is the layout of a Hub snapshot of SD 1.x/2.x (the
    tokenizer as vocab.json + merges.txt, each part saved on its own); "save_pretrained" is what
    `StableDiffusionPipeline.save_pretrained` writes with current transformers (tokenizer/tokenizer.json +
    tokenizer_config.json, no vocab.json/merges.txt). `variant="fp16"` (save_pretrained form) stores fp16
    weights as `*.fp16.safetensors`, as `save_pretrained(variant="fp16")` does."""
    import tempfile

    import torch
    from transformers import CLIPTokenizer

    if form not in ("snapshot", "save_pretrained"):
        raise ValueError(f"form {form!r}: use snapshot or save_pretrained")
    if variant not in (None, "fp16") or (variant and form != "save_pretrained"):
        raise ValueError("variant='fp16' goes with form='save_pretrained'")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if form == "save_pretrained":
        from diffusers import StableDiffusionPipeline

        with tempfile.TemporaryDirectory() as tmp:
            tokenizer = CLIPTokenizer.from_pretrained(write_tokenizer(Path(tmp) / "tok"), local_files_only=True)
        pipe = StableDiffusionPipeline(**_tiny_components(tokenizer, seed), safety_checker=None,
                                       feature_extractor=None, requires_safety_checker=False)
        if variant == "fp16":
            for part in (pipe.unet, pipe.vae, pipe.text_encoder):
                part.to(torch.float16)
        pipe.save_pretrained(folder, variant=variant)
        return folder
    tok_dir = write_tokenizer(folder / "tokenizer")
    parts = _tiny_components(CLIPTokenizer.from_pretrained(tok_dir, local_files_only=True), seed)
    for name in ("unet", "vae", "text_encoder", "scheduler"):
        parts[name].save_pretrained(folder / name)
    index = {
        "_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.42.1",
        "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
        "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
        "scheduler": ["diffusers", "DDIMScheduler"], "safety_checker": [None, None],
        "feature_extractor": [None, None],
    }
    (folder / "model_index.json").write_text(json.dumps(index, indent=2), encoding="utf-8")
    return folder
