"""Strictly offline loading of a Stable Diffusion 1.x / 2.x folder in the diffusers layout.

The folder is the one `StableDiffusionPipeline.save_pretrained` writes (or a Hugging Face snapshot of
`runwayml/stable-diffusion-v1-5`, `stabilityai/stable-diffusion-2-1-base`, ...):

    model_index.json  unet/  vae/  text_encoder/  tokenizer/  scheduler/

The tokenizer may be in either form real folders come in: `vocab.json` + `merges.txt` (Hub snapshots of
SD 1.x/2.x) or `tokenizer.json` + `tokenizer_config.json` (what `save_pretrained` writes with transformers
5). Weights may be the `fp16` variant (`*.fp16.safetensors`, loaded and upcast to the asked dtype).
Every component is read with `local_files_only=True`; nothing is ever downloaded. A missing or broken
folder raises `SDFolderError` with a message that names what is missing and what is expected.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from engine.models.folders import ModelFolderError

EXPECTED = ("model_index.json", "unet/", "vae/", "text_encoder/", "tokenizer/", "scheduler/")
_LAYOUT_HINT = (
    "Expected a Stable Diffusion 1.x/2.x folder in the diffusers layout holding model_index.json, unet/, vae/, "
    "text_encoder/, tokenizer/ and scheduler/ (what StableDiffusionPipeline.save_pretrained writes, e.g. a local "
    "copy of stable-diffusion-v1-5). Nothing is downloaded: point --sd (or Preferences > Stable Diffusion "
    "folder) at a folder already on this computer."
)


class SDFolderError(ModelFolderError):
    """The Stable Diffusion folder is missing, incomplete or unreadable; the message says what to fix."""


@dataclass
class LoadedSD:
    """The building blocks of a Stable Diffusion model, loaded and put on one device (eval mode)."""

    folder: Path
    unet: Any
    vae: Any
    text_encoder: Any
    tokenizer: Any
    scheduler_config: dict
    device: Any
    dtype: Any
    fingerprint: str
    _prompt_cache: dict = field(default_factory=dict, repr=False)

    @property
    def vae_scale(self) -> int:
        """Pixels per latent cell (8 for real SD)."""
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def size_multiple(self) -> int:
        """Image sides must be multiples of this (the VAE and the UNet down-sampling together)."""
        return self.vae_scale * 2 ** (len(self.unet.config.block_out_channels) - 1)

    @property
    def native_size(self) -> int:
        """The side in pixels the model was trained at (512 for SD 1.5, 768 for SD 2.x v-models)."""
        return int(self.unet.config.sample_size) * self.vae_scale

    @property
    def latent_scale(self) -> float:
        return float(getattr(self.vae.config, "scaling_factor", 0.18215))

    @property
    def prediction_type(self) -> str:
        return str(self.scheduler_config.get("prediction_type", "epsilon"))

    def encode_prompt(self, text: str):
        """The text encoder's last hidden state for `text`: a (1, 77, D) tensor on the model's device.

        Results are cached per text (the encoder is frozen).
        """
        import torch

        if text not in self._prompt_cache:
            ids = self.tokenizer(text, padding="max_length", max_length=self.tokenizer.model_max_length,
                                 truncation=True, return_tensors="pt").input_ids.to(self.device)
            with torch.no_grad():
                emb = self.text_encoder(ids)[0]
            self._prompt_cache[text] = emb.to(self.dtype)
        return self._prompt_cache[text]


def tokenizer_form(tok: Path) -> Optional[str]:
    """How a tokenizer folder is stored: "vocab+merges" (Hub snapshots of SD 1.x/2.x), "tokenizer.json" (what
    `save_pretrained` writes with transformers 5), or None when it holds neither. CLIPTokenizer loads both."""
    if (tok / "vocab.json").is_file() and (tok / "merges.txt").is_file():
        return "vocab+merges"
    if (tok / "tokenizer.json").is_file():
        return "tokenizer.json"
    return None


def missing_parts(folder: str | os.PathLike) -> list[str]:
    """What of the expected diffusers layout is absent from `folder` (empty when complete)."""
    folder = Path(folder)
    missing = []
    for part in EXPECTED:
        p = folder / part.rstrip("/")
        if part.endswith("/"):
            if not p.is_dir():
                missing.append(part)
            elif not any(p.iterdir()):
                missing.append(f"{part} (empty)")
        elif not p.is_file():
            missing.append(part)
    for sub in ("unet", "vae", "text_encoder"):
        p = folder / sub
        if p.is_dir() and any(p.iterdir()):
            if not (p / "config.json").is_file():
                missing.append(f"{sub}/config.json")
            if not any(p.glob("*.safetensors")) and not any(p.glob("*.safetensors.index*.json")):
                missing.append(f"{sub}/*.safetensors (weights; .bin/.ckpt pickles are not loaded)")
    tok = folder / "tokenizer"
    if tok.is_dir() and any(tok.iterdir()) and tokenizer_form(tok) is None:
        missing.append("tokenizer/vocab.json + tokenizer/merges.txt (or tokenizer/tokenizer.json)")
    sched = folder / "scheduler"
    if sched.is_dir() and any(sched.iterdir()) and not (sched / "scheduler_config.json").is_file():
        missing.append("scheduler/scheduler_config.json")
    return missing


def check_sd_folder(folder: str | os.PathLike | None) -> Path:
    """Return the folder as a Path, or raise SDFolderError saying what is missing."""
    if folder is None or str(folder).strip() == "":
        raise SDFolderError("no Stable Diffusion folder given. " + _LAYOUT_HINT)
    path = Path(folder).expanduser()
    if not path.exists():
        raise SDFolderError(f"Stable Diffusion folder {path} does not exist. " + _LAYOUT_HINT)
    if not path.is_dir():
        raise SDFolderError(f"{path} is a file, not a Stable Diffusion folder. " + _LAYOUT_HINT)
    missing = missing_parts(path)
    if missing:
        raise SDFolderError(f"Stable Diffusion folder {path} is incomplete: missing {', '.join(missing)}. "
                            + _LAYOUT_HINT)
    return path


def fingerprint_sd(folder: Path) -> str:
    """A short id of the model: hash of its configs and the sizes of its weight files (cheap, no weight read)."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.name.startswith("."):
            continue
        rel = p.relative_to(folder).as_posix()
        if p.suffix == ".json" or p.name == "merges.txt":
            h.update(rel.encode() + b"\0" + _read(p, _limit(p)))
        elif p.suffix == ".safetensors":
            h.update(f"{rel}\0{p.stat().st_size}".encode())
    return h.hexdigest()[:16]


# what a real SD 1.x/2.x folder holds: configs of a few kB, a CLIP vocabulary of 49,408 tokens (~1 MB as
# vocab.json, ~2 MB as tokenizer.json, ~0.5 MB of merges)
MAX_CONFIG_BYTES = 1 << 20
MAX_TOKENIZER_BYTES = 16 << 20
MAX_VOCAB_TOKENS = 1 << 20


def _limit(p: Path) -> int:
    return MAX_TOKENIZER_BYTES if p.name in ("vocab.json", "tokenizer.json", "merges.txt") else MAX_CONFIG_BYTES


def _read(p: Path, max_bytes: int) -> bytes:
    from engine.files import UnreadableFileError, read_bytes

    try:
        return read_bytes(p, max_bytes, "file")
    except UnreadableFileError as exc:
        raise SDFolderError(f"{exc}. " + _LAYOUT_HINT) from None


def _json(p: Path, what: str) -> Any:
    from engine.files import UnreadableFileError, read_json

    try:
        return read_json(p, _limit(p), what, expect=dict)
    except UnreadableFileError as exc:
        raise SDFolderError(f"{p.name} is not readable JSON ({exc}). " + _LAYOUT_HINT) from None


def check_sd_files(path: Path) -> dict:
    """Read every config of the folder through the bounded reader before any library opens it: regular files
    of bounded size and nesting, a tokenizer whose vocabulary fits the text encoder, weights whose tensors are
    floats. Returns model_index.json."""
    from engine.models.config_checks import check_scheduler_config, check_float_weights

    model_index = _json(path / "model_index.json", "model index")
    for sub in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        for p in sorted((path / sub).glob("*.json")):
            _json(p, f"{sub} {p.name}")
    tok = path / "tokenizer"
    n_vocab = len(_json(tok / "vocab.json", "tokenizer vocabulary")) if (tok / "vocab.json").is_file() else 0
    if (tok / "tokenizer.json").is_file():
        model = _json(tok / "tokenizer.json", "tokenizer").get("model")
        vocab = model.get("vocab") if isinstance(model, dict) else None
        n_vocab = max(n_vocab, len(vocab) if isinstance(vocab, (dict, list)) else 0)
    if (tok / "merges.txt").is_file():
        _read(tok / "merges.txt", MAX_TOKENIZER_BYTES)
    enc_vocab = _json(path / "text_encoder" / "config.json", "text_encoder config").get("vocab_size")
    limit = enc_vocab if type(enc_vocab) is int and 0 < enc_vocab <= MAX_VOCAB_TOKENS else MAX_VOCAB_TOKENS
    if n_vocab > limit:
        raise SDFolderError(f"{tok}: the tokenizer holds {n_vocab:,} tokens, more than the {limit:,} its text "
                            "encoder has; the tokenizer does not belong to this model. " + _LAYOUT_HINT)
    sched_path = path / "scheduler" / "scheduler_config.json"
    sched = {k: v for k, v in _json(sched_path, "scheduler config").items() if not k.startswith("_")}
    try:
        check_scheduler_config(sched, sched_path, SDFolderError)
    except SDFolderError as exc:
        raise SDFolderError(f"{exc}. " + _LAYOUT_HINT) from None
    for sub in ("unet", "vae", "text_encoder"):
        for p in sorted((path / sub).glob("*.safetensors")):
            try:
                check_float_weights(p, SDFolderError)
            except SDFolderError as exc:
                raise SDFolderError(f"cannot load {sub} from {path / sub}: {exc}. " + _LAYOUT_HINT) from None
    return model_index


def _variant(sub: Path, dtype: Optional[str] = None) -> Optional[str]:
    """"fp16" when a part holds only `*.fp16.safetensors` weights (some snapshots ship just those, and
    `save_pretrained(variant="fp16")` writes them), or holds both and fp16 is asked for; else None."""
    names = [p.name for p in sub.glob("*.safetensors")] + [p.name for p in sub.glob("*.safetensors.index*.json")]
    fp16 = [n for n in names if ".fp16." in n]
    if fp16 and (len(fp16) == len(names) or dtype == "fp16"):
        return "fp16"
    return None


def _load(what: str, path: Path, fn):
    from engine.models.folders import from_pretrained

    return from_pretrained(fn, path / what, SDFolderError, what, _LAYOUT_HINT)


def load_sd(folder: str | os.PathLike, device: str = "auto", dtype: Optional[str] = None) -> LoadedSD:
    """Load UNet, VAE, text encoder, tokenizer and scheduler config from `folder`, strictly offline.

    `device`: "auto" | "cpu" | "cuda" (engine.device.pick_device). `dtype`: "fp32" (default) or "fp16"
    (CUDA only; embedding optimisation and fine-tuning need fp32). Raises SDFolderError when the folder is
    missing, incomplete or holds unreadable files.
    """
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    from engine.device import pick_device
    from engine.models.folders import pretrained_kwargs

    path = check_sd_folder(folder)
    dev = pick_device(device)
    if dtype not in (None, "fp32", "fp16"):
        raise ValueError(f"dtype must be fp32 or fp16, got {dtype!r}")
    if dtype == "fp16" and dev.type != "cuda":
        raise ValueError("fp16 weights need a CUDA device; use fp32 on the CPU")
    tdtype = torch.float16 if dtype == "fp16" else torch.float32
    check_sd_files(path)  # every config bounded, the tokenizer sized, the weights' dtypes: before any library
    common = dict(pretrained_kwargs(tdtype))
    unet = _load("unet", path, lambda: UNet2DConditionModel.from_pretrained(
        path, subfolder="unet", variant=_variant(path / "unet", dtype), **common))
    vae = _load("vae", path, lambda: AutoencoderKL.from_pretrained(
        path, subfolder="vae", variant=_variant(path / "vae", dtype), **common))
    text_encoder = _load("text_encoder", path, lambda: CLIPTextModel.from_pretrained(
        path, subfolder="text_encoder", variant=_variant(path / "text_encoder", dtype), **common))
    tokenizer = _load("tokenizer", path, lambda: CLIPTokenizer.from_pretrained(
        path, subfolder="tokenizer", local_files_only=True))
    sched_cfg = _json(path / "scheduler" / "scheduler_config.json", "scheduler config")
    if unet.config.cross_attention_dim != text_encoder.config.hidden_size:
        raise SDFolderError(f"{path}: the UNet expects text features of size {unet.config.cross_attention_dim} "
                            f"but the text encoder gives {text_encoder.config.hidden_size}; the parts do not "
                            "belong to the same Stable Diffusion model. " + _LAYOUT_HINT)
    for m in (unet, vae, text_encoder):
        m.to(dev)
        m.eval()
        m.requires_grad_(False)
    return LoadedSD(folder=path, unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                    scheduler_config=dict(sched_cfg), device=dev, dtype=tdtype, fingerprint=fingerprint_sd(path))
