"""`MaskUpsampler2DModel`: lifts a low-resolution synthesized frame to the mask's own resolution.

Input: the low-resolution frame resized (bicubic) to the target size, in [-1, 1], and the full-resolution
one-hot mask. Output: the full-resolution frame (the input plus a predicted residual). The network is a
small fully-convolutional U-shape (full, 1/2, 1/4 and 1/8 resolution), so it runs on any size whose sides
are a multiple of 8 (the pipeline pads other sizes by reflection and crops back). Because it sees the mask
at full resolution, thin structures (instrument tips, retractor wires) that the low-resolution diffusion
sample cannot draw are drawn by this stage from the mask. See docs/adr/0010-full-resolution-synthesis.md.
"""
from __future__ import annotations

from typing import Sequence

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn
from torch.nn import functional as F

from engine.models.spade import _groups


class _Res(nn.Module):
    """GroupNorm-SiLU-conv twice with a skip."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.GroupNorm(_groups(cin, 8), cin), nn.SiLU(), nn.Conv2d(cin, cout, 3, padding=1),
            nn.GroupNorm(_groups(cout, 8), cout), nn.SiLU(), nn.Conv2d(cout, cout, 3, padding=1),
        )
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.body(x)


class MaskUpsampler2DModel(ModelMixin, ConfigMixin):
    """Mask-conditioned refiner: (upsampled low-res frame, full-res one-hot mask) -> full-res frame."""

    config_name = "config.json"

    @register_to_config
    def __init__(
        self,
        num_classes: int = 36,
        class_set: str = "full",
        in_channels: int = 3,
        out_channels: int = 3,
        block_out_channels: Sequence[int] = (16, 32, 48, 64),
        low_res_size: Sequence[int] = (72, 128),
    ):
        super().__init__()
        chans = [int(c) for c in block_out_channels]
        self.conv_in = nn.Conv2d(in_channels + num_classes, chans[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.pool = nn.ModuleList()
        for i, c in enumerate(chans):
            self.down.append(_Res(chans[max(i - 1, 0)] if i else chans[0], c))
            if i < len(chans) - 1:
                self.pool.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
        self.up = nn.ModuleList()
        for i in range(len(chans) - 2, -1, -1):
            self.up.append(_Res(chans[i + 1] + chans[i], chans[i]))
        self.conv_out = nn.Conv2d(chans[0], out_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    @property
    def multiple(self) -> int:
        """Input sides must be a multiple of this."""
        return 2 ** (len(self.config.block_out_channels) - 1)

    def forward(self, sample: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        """`sample` (B, 3, H, W) in [-1, 1] (the low-res frame already resized to H x W), `segmap`
        (B, num_classes, H, W) one-hot -> (B, 3, H, W), not clamped."""
        if segmap.shape[1] != self.config.num_classes or segmap.shape[-2:] != sample.shape[-2:]:
            raise ValueError(f"segmap must be (B, {self.config.num_classes}, {sample.shape[-2]}, {sample.shape[-1]}), "
                             f"got {tuple(segmap.shape)}")
        h, w = sample.shape[-2:]
        if h % self.multiple or w % self.multiple:
            raise ValueError(f"input {w}x{h} (WxH) must divide by {self.multiple}; pad it first")
        x = self.conv_in(torch.cat([sample, segmap.to(sample.dtype)], dim=1))
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < len(self.pool):
                skips.append(x)
                x = self.pool[i](x)
        for block in self.up:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="nearest")
            x = block(torch.cat([x, skip], dim=1))
        return sample + self.conv_out(x)


__all__ = ["MaskUpsampler2DModel"]
