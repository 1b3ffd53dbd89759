"""Image and prompt geometry between a frame and a segment-anything model's input, from the processor config.

Done here (numpy + OpenCV) rather than by the transformers processors, because the SAM 2 and SAM 3 image
processors need torchvision, which a CPU install may not have. Two layouts, as the processors do them:
- SAM: the longest side resized to `size.longest_edge`, the rest padded (bottom/right) to `pad_size`;
- SAM 2 / SAM 3: the frame resized to `size.height` x `size.width`, aspect not kept.
Pixels are rescaled (`rescale_factor`) and normalised (`image_mean`, `image_std`). A point at frame pixel
(x, y) means the pixel's centre; masks come back at the frame's own size.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


@dataclass(frozen=True)
class Prep:
    """How one model wants its input: the size it is resized to, the padded size, normalisation."""

    keep_aspect: bool
    size: tuple[int, int]      # (H, W) for a fixed resize; (L, L) for a longest-edge resize
    pad: tuple[int, int]       # (H, W) of the tensor the model sees
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    rescale: float

    @classmethod
    def from_processor(cls, proc: dict, model_size: int) -> "Prep":
        size = proc.get("size") or {}
        if "longest_edge" in size:
            edge = int(size["longest_edge"])
            pad = proc.get("pad_size") or {"height": edge, "width": edge}
            out = cls(True, (edge, edge), (int(pad.get("height", edge)), int(pad.get("width", edge))),
                      _triple(proc, "image_mean", IMAGENET_MEAN), _triple(proc, "image_std", IMAGENET_STD),
                      _rescale(proc))
        else:
            h, w = int(size.get("height", model_size)), int(size.get("width", model_size))
            out = cls(False, (h, w), (h, w), _triple(proc, "image_mean", IMAGENET_MEAN),
                      _triple(proc, "image_std", IMAGENET_STD), _rescale(proc))
        if out.pad != (model_size, model_size):
            raise ValueError(f"the processor makes {out.pad[1]}x{out.pad[0]} inputs but the model takes "
                             f"{model_size}x{model_size}; the folder mixes two models")
        return out

    def resized(self, h: int, w: int) -> tuple[int, int]:
        """(H, W) of a frame of `h` x `w` after the resize (before padding)."""
        if not self.keep_aspect:
            return self.size
        scale = self.size[0] / max(h, w)
        return max(1, int(h * scale + 0.5)), max(1, int(w * scale + 0.5))

    def pixel_values(self, image: np.ndarray) -> np.ndarray:
        """1x3xHxW float32 model input from an HxWx3 uint8 RGB frame."""
        h, w = image.shape[:2]
        rh, rw = self.resized(h, w)
        small = cv2.resize(image, (rw, rh), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        small = (small * self.rescale - np.float32(self.mean)) / np.float32(self.std)
        out = np.zeros((self.pad[0], self.pad[1], 3), np.float32)
        out[:rh, :rw] = small
        return out.transpose(2, 0, 1)[None].copy()

    def scale_xy(self, h: int, w: int) -> tuple[float, float]:
        """Factors taking frame coordinates to model-input coordinates."""
        rh, rw = self.resized(h, w)
        return rw / w, rh / h

    def mask_prompt(self, mask: np.ndarray, size: int) -> np.ndarray:
        """1x1xSxS float32 logits for a HxW bool region, laid out like the image (resized, padded)."""
        h, w = mask.shape
        rh, rw = self.resized(h, w)
        canvas = np.zeros(self.pad, np.float32)
        canvas[:rh, :rw] = cv2.resize(mask.astype(np.float32), (rw, rh), interpolation=cv2.INTER_AREA)
        small = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)
        # a probability of 0 or 1 as a logit, clipped as micro-sam does (eps 1e-3: about +-6.9)
        p = np.clip(small, 1e-3, 1 - 1e-3)
        return np.log(p / (1 - p))[None, None].astype(np.float32)

    def masks_to_frame(self, low: np.ndarray, h: int, w: int) -> np.ndarray:
        """NxHxW float32 logits at the frame's size from the model's NxhxW low-resolution logits."""
        rh, rw = self.resized(h, w)
        n, mh, mw = low.shape
        # the low-resolution grid covers the padded input; keep the part over the resized frame
        ch, cw = max(1, round(mh * rh / self.pad[0])), max(1, round(mw * rw / self.pad[1]))
        out = np.empty((n, h, w), np.float32)
        for i in range(n):
            out[i] = cv2.resize(np.ascontiguousarray(low[i, :ch, :cw]), (w, h), interpolation=cv2.INTER_LINEAR)
        return out


def _triple(proc: dict, key: str, default: list[float]) -> tuple[float, float, float]:
    if proc.get("do_normalize", True) is False:
        return (0.0, 0.0, 0.0) if key == "image_mean" else (1.0, 1.0, 1.0)
    v = proc.get(key, default)
    return float(v[0]), float(v[1]), float(v[2])


def _rescale(proc: dict) -> float:
    return float(proc.get("rescale_factor", 1 / 255)) if proc.get("do_rescale", True) is not False else 1.0
