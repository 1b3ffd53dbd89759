"""Building blocks of the SPADE-conditioned diffusion UNet.

`SpadeNorm` is spatially adaptive normalisation (Park et al., 2019, as used by SDM, Wang et al., 2022):
group norm without affine parameters, then a per-pixel scale and shift computed from the one-hot mask
by small convolutions. The scale/shift maps depend only on the mask, never on the noisy image or the
timestep, so a sampler computes them once per run (`SpadeModulation`) and reuses them at every step.
"""
from __future__ import annotations

from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import nn


def _groups(channels: int, wanted: int = 32) -> int:
    """The largest group count <= `wanted` that divides `channels`."""
    g = min(wanted, channels)
    while channels % g:
        g -= 1
    return g


class SpadeModulation:
    """Cached SPADE scale/shift maps for one mask batch: `maps[norm_key] = (gamma, beta)`.

    Built by `SpadeUNet2DModel.precompute_modulation`; pass it as `modulation=` to the model's forward.
    Tensors have batch size `batch` (1 broadcasts over any sample batch).
    """

    def __init__(self, maps: dict[str, tuple[torch.Tensor, torch.Tensor]], batch: int):
        self.maps = maps
        self.batch = batch

    def __getitem__(self, key: str) -> tuple[torch.Tensor, torch.Tensor]:
        return self.maps[key]

    def to(self, device=None, dtype=None) -> "SpadeModulation":
        return SpadeModulation(
            {k: (g.to(device=device, dtype=dtype), b.to(device=device, dtype=dtype)) for k, (g, b) in self.maps.items()},
            self.batch,
        )

    def repeat(self, n: int) -> "SpadeModulation":
        """Each map repeated `n` times along the batch (for several variants of one mask)."""
        return SpadeModulation({k: (g.repeat_interleave(n, 0), b.repeat_interleave(n, 0)) for k, (g, b) in self.maps.items()},
                               self.batch * n)

    @staticmethod
    def cat(parts: list["SpadeModulation"]) -> "SpadeModulation":
        """Concatenate along the batch (e.g. unconditional + conditional for batched guidance)."""
        keys = parts[0].maps.keys()
        maps = {k: (torch.cat([p[k][0] for p in parts]), torch.cat([p[k][1] for p in parts])) for k in keys}
        return SpadeModulation(maps, sum(p.batch for p in parts))


Cond = Union[torch.Tensor, SpadeModulation]


class SpadeNorm(nn.Module):
    """GroupNorm (no affine) followed by a mask-dependent per-pixel scale `1 + gamma` and shift `beta`."""

    def __init__(self, channels: int, num_classes: int, hidden: int = 32, kernel: int = 3):
        super().__init__()
        self.key = ""  # set by the model to its qualified name; looks up cached maps
        self.norm = nn.GroupNorm(_groups(channels), channels, affine=False)
        self.shared = nn.Sequential(nn.Conv2d(num_classes, hidden, 3, padding=1), nn.SiLU())
        self.gamma = nn.Conv2d(hidden, channels, kernel, padding=kernel // 2)
        self.beta = nn.Conv2d(hidden, channels, kernel, padding=kernel // 2)

    def maps(self, segmap: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """(gamma, beta) at feature size `size` for a one-hot `segmap` (B, num_classes, H, W)."""
        if tuple(segmap.shape[-2:]) != tuple(size):
            segmap = F.interpolate(segmap, size=size, mode="nearest")
        h = self.shared(segmap)
        return self.gamma(h), self.beta(h)

    def forward(self, x: torch.Tensor, cond: Cond) -> torch.Tensor:
        if isinstance(cond, SpadeModulation):
            gamma, beta = cond[self.key]
        else:
            gamma, beta = self.maps(cond, x.shape[-2:])
        return self.norm(x) * (1 + gamma) + beta


class ResBlock(nn.Module):
    """Encoder residual block: GroupNorm-SiLU-conv, plus the time embedding, twice."""

    def __init__(self, in_ch: int, out_ch: int, temb_ch: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(in_ch), in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.time_proj = nn.Linear(temb_ch, out_ch)
        self.norm2 = nn.GroupNorm(_groups(out_ch), out_ch)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class SpadeResBlock(nn.Module):
    """Decoder residual block whose two normalisations are SPADE-modulated by the mask."""

    def __init__(self, in_ch: int, out_ch: int, temb_ch: int, num_classes: int, spade_hidden: int = 32,
                 dropout: float = 0.0, spade_kernel: int = 3):
        super().__init__()
        self.norm1 = SpadeNorm(in_ch, num_classes, spade_hidden, spade_kernel)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.time_proj = nn.Linear(temb_ch, out_ch)
        self.norm2 = SpadeNorm(out_ch, num_classes, spade_hidden, spade_kernel)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor, cond: Cond) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x, cond)))
        h = h + self.time_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h, cond))))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    """Multi-head self-attention over the pixels of a (low-resolution) feature map, residual."""

    def __init__(self, channels: int, head_dim: int = 32):
        super().__init__()
        self.heads = max(1, channels // head_dim)
        self.norm = nn.GroupNorm(_groups(channels), channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).unbind(1)
        out = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        return x + self.proj(out.transpose(-1, -2).reshape(b, c, h, w))


class Downsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, size: Optional[tuple[int, int]] = None) -> torch.Tensor:
        x = F.interpolate(x, size=size, mode="nearest") if size else F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.conv(x)
