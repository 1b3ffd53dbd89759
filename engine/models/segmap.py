"""CaDIS label -> one-hot segmentation map, the form the SPADE model takes its mask in."""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
import torch

from engine.labels import resize_label
from engine.taxonomy import IGNORE, ClassSet, get_class_set  # noqa: F401  (IGNORE re-exported)


def one_hot(ids: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(B, H, W) integer class IDs (IGNORE allowed) -> (B, num_classes, H, W) float; ignored pixels all zero."""
    ids = ids.long()
    valid = ids < num_classes
    oh = torch.zeros(ids.shape[0], num_classes, *ids.shape[1:], dtype=torch.float32, device=ids.device)
    oh.scatter_(1, torch.where(valid, ids, torch.zeros_like(ids)).unsqueeze(1), 1.0)
    return oh * valid.unsqueeze(1)


def mask_to_segmap(label_ids: Union[np.ndarray, torch.Tensor], class_set: Union[ClassSet, str, int, None],
                   size: Optional[Sequence[int]] = None) -> torch.Tensor:
    """Original CaDIS IDs (HxW or BxHxW, uint8) -> one-hot float (B, num_classes, H', W').

    Steps: remap to `class_set` (engine.taxonomy), nearest-resize to `size` = (H', W') when given, one-hot.
    Ignored pixels (255 after the remap) become all-zero vectors, like the null mask.
    """
    cs = class_set if isinstance(class_set, ClassSet) else get_class_set(class_set)
    arr = label_ids.detach().cpu().numpy() if torch.is_tensor(label_ids) else np.asarray(label_ids)
    if arr.dtype != np.uint8:
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise ValueError("label IDs must lie in 0..255 (CaDIS IDs 0..35, 255 = ignore)")
        arr = arr.astype(np.uint8)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"a label is HxW (or BxHxW) class IDs, got shape {arr.shape}")
    remapped = cs.lut[arr]
    if size is not None:
        remapped = np.stack([resize_label(a, size) for a in remapped])
    ids = torch.from_numpy(np.ascontiguousarray(remapped))
    return one_hot(ids, cs.num_classes)


__all__ = ["IGNORE", "mask_to_segmap", "one_hot", "resize_label"]
