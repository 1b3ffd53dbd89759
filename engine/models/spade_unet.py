"""`SpadeUNet2DModel`: a diffusion UNet whose middle and decoder blocks are modulated by a mask (SDM-style).

The encoder sees only the noisy image; every normalisation in the middle block and the decoder is a
`SpadeNorm` driven by the one-hot mask. The null mask (all zeros, `segmap=None`) gives the
unconditional prediction, so one model serves classifier-free guidance. Attention runs only at the
low resolutions listed in `attention_levels`. Works at non-square sizes (e.g. 72x128) whose sides divide
by `2 ** (len(block_out_channels) - 1)`.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from diffusers.models.modeling_utils import ModelMixin
from torch import nn
from torch.nn import functional as F

from engine.models.segmap import mask_to_segmap  # noqa: F401  (re-exported: part of the model contract)
from engine.models.spade import (
    Cond, Downsample, ResBlock, SelfAttention, SpadeModulation, SpadeNorm, SpadeResBlock, Upsample, _groups,
)


class DownBlock(nn.Module):
    """One encoder level: residual blocks (+ attention at low resolution), then an optional downsample."""

    def __init__(self, in_ch: int, out_ch: int, temb_ch: int, layers: int, attention: bool, downsample: bool,
                 dropout: float, head_dim: int):
        super().__init__()
        self.resnets = nn.ModuleList(ResBlock(in_ch if i == 0 else out_ch, out_ch, temb_ch, dropout) for i in range(layers))
        self.attentions = nn.ModuleList(SelfAttention(out_ch, head_dim) for _ in range(layers)) if attention else None
        self.downsample = Downsample(out_ch) if downsample else None

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        skips = []
        for i, res in enumerate(self.resnets):
            x = res(x, temb)
            if self.attentions is not None:
                x = self.attentions[i](x)
            skips.append(x)
        if self.downsample is not None:
            x = self.downsample(x)
            skips.append(x)
        return x, skips


class MidBlock(nn.Module):
    """SPADE residual block, self-attention, SPADE residual block at the lowest resolution."""

    def __init__(self, ch: int, temb_ch: int, num_classes: int, spade_hidden: int, dropout: float, head_dim: int,
                 spade_kernel: int = 3):
        super().__init__()
        self.res1 = SpadeResBlock(ch, ch, temb_ch, num_classes, spade_hidden, dropout, spade_kernel)
        self.attn = SelfAttention(ch, head_dim)
        self.res2 = SpadeResBlock(ch, ch, temb_ch, num_classes, spade_hidden, dropout, spade_kernel)

    def forward(self, x: torch.Tensor, temb: torch.Tensor, cond: Cond) -> torch.Tensor:
        return self.res2(self.attn(self.res1(x, temb, cond)), temb, cond)


class UpBlock(nn.Module):
    """One decoder level: SPADE residual blocks on [features, skip] (+ attention), then an optional upsample.

    Its forward returns the level's output feature map, so a forward hook on it sees decoder features.
    """

    def __init__(self, in_ch: int, out_ch: int, skip_chs: Sequence[int], temb_ch: int, num_classes: int,
                 attention: bool, upsample: bool, spade_hidden: int, dropout: float, head_dim: int,
                 spade_kernel: int = 3):
        super().__init__()
        chans = [in_ch] + [out_ch] * (len(skip_chs) - 1)
        self.resnets = nn.ModuleList(
            SpadeResBlock(c + s, out_ch, temb_ch, num_classes, spade_hidden, dropout, spade_kernel)
            for c, s in zip(chans, skip_chs)
        )
        self.attentions = nn.ModuleList(SelfAttention(out_ch, head_dim) for _ in skip_chs) if attention else None
        self.upsample = Upsample(out_ch) if upsample else None

    def forward(self, x: torch.Tensor, skips: list[torch.Tensor], temb: torch.Tensor, cond: Cond) -> torch.Tensor:
        for i, res in enumerate(self.resnets):
            x = res(torch.cat([x, skips.pop()], dim=1), temb, cond)
            if self.attentions is not None:
                x = self.attentions[i](x)
        if self.upsample is not None:
            x = self.upsample(x, size=tuple(skips[-1].shape[-2:]) if skips else None)
        return x


class SpadeUNet2DModel(ModelMixin, ConfigMixin):
    """Mask-conditioned diffusion UNet (images in [-1, 1], one-hot masks); predicts epsilon by default."""

    config_name = "config.json"

    @register_to_config
    def __init__(
        self,
        sample_size: Sequence[int] = (72, 128),
        in_channels: int = 3,
        out_channels: int = 3,
        num_classes: int = 36,
        class_set: str = "full",
        block_out_channels: Sequence[int] = (32, 64, 96, 128),
        layers_per_block: int = 2,
        attention_levels: Optional[Sequence[int]] = None,
        spade_hidden: int = 32,
        spade_kernel: int = 3,
        head_dim: int = 32,
        dropout: float = 0.0,
    ):
        super().__init__()
        levels = len(block_out_channels)
        h, w = (int(sample_size), int(sample_size)) if isinstance(sample_size, int) else (int(sample_size[0]), int(sample_size[1]))
        factor = 2 ** (levels - 1)
        if h % factor or w % factor:
            raise ValueError(
                f"sample size {w}x{h} (WxH) does not divide by {factor} = 2**(levels-1) for {levels} levels; "
                f"use fewer levels or a size such as 128x72 / 256x144"
            )
        att = set(range(levels - 1, levels)) if attention_levels is None else {int(a) for a in attention_levels}
        ch0 = block_out_channels[0]
        temb_ch = ch0 * 4
        self.time_proj = Timesteps(ch0, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embedding = TimestepEmbedding(ch0, temb_ch)
        self.conv_in = nn.Conv2d(in_channels, ch0, 3, padding=1)

        self.down_blocks = nn.ModuleList()
        skip_chs = [ch0]
        ch = ch0
        for i, out in enumerate(block_out_channels):
            last = i == levels - 1
            self.down_blocks.append(DownBlock(ch, out, temb_ch, layers_per_block, i in att, not last, dropout, head_dim))
            ch = out
            skip_chs += [out] * layers_per_block + ([] if last else [out])

        self.mid_block = MidBlock(ch, temb_ch, num_classes, spade_hidden, dropout, head_dim, spade_kernel)

        self.up_blocks = nn.ModuleList()
        for i, out in reversed(list(enumerate(block_out_channels))):
            mine = [skip_chs.pop() for _ in range(layers_per_block + 1)]
            self.up_blocks.append(
                UpBlock(ch, out, mine, temb_ch, num_classes, i in att, i != 0, spade_hidden, dropout, head_dim,
                        spade_kernel)
            )
            ch = out

        self.conv_norm_out = nn.GroupNorm(_groups(ch), ch)
        self.conv_out = nn.Conv2d(ch, out_channels, 3, padding=1)
        self._assign_spade_keys(levels)

    def _assign_spade_keys(self, levels: int) -> None:
        """Name every SpadeNorm (cache key) and record the scale it runs at (2**level below full size)."""
        for name, mod in self.named_modules():
            if isinstance(mod, SpadeNorm):
                mod.key = name
                if name.startswith("mid_block"):
                    mod.level = levels - 1
                else:  # up_blocks.{j}.resnets...: decoder level j runs at scale levels-1-j
                    mod.level = levels - 1 - int(name.split(".")[1])

    # ---------------------------------------------------------------- conditioning
    def _null_segmap(self, batch: int, size: tuple[int, int], like: torch.Tensor) -> torch.Tensor:
        return torch.zeros(batch, self.config.num_classes, *size, device=like.device, dtype=like.dtype)

    def _check_segmap(self, segmap: torch.Tensor) -> None:
        if segmap.ndim != 4 or segmap.shape[1] != self.config.num_classes:
            raise ValueError(
                f"segmap must be one-hot (B, {self.config.num_classes}, H, W) for class set "
                f"{self.config.class_set!r}, got shape {tuple(segmap.shape)}"
            )

    @torch.no_grad()
    def precompute_modulation(self, segmap: Optional[torch.Tensor], size: Optional[tuple[int, int]] = None) -> SpadeModulation:
        """All SPADE scale/shift maps for `segmap` (None = the null mask at `size` or the model size), once.

        The result does not depend on the timestep or the noisy image: pass it as `modulation=` at every
        sampling step instead of `segmap` to skip the SPADE convolutions there.
        """
        p = next(self.parameters())
        if segmap is None:
            size = size or tuple(self.config.sample_size)
            segmap = self._null_segmap(1, size, p)
        self._check_segmap(segmap)
        segmap = segmap.to(device=p.device, dtype=p.dtype)
        h, w = segmap.shape[-2:]
        maps = {}
        for mod in self.modules():
            if isinstance(mod, SpadeNorm):
                maps[mod.key] = mod.maps(segmap, (h >> mod.level, w >> mod.level))
        return SpadeModulation(maps, segmap.shape[0])

    # ---------------------------------------------------------------- forward
    def _embed_time(self, timestep: Union[torch.Tensor, float, int], batch: int, like: torch.Tensor) -> torch.Tensor:
        t = timestep if torch.is_tensor(timestep) else torch.tensor([timestep], device=like.device)
        t = t.to(like.device).reshape(-1)
        if t.numel() == 1:
            t = t.expand(batch)
        emb = self.time_proj(t).to(dtype=like.dtype)
        return self.time_embedding(emb)

    def forward(self, sample: torch.Tensor, timestep: Union[torch.Tensor, float, int],
                segmap: Optional[torch.Tensor] = None, modulation: Optional[SpadeModulation] = None) -> torch.Tensor:
        """Prediction for `sample` (B, C, H, W) at `timestep`: the noise (epsilon), or the clean image when the
        model folder's scheduler config says `prediction_type: "sample"` (the shipped starter model).

        Condition with `modulation` (from `precompute_modulation`, fastest), or `segmap` (one-hot,
        computed here), or neither (the null mask: unconditional).
        """
        b, _, h, w = sample.shape
        factor = 2 ** (len(self.config.block_out_channels) - 1)
        if h % factor or w % factor:
            raise ValueError(f"input {w}x{h} (WxH) must divide by {factor} for this model")
        if modulation is not None:
            cond: Cond = modulation
        elif segmap is not None:
            self._check_segmap(segmap)
            cond = segmap.to(dtype=sample.dtype)
        else:
            cond = self._null_segmap(b, (h, w), sample)
        temb = self._embed_time(timestep, b, sample)
        x = self.conv_in(sample)
        skips = [x]
        for block in self.down_blocks:
            x, s = block(x, temb)
            skips += s
        x = self.mid_block(x, temb, cond)
        for block in self.up_blocks:
            x = block(x, skips, temb, cond)
        return self.conv_out(F.silu(self.conv_norm_out(x)))
