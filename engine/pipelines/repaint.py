"""Repaint only what changed: the region to re-synthesize and the final composite (numpy, no model).

`changed_region(parent_mask, edited_mask, margin)` is the set of pixels whose label changed, grown by
`margin` pixels; only these may differ from the real frame. `composite(real, generated, changed, region)`
keeps every pixel outside `region` byte-identical to `real`, takes the generated frame inside the changed
pixels, and blends the two across the margin (alpha falls from 1 at the changed pixels to 0 at the region's
edge, by distance), so the seam is a gradual hand-over instead of a cut. The diffusion side (the known area
pinned to the real frame at every step, RePaint-style resampling) lives in `engine.pipelines.synthesis`.
"""
from __future__ import annotations

import cv2
import numpy as np

DEFAULT_MARGIN = 16
MAX_CHANGED_SHARE = 0.5   # an edit that changes more of the frame than this is the sketch of another frame
_DILATE_UP_TO = 32        # larger radii are grown by a distance transform (time and memory do not grow with r²)


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def grow(region: np.ndarray, radius: int) -> np.ndarray:
    """`region` (bool HxW) dilated by a disk of `radius` pixels."""
    if radius <= 0 or not region.any():
        return region.astype(bool)
    h, w = region.shape[:2]
    if radius >= h + w:  # farther than any pixel of the frame: everything (never a kernel of radius² cells)
        return np.ones(region.shape, bool)
    if radius <= _DILATE_UP_TO:
        return cv2.dilate(region.astype(np.uint8), _disk(int(radius))).astype(bool)
    dist = cv2.distanceTransform((~region.astype(bool)).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return dist <= radius


def changed_region(parent_mask: np.ndarray, edited_mask: np.ndarray, margin: int = DEFAULT_MARGIN
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(changed, region): pixels whose label differs, and those grown by `margin` (both bool HxW)."""
    parent_mask, edited_mask = np.asarray(parent_mask), np.asarray(edited_mask)
    if parent_mask.shape != edited_mask.shape:
        raise ValueError(f"the edited mask is {edited_mask.shape[1]}x{edited_mask.shape[0]} but the frame's own mask is "
                         f"{parent_mask.shape[1]}x{parent_mask.shape[0]}; repaint needs masks of the frame's size")
    if margin < 0:
        raise ValueError("the margin must be 0 or more pixels")
    changed = parent_mask != edited_mask
    return changed, grow(changed, margin)


def check_changed_share(changed: np.ndarray, allow_large_change: bool = False) -> None:
    """Refuse (ValueError) a repaint whose edited mask differs from the frame's own mask in most of the frame:
    the sketch belongs to another frame, or the parent mask is not this frame's label."""
    share = float(changed.mean()) if changed.size else 0.0
    if share > MAX_CHANGED_SHARE and not allow_large_change:
        raise ValueError(f"the edited mask differs from the frame's own mask in {share:.0%} of the frame, more than "
                         f"the {MAX_CHANGED_SHARE:.0%} a repaint changes: it looks like the sketch of another frame, or "
                         "the parent mask is not this frame's label. Check both, or synthesize the whole frame (no "
                         "repaint), or allow it (--allow-large-change)")


def blend_alpha(changed: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Float HxW in [0, 1]: 1 on `changed`, 0 outside `region`, falling linearly with distance in between."""
    if not changed.any():
        return np.zeros(changed.shape, np.float32)
    dist_in = cv2.distanceTransform((~changed).astype(np.uint8), cv2.DIST_L2, 3)   # distance to the change
    dist_out = cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, 3)      # distance to the region's edge
    alpha = dist_out / np.maximum(dist_in + dist_out, 1e-6)
    alpha[changed] = 1.0
    alpha[~region] = 0.0
    return alpha.astype(np.float32)


def composite(real: np.ndarray, generated: np.ndarray, changed: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The repainted frame: `real` outside `region` (byte-identical), `generated` on `changed`, blended between."""
    if real.shape != generated.shape:
        raise ValueError(f"frames differ in size: {real.shape} vs {generated.shape}")
    alpha = blend_alpha(changed, region)[..., None]
    mixed = np.clip(np.rint(alpha * generated.astype(np.float32) + (1 - alpha) * real.astype(np.float32)), 0, 255)
    return np.where(region[..., None], mixed.astype(np.uint8), real)


def low_res_region(region: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`region` at the diffusion model's (H, W): a low-res pixel is unknown if any of its pixels is in the region,
    grown by one low-res pixel so the sampler has context to blend into."""
    h, w = size
    frac = cv2.resize(region.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    return grow(frac > 0, 1)




# ------------------------------------------------------------------ RePaint steps (torch, scheduler-agnostic maths)
def _alpha_prev(scheduler, timesteps, i):
    import torch

    if i + 1 < len(timesteps):
        return scheduler.alphas_cumprod[int(timesteps[i + 1])]
    return torch.tensor(1.0)


def pin_known(scheduler, x_prev, known, unknown, timesteps, i, gen):
    """After denoising step i: the known area (`unknown` == 0) replaced by the real frame `known` noised to the
    step's target level, so the sample keeps following the real frame there."""
    import torch

    a = _alpha_prev(scheduler, timesteps, i).to(x_prev.device)
    noise = torch.randn(x_prev.shape, generator=gen).to(x_prev.device)
    return unknown * x_prev + (1 - unknown) * (a.sqrt() * known + (1 - a).sqrt() * noise)


def renoise(scheduler, x_prev, timesteps, i, gen):
    """RePaint's resampling: take x at step i's target level back up to step i's level with fresh noise."""
    import torch

    a_t = scheduler.alphas_cumprod[int(timesteps[i])].to(x_prev.device)
    ratio = a_t / _alpha_prev(scheduler, timesteps, i).to(x_prev.device)
    noise = torch.randn(x_prev.shape, generator=gen).to(x_prev.device)
    return ratio.sqrt() * x_prev + (1 - ratio).sqrt() * noise


def encode_region(region: np.ndarray) -> str:
    """A bool HxW mask as a short text (PNG, base64) for a pair's provenance."""
    import base64

    ok, buf = cv2.imencode(".png", region.astype(np.uint8) * 255, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise ValueError("could not encode the changed-region mask")
    return base64.b64encode(buf.tobytes()).decode("ascii")


def decode_region(text: str) -> np.ndarray:
    """Inverse of `encode_region`."""
    import base64

    arr = cv2.imdecode(np.frombuffer(base64.b64decode(text), np.uint8), cv2.IMREAD_GRAYSCALE)
    if arr is None:
        raise ValueError("the changed-region mask in the provenance is damaged")
    return arr > 127


def repaint_provenance(result, parent_key: str | None = None) -> dict:
    """What a repainted pair records: parent frame, changed-region mask (and its size), model, seed, settings."""
    return {"mode": "repaint", "parent_frame": parent_key, "changed_region": encode_region(result.changed),
            "changed_pixels": int(result.changed.sum()), "repainted_pixels": int(result.region.sum()),
            "margin": result.settings.get("margin"), "model": result.settings.get("model"),
            "seed": result.seeds[0] if result.seeds else None, "settings": dict(result.settings)}


__all__ = ["DEFAULT_MARGIN", "blend_alpha", "changed_region", "composite", "decode_region", "encode_region", "grow",
           "low_res_region", "pin_known", "renoise", "repaint_provenance"]
