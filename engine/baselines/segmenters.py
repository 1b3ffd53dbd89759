"""Segmenters trained from scratch on native-scale crops: the small UNet and a small SegFormer.

    recipe = Recipe(arch="segformer", class_set="2", steps=400, crop=(64, 64))
    model = train_segmenter(pairs, recipe, seed=0, ctx=ctx)
    label = predict_segmenter(model, image)        # class-set IDs, HxW at the image's size

Frames are used at their own size (no downscale that would leave a 4-pixel instrument one pixel wide): each
step draws random `crop`-sized windows, and with probability `instrument_crops` the window is centred on an
instrument pixel (instruments are a few percent of a frame; without this a crop rarely holds one). The defaults are the
augmentation protocol's recipe, chosen on phantom seed 7 (ADR 0015). The loss is
cross-entropy with class weights ~ frequency^-power over the training labels (power 0 is plain cross-entropy),
so thin and rare classes count. Prediction runs fully convolutionally on the whole frame.

Architectures (`ARCHS`): "unet" = `engine.baselines.small_unet.SmallUNet`; "segformer" = transformers'
`SegformerForSemanticSegmentation` built from a small MiT config (no download, random initialisation), its
first patch embedding at stride 2 so its logits are at half resolution, upsampled bilinearly to the input.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.baselines.small_unet import SmallUNet
from engine.jobs import JobContext
from engine.taxonomy import IGNORE, INSTRUMENT_IDS, ClassSet, get_class_set

ARCHS = ("unet", "segformer")


@dataclass(frozen=True)
class Recipe:
    """How a segmenter is trained (the benchmark prints and stores it with its results)."""

    arch: str = "unet"
    class_set: str = "2"
    steps: int = 400
    crop: tuple[int, int] = (64, 64)        # (width, height) of the training windows
    batch: int = 4
    lr: float = 2e-3
    power: float = 0.5                       # class weight ~ frequency^-power
    instrument_crops: float = 0.8            # share of windows centred on an instrument pixel
    width: int = 16                          # UNet base channels / SegFormer first hidden size

    def check(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"unknown segmenter {self.arch!r}: use one of {', '.join(ARCHS)}")
        get_class_set(self.class_set)
        if self.steps < 1 or self.batch < 1 or min(self.crop) < 8:
            raise ValueError(f"a recipe needs steps >= 1, batch >= 1 and crops of at least 8 px, got {self}")

    def to_dict(self) -> dict:
        return {**asdict(self), "crop": list(self.crop)}


class SegformerNet(nn.Module):
    """(B, 3, H, W) in [-1, 1] -> (B, K, H, W) logits: a small SegFormer (MiT encoder, all-MLP decoder)."""

    def __init__(self, num_classes: int, width: int = 16):
        super().__init__()
        from transformers import SegformerConfig, SegformerForSemanticSegmentation

        hidden = [width * m for m in (2, 4, 8, 16)]
        cfg = SegformerConfig(num_channels=3, num_encoder_blocks=4, depths=[2, 2, 2, 2], sr_ratios=[8, 4, 2, 1],
                              hidden_sizes=hidden, patch_sizes=[3, 3, 3, 3], strides=[2, 2, 2, 2],
                              num_attention_heads=[1, 2, 4, 8], mlp_ratios=[4, 4, 4, 4],
                              decoder_hidden_size=4 * width * 2, num_labels=num_classes,
                              hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, drop_path_rate=0.0)
        self.model = SegformerForSemanticSegmentation(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.model(pixel_values=x).logits
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)


def build_net(arch: str, num_classes: int, width: int = 16) -> nn.Module:
    if arch == "unet":
        return SmallUNet(num_classes, width)
    if arch == "segformer":
        return SegformerNet(num_classes, width)
    raise ValueError(f"unknown segmenter {arch!r}: use one of {', '.join(ARCHS)}")


class Segmenter(nn.Module):
    """A trained network with its class set and recipe; `predict_segmenter` runs it on whole frames."""

    def __init__(self, net: nn.Module, class_set: ClassSet, recipe: Recipe):
        super().__init__()
        self.net = net
        self.class_set = class_set
        self.recipe = recipe


def class_weights(labels: Sequence[np.ndarray], n: int, power: float) -> np.ndarray:
    """Per class: frequency^-power over `labels` (IGNORE skipped), mean 1 over the classes seen, 0 for unseen."""
    counts = np.zeros(n, np.float64)
    for y in labels:
        counts += np.bincount(y[y < n].ravel(), minlength=n)[:n]
    freq = counts / max(1.0, counts.sum())
    w = np.where(counts > 0, (freq + 1e-4) ** -power, 0.0)
    return (w / w[counts > 0].mean()).astype(np.float32)


def _window(shape: tuple[int, int], crop: tuple[int, int], centre, rng: np.random.Generator) -> tuple[int, int]:
    h, w = shape
    cw, ch = min(crop[0], w), min(crop[1], h)
    if centre is None:
        return int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1))
    cy, cx = centre
    return int(np.clip(cy - ch // 2, 0, h - ch)), int(np.clip(cx - cw // 2, 0, w - cw))


def crop_batch(xs: Sequence[np.ndarray], ys: Sequence[np.ndarray], pick, crop: tuple[int, int], batch: int,
               rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A training batch: `batch` windows of `crop` (w, h), each from `pick()` -> (frame index, centre (y, x) or
    None for a random window), flipped at random, images in [-1, 1] with one brightness jitter per batch."""
    bx, by = [], []
    for _ in range(batch):
        i, centre = pick()
        y0, x0 = _window(ys[i].shape, crop, centre, rng)
        x, y = xs[i][y0:y0 + crop[1], x0:x0 + crop[0]], ys[i][y0:y0 + crop[1], x0:x0 + crop[0]]
        if rng.random() < 0.5:
            x, y = x[:, ::-1], y[:, ::-1]
        bx.append(np.ascontiguousarray(x))
        by.append(np.ascontiguousarray(y))
    x = torch.from_numpy(np.stack(bx)).permute(0, 3, 1, 2).float() / 127.5 - 1
    x = x * float(1 + 0.2 * (rng.random() - 0.5))
    return x, torch.from_numpy(np.stack(by).astype(np.int64))


def train_segmenter(pairs: Sequence[tuple[np.ndarray, np.ndarray]], recipe: Recipe, seed: int = 0,
                    ctx: JobContext | None = None) -> Segmenter:
    """Train on (RGB image, label in ORIGINAL CaDIS IDs) pairs of any sizes; see the module docstring."""
    if not pairs:
        raise ValueError("a segmenter needs at least one (image, label) pair")
    recipe.check()
    ctx = ctx or JobContext()
    cs = get_class_set(recipe.class_set)
    xs = [np.ascontiguousarray(img) for img, _ in pairs]
    ys = [cs.remap(lab) for _, lab in pairs]
    inst = np.zeros(256, bool)
    inst[list(INSTRUMENT_IDS)] = True
    where = [np.argwhere(inst[lab]) for _, lab in pairs]   # instrument pixels of each frame (original IDs)
    with_inst = [i for i, w in enumerate(where) if len(w)]
    weights = torch.from_numpy(class_weights(ys, cs.num_classes, recipe.power))
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    net = build_net(recipe.arch, cs.num_classes, recipe.width)
    opt = torch.optim.AdamW(net.parameters(), lr=recipe.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=recipe.steps, pct_start=0.1)
    cw, ch = (min(recipe.crop[0], min(x.shape[1] for x in xs)), min(recipe.crop[1], min(x.shape[0] for x in xs)))
    def pick() -> tuple[int, object]:
        if with_inst and rng.random() < recipe.instrument_crops:
            i = with_inst[int(rng.integers(len(with_inst)))]
            return i, where[i][int(rng.integers(len(where[i])))]
        return int(rng.integers(len(xs))), None

    net.train()
    for step in range(recipe.steps):
        ctx.check()
        x, y = crop_batch(xs, ys, pick, (cw, ch), recipe.batch, rng)
        if not (y != IGNORE).any():
            sched.step()
            continue
        loss = F.cross_entropy(net(x), y, weight=weights, ignore_index=IGNORE)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 25 == 0 or step == recipe.steps - 1:
            ctx.report((step + 1) / recipe.steps, f"step {step + 1}/{recipe.steps} loss {loss.item():.3f}")
    net.eval()
    return Segmenter(net, cs, recipe)


@torch.no_grad()
def predict_segmenter(model: Segmenter, image: np.ndarray) -> np.ndarray:
    """HxW uint8 label in the model's class-set IDs for an HxWx3 uint8 RGB frame (run at the frame's size)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB image, got {image.dtype} {image.shape}")
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float() / 127.5 - 1
    return model.net(x)[0].argmax(0).to(torch.uint8).numpy()
