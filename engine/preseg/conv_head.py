"""The convolutional head: small fully convolutional classifiers over whole diffusion-feature maps.

Pixel MLPs classify every pixel on its own; a thin instrument shaft or a retractor then has only its own
colour and blurred decoder activations to go on. Each member here sees a neighbourhood: a 1x1 reduction
of the (standardised) features to `hidden` channels, two 3x3 convolutions (the second dilated by 2, so a
pixel sees 11x11 working pixels), and a 1x1 classifier; BatchNorm after each convolution.

Training draws random crops of the stored feature maps of the labelled frames, flips them (horizontal and
vertical), jitters the colour channels (when the features include the pixel's colour) and minimises
class-weighted cross-entropy (weights 1/sqrt(class frequency), 255 ignored) with Adam and a cosine
schedule. Members differ by initialisation and crop order; their disagreement (Jensen-Shannon
divergence) is the per-pixel uncertainty, as for the pixel ensemble.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.jobs import JobContext
from engine.taxonomy import IGNORE

from .uncertainty import jensen_shannon, soft_vote


@dataclass(frozen=True)
class ConvSettings:
    members: int = 4
    hidden: int = 24
    steps: int = 200
    batch_size: int = 4
    crop: int = 80
    lr: float = 3e-3
    colour_jitter: float = 0.15
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ConvSettings":
        return cls(**{k: v for k, v in dict(d).items() if k in cls.__dataclass_fields__})


class ConvMember(nn.Sequential):
    """(B, C, H, W) standardised features -> (B, K, H, W) logits."""

    def __init__(self, in_channels: int, num_classes: int, hidden: int = 32):
        super().__init__(
            nn.Conv2d(in_channels, hidden, 1), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 3, padding=2, dilation=2), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, num_classes, 1),
        )


class ConvEnsemble(nn.Module):
    """M convolutional members with the training features' per-channel mean and std."""

    kind = "conv"

    def __init__(self, in_channels: int, num_classes: int, members: int = 4, hidden: int = 32):
        super().__init__()
        if members < 1:
            raise ValueError("an ensemble needs at least one member")
        self.in_channels, self.num_classes, self.hidden = int(in_channels), int(num_classes), int(hidden)
        self.members = nn.ModuleList(ConvMember(in_channels, num_classes, self.hidden) for _ in range(members))
        self.register_buffer("input_mean", torch.zeros(self.in_channels))
        self.register_buffer("input_std", torch.ones(self.in_channels))

    @property
    def num_members(self) -> int:
        return len(self.members)

    def standardize(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> float32 standardised."""
        return (x.float() - self.input_mean[:, None, None]) / self.input_std[:, None, None]

    @torch.no_grad()
    def predict_map(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(C, H, W) -> (mean probabilities (K, H, W), Jensen-Shannon uncertainty (H, W))."""
        self.eval()
        x = self.standardize(features[None])
        mp = torch.stack([F.softmax(m(x)[0], dim=0) for m in self.members])  # (M, K, H, W)
        mp = mp.permute(0, 2, 3, 1)
        return soft_vote(mp).permute(2, 0, 1).contiguous(), jensen_shannon(mp)


def _fit_standardization(ens: ConvEnsemble, maps: Sequence[torch.Tensor]) -> None:
    c = ens.in_channels
    s = torch.zeros(c, dtype=torch.float64)
    s2 = torch.zeros(c, dtype=torch.float64)
    n = 0
    for m in maps:
        flat = m.reshape(c, -1).double()
        s += flat.sum(1)
        s2 += (flat * flat).sum(1)
        n += flat.shape[1]
    mean = s / max(1, n)
    var = (s2 / max(1, n) - mean * mean).clamp_min(0)
    ens.input_mean.copy_(mean.float())
    ens.input_std.copy_(var.sqrt().float().clamp_min(1e-3))


def class_weights(labels: Sequence[torch.Tensor], num_classes: int) -> torch.Tensor:
    """1/sqrt(frequency) of each class over the labelled pixels, normalised to mean 1 over present classes."""
    counts = torch.zeros(num_classes, dtype=torch.float64)
    for y in labels:
        v = y[y != IGNORE]
        counts += torch.bincount(v.reshape(-1), minlength=num_classes)[:num_classes].double()
    w = torch.where(counts > 0, (counts / counts.sum().clamp_min(1)).clamp_min(1e-6).rsqrt(), torch.zeros_like(counts))
    present = counts > 0
    if present.any():
        w = w / w[present].mean()
    return w.float()


def _batch(maps, labels, settings: ConvSettings, rng: np.random.Generator, rgb_channels: int):
    xs, ys = [], []
    for _ in range(settings.batch_size):
        i = int(rng.integers(len(maps)))
        m, y = maps[i], labels[i]
        _, h, w = m.shape
        ch, cw = min(settings.crop, h), min(settings.crop, w)
        y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        x = m[:, y0:y0 + ch, x0:x0 + cw].float()
        t = y[y0:y0 + ch, x0:x0 + cw]
        if rng.uniform() < 0.5:
            x, t = x.flip(-1), t.flip(-1)
        if rng.uniform() < 0.5:
            x, t = x.flip(-2), t.flip(-2)
        if rgb_channels and settings.colour_jitter > 0:  # colour channels are the last three, in [-1, 1]
            j = settings.colour_jitter
            gain = torch.from_numpy(rng.uniform(1 - j, 1 + j, (rgb_channels, 1, 1)).astype(np.float32))
            shift = torch.from_numpy(rng.uniform(-j, j, (rgb_channels, 1, 1)).astype(np.float32))
            x[-rgb_channels:] = x[-rgb_channels:] * gain + shift
        xs.append(x)
        ys.append(t)
    return torch.stack(xs), torch.stack(ys)


def train_conv_ensemble(maps: Sequence[torch.Tensor], labels: Sequence[torch.Tensor], num_classes: int,
                        settings: ConvSettings | None = None, rgb_channels: int = 3,
                        ctx: JobContext | None = None) -> tuple[ConvEnsemble, list[dict]]:
    """Train on feature maps (C, H, W) float16 and labels (H, W) int64 class-set IDs (255 ignored)."""
    settings = settings or ConvSettings()
    ctx = ctx or JobContext()
    if not maps or len(maps) != len(labels):
        raise ValueError("need as many label maps as feature maps, and at least one")
    ens = ConvEnsemble(int(maps[0].shape[0]), num_classes, settings.members, settings.hidden)
    _fit_standardization(ens, maps)
    weights = class_weights(labels, num_classes)
    history = []
    for i, member in enumerate(ens.members):
        torch.manual_seed(settings.seed * 1000 + i)
        for layer in member:
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters()
        rng = np.random.default_rng([settings.seed, i])
        opt = torch.optim.Adam(member.parameters(), lr=settings.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, settings.steps))
        member.train()
        last = float("nan")
        for step in range(settings.steps):
            ctx.check()
            x, y = _batch(maps, labels, settings, rng, rgb_channels)
            if not (y != IGNORE).any():
                continue
            loss = F.cross_entropy(member(ens.standardize(x)), y, weight=weights, ignore_index=IGNORE)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            last = float(loss.detach())
            if step % 25 == 0:
                ctx.report((i + step / settings.steps) / ens.num_members, f"member {i + 1} step {step} loss {last:.3f}")
        member.eval()
        history.append({"steps": settings.steps, "final_loss": round(last, 4)})
        ctx.report((i + 1) / ens.num_members, f"member {i + 1}/{ens.num_members} done")
    ens.eval()
    return ens, history
