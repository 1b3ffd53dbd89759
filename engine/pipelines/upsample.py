"""From a UNet-size sample to a frame at the mask's own size: bicubic, then the folder's mask upsampler (when it
has one). Shared by the synthesis pipeline and the distilled preview student."""
from __future__ import annotations

import numpy as np
import torch

from engine.models.segmap import mask_to_segmap


def to_uint8(x: torch.Tensor) -> list[np.ndarray]:  # noqa: D103
    """(B, 3, H, W) in [-1, 1] -> list of HxWx3 uint8 RGB."""
    arr = ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return [np.ascontiguousarray(a) for a in arr]


def _pad_to(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = torch.nn.functional.pad(x, (0, pw, 0, ph), mode="replicate")
    return x, (h, w)


def lift_to_mask_size(low: torch.Tensor, mask: np.ndarray, upsampler, class_set, image=None,
                      region=None) -> np.ndarray:
    """One UNet-size sample (1, 3, h, w) in [-1, 1] -> HxWx3 uint8 at the mask's size: bicubic, then the mask
    upsampler when the model folder has one. Shared by the pipeline and the distilled student."""
    h, w = mask.shape
    up = low.float().clamp(-1, 1)
    if tuple(up.shape[-2:]) != (h, w):
        up = torch.nn.functional.interpolate(up, size=(h, w), mode="bicubic", align_corners=False)
    if image is not None:  # outside the region the upsampler sees the real frame itself
        real = torch.from_numpy(image).permute(2, 0, 1)[None].float().div(127.5).sub(1).to(up.device)
        keep = torch.from_numpy(~region).to(up.device)[None, None]
        up = torch.where(keep, real, up)
    if upsampler is not None:
        seg = mask_to_segmap(mask, class_set).to(up.device)
        x, (h0, w0) = _pad_to(up, upsampler.multiple)
        seg, _ = _pad_to(seg, upsampler.multiple)
        p = next(upsampler.parameters())
        up = upsampler(x.to(p.device, p.dtype), seg.to(p.device, p.dtype)).float()[..., :h0, :w0]
    return to_uint8(up)[0]
