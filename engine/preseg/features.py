"""Per-pixel features from a diffusion UNet's decoder (Baranchuk et al., ICLR 2022).

A frame is resized to the model's sample size, scaled to [-1, 1] and noised to a few timesteps with ONE
fixed, seeded noise tensor (so the same frame always gives the same features). All timesteps run as one
batch through the model with the null mask (`segmap=None`, the unconditional model); forward hooks catch
the outputs of chosen `up_blocks`; each output is upsampled bilinearly to the working ("label")
resolution and the maps are concatenated per pixel, timestep-major then block. With `include_rgb` the
frame's own colour at the working resolution is appended as three more channels. Features are stored in
half precision (float16) on the CPU: a frame at 256x144 with ~1,000 channels is ~75 MB instead of 150.

The defaults (t = 50 alone, the three finest decoder blocks, the pixel's colour, a working resolution of
twice the model's sample size) were chosen by measurement on the phantom sample: see
docs/adr/0008-preseg-feature-defaults.md (a sweep on one split of the small phantom; not re-tuned since).

Every `Features` object carries the fingerprint of the model that made it (a hash of the model's
safetensors file), so a pixel head trained on one model refuses features from another.
"""
from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .image_filters import FILTER_CHANNELS, filter_bank

WEIGHTS_FILE = "diffusion_pytorch_model.safetensors"
DEFAULT_TIMESTEPS: tuple[int, ...] = (50,)
#: the three finest decoder blocks (negative indices count from the last, full-resolution block)
DEFAULT_BLOCKS: tuple[int, ...] = (-3, -2, -1)
#: default working resolution, as a multiple of the model's sample size
WORK_SCALE = 2


@dataclass(frozen=True)
class FeatureConfig:
    """What to extract. `blocks` are indices into `model.up_blocks` (negative ones count from the end;
    None = all of them); `work_size` is the (height, width) the features are upsampled to (None =
    `WORK_SCALE` times the model's sample size); `include_rgb` appends the pixel's colour."""

    timesteps: tuple[int, ...] = DEFAULT_TIMESTEPS
    blocks: tuple[int, ...] | None = DEFAULT_BLOCKS
    seed: int = 0
    work_size: tuple[int, int] | None = None
    include_rgb: bool = True
    image_filters: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureConfig":
        blocks = d.get("blocks")
        ws = d.get("work_size")
        return cls(
            timesteps=tuple(int(t) for t in d.get("timesteps", DEFAULT_TIMESTEPS)),
            blocks=None if blocks is None else tuple(int(b) for b in blocks),
            seed=int(d.get("seed", 0)),
            work_size=None if ws is None else (int(ws[0]), int(ws[1])),
            include_rgb=bool(d.get("include_rgb", False)),  # heads saved before the option had no colour
            image_filters=bool(d.get("image_filters", False)),
        )


@dataclass
class Features:
    """Per-pixel features of one frame: `tensor` is (C, H, W) float16 on the CPU."""

    tensor: torch.Tensor
    fingerprint: str
    config: FeatureConfig
    channels_per_block: tuple[int, ...] = field(default=())

    @property
    def channels(self) -> int:
        return int(self.tensor.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        return int(self.tensor.shape[1]), int(self.tensor.shape[2])

    @property
    def nbytes(self) -> int:
        return self.tensor.numel() * self.tensor.element_size()


def unet_folder(model_dir: str | Path) -> Path:
    """Where a model folder's diffusion UNet lives: `unet/` of a pipeline folder (model_index.json), else the
    folder itself. Features and fingerprints come from the UNet alone."""
    d = Path(model_dir)
    return d / "unet" if (d / "model_index.json").is_file() else d


def fingerprint_model_dir(model_dir: str | Path) -> str:
    """The model folder's fingerprint (`engine.models.model_fingerprint`: a hash of its safetensors file)."""
    from engine.models import model_fingerprint

    model_dir = unet_folder(model_dir)
    path = Path(model_dir) / WEIGHTS_FILE
    if not path.is_file():
        from engine.models.folders import MissingModelFileError

        raise MissingModelFileError(f"{model_dir}: no {WEIGHTS_FILE} here; is this a diffusion model folder?")
    return model_fingerprint(model_dir)


def model_sample_size(model: torch.nn.Module) -> tuple[int, int]:
    """The model's (height, width) from `config.sample_size` (an int means square)."""
    ss = model.config.sample_size
    if isinstance(ss, int):
        return ss, ss
    return int(ss[0]), int(ss[1])


def image_to_tensor(image: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """HxWx3 uint8 RGB -> (1, 3, h, w) float32 in [-1, 1] at `size` = (h, w)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB image, got {image.dtype} {image.shape}")
    h, w = size
    if image.shape[:2] != (h, w):
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    t = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div_(127.5).sub_(1.0)
    return t.unsqueeze(0)


class FeatureExtractor:
    """Hooks a diffusion UNet's decoder blocks and turns frames into per-pixel features.

    `scheduler` is anything with `add_noise(x0, noise, t)` (a diffusers DDPMScheduler built from the
    model's scheduler config). `fingerprint` identifies the model (see `fingerprint_model_dir`).
    """

    def __init__(self, model: torch.nn.Module, scheduler, fingerprint: str,
                 config: FeatureConfig | None = None, device: str | torch.device = "cpu"):
        self.model = model.eval().to(device)
        self.scheduler = scheduler
        self.fingerprint = fingerprint
        self.device = torch.device(device)
        n_up = len(model.up_blocks)
        cfg = config or FeatureConfig()
        if cfg.blocks is None:
            blocks = tuple(range(n_up))
        elif tuple(cfg.blocks) == DEFAULT_BLOCKS:  # the finest three, or all of a shallower model's
            blocks = tuple(range(max(0, n_up - len(DEFAULT_BLOCKS)), n_up))
        else:
            blocks = tuple(cfg.blocks)
        bad = [b for b in blocks if not -n_up <= b < n_up]
        if bad:
            raise ValueError(f"decoder block(s) {bad} do not exist: the model has {n_up} up_blocks (0..{n_up - 1})")
        n_train = int(getattr(scheduler.config, "num_train_timesteps", 1000))
        bad_t = [t for t in cfg.timesteps if not 0 <= t < n_train]
        if bad_t or not cfg.timesteps:
            raise ValueError(f"timesteps {list(cfg.timesteps)} must be non-empty and within 0..{n_train - 1}")
        self.sample_size = model_sample_size(model)
        work = cfg.work_size or (self.sample_size[0] * WORK_SCALE, self.sample_size[1] * WORK_SCALE)
        self.config = FeatureConfig(timesteps=tuple(cfg.timesteps), blocks=tuple(b % n_up for b in blocks),
                                    seed=cfg.seed, work_size=(int(work[0]), int(work[1])),
                                    include_rgb=bool(cfg.include_rgb), image_filters=bool(cfg.image_filters))
        params = inspect.signature(model.forward).parameters
        self._call_kwargs: dict = {}
        if "modulation" in params and hasattr(model, "precompute_modulation"):
            # the null mask's SPADE maps do not depend on the image or timestep: compute them once
            self._call_kwargs = {"modulation": model.precompute_modulation(None)}
        elif "segmap" in params:
            self._call_kwargs = {"segmap": None}
        in_ch = int(getattr(model.config, "in_channels", 3))
        gen = torch.Generator("cpu").manual_seed(int(self.config.seed))
        self._noise = torch.randn((1, in_ch, *self.sample_size), generator=gen)
        self._channels_per_block: tuple[int, ...] | None = None

    @property
    def work_size(self) -> tuple[int, int]:
        return self.config.work_size  # type: ignore[return-value]

    def channels(self) -> int:
        """Feature channels per pixel (runs one blank frame the first time to find out)."""
        if self._channels_per_block is None:
            h, w = self.sample_size
            self.extract(np.zeros((h, w, 3), np.uint8))
        return len(self.config.timesteps) * sum(self._channels_per_block or ()) + self.extra_channels

    @property
    def shift_channels(self) -> int:
        """The leading channels a head's shift statistics use: all but the image filters, whose response
        to blur and noise the shift's sharpness term already measures."""
        return self.channels() - (FILTER_CHANNELS if self.config.image_filters else 0)

    @property
    def extra_channels(self) -> int:
        """Channels after the decoder's: the colour (3) and the image filters."""
        return (3 if self.config.include_rgb else 0) + (FILTER_CHANNELS if self.config.image_filters else 0)

    @torch.no_grad()
    def _decoder_outputs(self, image: np.ndarray) -> list[torch.Tensor]:
        x0 = image_to_tensor(image, self.sample_size)
        ts = torch.tensor(self.config.timesteps, dtype=torch.long)
        n = len(ts)
        xt = self.scheduler.add_noise(x0.expand(n, -1, -1, -1), self._noise.expand(n, -1, -1, -1), ts)
        caught: dict[int, torch.Tensor] = {}

        def make_hook(i: int):
            def hook(_mod, _inp, out):
                caught[i] = out[0] if isinstance(out, (tuple, list)) else out
            return hook

        handles = [self.model.up_blocks[b].register_forward_hook(make_hook(b)) for b in set(self.config.blocks)]
        try:
            self.model(xt.to(self.device), ts.to(self.device), **self._call_kwargs)
        finally:
            for h in handles:
                h.remove()
        return [caught[b] for b in self.config.blocks]

    def extract(self, image: np.ndarray) -> Features:
        """Features of one HxWx3 uint8 RGB frame: (C, H, W) float16 at the working resolution."""
        outs = self._decoder_outputs(image)
        per_block = tuple(int(o.shape[1]) for o in outs)
        self._channels_per_block = per_block
        h, w = self.work_size
        n_t = len(self.config.timesteps)
        rgb = 3 if self.config.include_rgb else 0
        feats = torch.empty((n_t * sum(per_block) + self.extra_channels, h, w), dtype=torch.float16)
        c = 0
        for ti in range(n_t):  # timestep-major, then blocks in the configured order
            for o in outs:
                up = F.interpolate(o[ti:ti + 1].float(), size=(h, w), mode="bilinear", align_corners=False)
                feats[c:c + o.shape[1]] = up[0].to("cpu", torch.float16)
                c += o.shape[1]
        if rgb:  # the pixel's own colour, in [-1, 1] like the model's input, at the working resolution
            feats[c:c + 3] = image_to_tensor(image, (h, w))[0].to(torch.float16)
            c += 3
        if self.config.image_filters:  # fine structure from the frame itself (engine.preseg.image_filters)
            feats[c:] = torch.from_numpy(filter_bank(image, (h, w))).to(torch.float16)
        return Features(feats, self.fingerprint, self.config, per_block)


def load_diffusion_model(model_dir: str | Path, device: str | torch.device = "cpu"):
    """Load a diffusion model folder for feature extraction -> (model, scheduler, fingerprint).

    Uses `engine.models.load_synthesis_model` (the project's SPADE UNet). A folder whose config names
    a plain diffusers `UNet2DModel` is also accepted. The scheduler is a DDPMScheduler built from the
    folder's scheduler config (defaults: 1000 linear-beta steps).
    """
    from diffusers import DDPMScheduler

    given = Path(model_dir)
    model_dir = unet_folder(given)
    cfg_path = model_dir / "config.json"
    if not cfg_path.is_file():
        from engine.models.folders import MissingModelFileError

        raise MissingModelFileError(f"{given}: no config.json; not a diffusion model folder")
    fingerprint = fingerprint_model_dir(model_dir)
    from engine.models.config_checks import read_json_object

    class_name = read_json_object(cfg_path, ValueError).get("_class_name", "")
    sched_cfg: dict | None = None
    if class_name == "UNet2DModel":  # a plain diffusers UNet: the same file checks, then from_pretrained
        from diffusers import UNet2DModel

        from engine.models.config_checks import safetensors_header
        from engine.models.folders import ModelFolderError, from_pretrained, pretrained_kwargs, refuse_missing_weights

        refuse_missing_weights(model_dir / WEIGHTS_FILE)
        safetensors_header(model_dir / WEIGHTS_FILE, ModelFolderError)
        model = from_pretrained(lambda: UNet2DModel.from_pretrained(model_dir, **pretrained_kwargs()), model_dir,
                                what="diffusers UNet")
    else:
        from engine.models import load_synthesis_model

        model, sched_cfg, _card = load_synthesis_model(model_dir, device="cpu")
    if sched_cfg is None:
        for name in ("scheduler_config.json", "scheduler/scheduler_config.json", "../scheduler/scheduler_config.json"):
            if (model_dir / name).is_file():
                sched_cfg = read_json_object(model_dir / name, ValueError, "scheduler config")
                break
    scheduler = DDPMScheduler.from_config(dict(sched_cfg)) if sched_cfg else DDPMScheduler(num_train_timesteps=1000)
    return model.to(device).eval(), scheduler, fingerprint


def open_extractor(model_dir: str | Path, config: FeatureConfig | None = None,
                   device: str | torch.device = "cpu") -> FeatureExtractor:
    """A FeatureExtractor for the model in `model_dir`; `device` "auto" means what it means everywhere
    (engine.device.pick_device: CUDA when present)."""
    if isinstance(device, str):
        from engine.device import pick_device

        device = pick_device(device)
    model, scheduler, fp = load_diffusion_model(model_dir, device)
    return FeatureExtractor(model, scheduler, fp, config, device)


def parse_ints(text: str | Sequence[int] | None) -> tuple[int, ...] | None:
    """'50,150,250' -> (50, 150, 250); '-3,-2,-1' -> (-3, -2, -1); None/'' -> None."""
    if text is None or text == "":
        return None
    if isinstance(text, str):
        try:
            return tuple(int(p) for p in text.replace(" ", "").split(",") if p)
        except ValueError:
            raise ValueError(f"expected comma-separated whole numbers, got {text!r}") from None
    return tuple(int(p) for p in text)
