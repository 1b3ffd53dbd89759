"""A small supervised UNet segmenter trained from scratch: the baseline for label-efficient methods.

Three resolution levels of (conv-BN-ReLU) x 2 with skip connections, ~0.5M parameters at the default
width. Trained with Adam and cross-entropy (255 ignored) on whole frames resized to the working
resolution, with random horizontal flips and small brightness jitter. Used by the pre-segmentation,
synthesis and augmentation benchmarks: `train_small_unet(pairs, class_set, resolution, steps, seed, ctx)`
and `predict_small_unet(model, image)`.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.jobs import JobContext
from engine.taxonomy import IGNORE, ClassSet, get_class_set


def _double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class SmallUNet(nn.Module):
    """(B, 3, H, W) in [-1, 1] -> (B, K, H, W) logits; H and W any size (padded internally)."""

    def __init__(self, num_classes: int, width: int = 16, levels: int = 3):
        super().__init__()
        chans = [width * 2 ** i for i in range(levels)]
        self.downs = nn.ModuleList()
        prev = 3
        for c in chans:
            self.downs.append(_double_conv(prev, c))
            prev = c
        self.bottom = _double_conv(prev, prev * 2)
        self.ups = nn.ModuleList()
        self.fuse = nn.ModuleList()
        prev = prev * 2
        for c in reversed(chans):
            self.ups.append(nn.ConvTranspose2d(prev, c, 2, stride=2))
            self.fuse.append(_double_conv(2 * c, c))
            prev = c
        self.head = nn.Conv2d(prev, num_classes, 1)
        self.levels = levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = 2 ** self.levels
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for up, fuse in zip(self.ups, self.fuse):
            x = fuse(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)[..., :h, :w]


class SmallUNetSegmenter(nn.Module):
    """A trained SmallUNet with its class set and working resolution (width, height)."""

    def __init__(self, net: SmallUNet, class_set: ClassSet, resolution: tuple[int, int]):
        super().__init__()
        self.net = net
        self.class_set = class_set
        self.resolution = resolution


def _resolution(resolution: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(resolution, int):
        return resolution, resolution
    w, h = (int(v) for v in resolution)
    return w, h


def _to_input(image: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB image, got {image.dtype} {image.shape}")
    if (image.shape[1], image.shape[0]) != size:
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div(127.5).sub(1.0)


def train_small_unet(pairs: Sequence[tuple[np.ndarray, np.ndarray]], class_set: ClassSet | str | int = "full",
                     resolution: int | Sequence[int] = (256, 144), steps: int = 600, seed: int = 0,
                     ctx: JobContext | None = None, batch_size: int = 4, lr: float = 2e-3, width: int = 16,
                     device: str | torch.device = "cpu") -> SmallUNetSegmenter:
    """Train on (RGB image, label in ORIGINAL CaDIS IDs) pairs; labels are remapped to `class_set`.

    `resolution` is (width, height) like "256x144" (an int means square); frames are resized to it
    (area for images, nearest for labels). Returns the trained model in eval mode.
    """
    if not pairs:
        raise ValueError("the small UNet needs at least one (image, label) pair")
    ctx = ctx or JobContext()
    cs = class_set if isinstance(class_set, ClassSet) else get_class_set(class_set)
    size = _resolution(resolution)
    xs = torch.stack([_to_input(img, size) for img, _ in pairs])
    ys = torch.stack([torch.from_numpy(cv2.resize(cs.remap(lab), size, interpolation=cv2.INTER_NEAREST)
                                       .astype(np.int64)) for _, lab in pairs])
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = SmallUNet(cs.num_classes, width).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))
    bs = min(batch_size, len(pairs))
    net.train()
    for step in range(steps):
        ctx.check()
        idx = torch.randint(0, len(pairs), (bs,), generator=gen)
        x, y = xs[idx].clone(), ys[idx].clone()
        flip = torch.rand(bs, generator=gen) < 0.5
        x[flip], y[flip] = x[flip].flip(-1), y[flip].flip(-1)
        x = x * (1 + 0.2 * (torch.rand(bs, 1, 1, 1, generator=gen) - 0.5))
        if not (y != IGNORE).any():  # nothing to learn from in this batch
            continue
        loss = F.cross_entropy(net(x.to(device)), y.to(device), ignore_index=IGNORE)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 20 == 0 or step == steps - 1:
            ctx.report((step + 1) / steps, f"step {step + 1}/{steps} loss {loss.item():.3f}")
    net.eval()
    return SmallUNetSegmenter(net, cs, size)


@torch.no_grad()
def predict_small_unet(model: SmallUNetSegmenter, image: np.ndarray) -> np.ndarray:
    """HxW uint8 label in the model's class-set IDs (original IDs for the full set), at the image's size."""
    p = next(model.net.parameters())
    x = _to_input(image, model.resolution)[None].to(p.device)
    logits = model.net(x)
    h, w = image.shape[:2]
    if logits.shape[-2:] != (h, w):
        logits = F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False)
    return logits[0].argmax(0).to(torch.uint8).cpu().numpy()
