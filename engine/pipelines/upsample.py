"""From a UNet-size sample to a frame at the mask's own size: bicubic, then the folder's mask upsampler (when it
has one). Shared by the synthesis pipeline and the distilled preview student.

The upsampler's full-resolution pass costs most of a full-size frame on a CPU (about 0.4-0.6 s at 480x270 and
2.5-4 s at 960x540 on one core, against ~0.13 s for one student step): a preview may run it at a fraction
`scale` of the mask's size (never below the UNet size) and bring that frame to the mask's size with the
edges drawn from the full-size mask (`engine.pipelines.refine`; plain bicubic with `edges=False`).
benchmarks/bench_preview.py measures them side by side. The final preset always lifts at scale 1."""
from __future__ import annotations

import cv2
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


def work_size(low_size, mask_size, scale: float) -> tuple[int, int]:
    """(H, W) the upsampler runs at for a lift at `scale` of the mask's size: at least the UNet size `low_size`,
    at most the mask's size."""
    (lh, lw), (h, w) = low_size, mask_size
    return min(h, max(lh, round(h * scale))), min(w, max(lw, round(w * scale)))


def lift_to_mask_size(low: torch.Tensor, mask: np.ndarray, upsampler, class_set, image=None,
                      region=None, scale: float = 1.0, edges: bool = True) -> np.ndarray:
    """One UNet-size sample (1, 3, h, w) in [-1, 1] -> HxWx3 uint8 at the mask's size: bicubic, then the mask
    upsampler when the model folder has one. Shared by the pipeline and the distilled student. With
    `scale` < 1 (previews; not with `image`) the upsampler runs on the mask resized (nearest) to `work_size`
    and its frame is brought to the mask's size by `mask_guided_resize` (`edges`), or bicubic."""
    if not 0.0 < scale <= 1.0:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    h, w = mask.shape
    if upsampler is not None and image is None and scale < 1.0:
        sh, sw = work_size(low.shape[-2:], (h, w), scale)
        if (sh, sw) != (h, w):
            from engine.labels import resize_label
            from engine.pipelines.refine import mask_guided_resize

            small_mask = resize_label(mask, (sh, sw))
            small = to_uint8(_lift(low, small_mask, upsampler, class_set))[0]
            if edges:
                return mask_guided_resize(small, small_mask, mask)
            return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return to_uint8(_lift(low, mask, upsampler, class_set, image, region))[0]


def _lift(low: torch.Tensor, mask: np.ndarray, upsampler, class_set, image=None, region=None) -> torch.Tensor:
    """`lift_to_mask_size` before the uint8 conversion: (1, 3, H, W) float at the mask's size."""
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
        x, seg = x.to(p.device, p.dtype), seg.to(p.device, p.dtype)
        if p.dtype == torch.bfloat16:  # NHWC: bf16 convolutions ~1.5x faster on CPU (fp32 ones barely change)
            x, seg = (v.contiguous(memory_format=torch.channels_last) for v in (x, seg))
        up = upsampler(x, seg).float()[..., :h0, :w0]
    return up
