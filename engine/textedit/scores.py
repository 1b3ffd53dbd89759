"""Scores shown with every edit: fidelity to the original frame and whether the label still fits.

- PSNR and SSIM against the original frame (engine.metrics.image; the seed work's fidelity metrics).
- Label mIoU of the edit (`edit_label_miou`): the mIoU between a pre-segmenter's proposal on the EDITED frame
  and the frame's original label (over the IDs either holds; not `engine.curation.label_consistency`, which
  scores a stored pair over a class set). A low value says the edit moved or erased anatomy, so the (edited frame, original
  label) pair would teach the wrong thing.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from engine.metrics.image import psnr, ssim
from engine.metrics.seg import confusion, iou_from_confusion
from engine.taxonomy import IGNORE, remap

# A pre-segmenter: RGB frame -> HxW uint8 label of original CaDIS IDs, or an object with a `.label` array
# and a `.class_set` (like engine.preseg.PresegResult; for a merged class set the original label is remapped
# to that set before comparing).
Presegment = Callable[[np.ndarray], object]


def fidelity(original: np.ndarray, edited: np.ndarray) -> tuple[float, float]:
    """(PSNR in dB, SSIM on luminance) of the edited frame against the original."""
    return psnr(original, edited), ssim(original, edited)


def edit_label_miou(presegment: Presegment, edited: np.ndarray, label: np.ndarray) -> float:
    """mIoU between the pre-segmenter's proposal for `edited` and `label` (255 = ignored)."""
    out = presegment(edited)
    pred = np.asarray(getattr(out, "label", out))
    class_set = getattr(out, "class_set", None)
    if class_set is not None and getattr(class_set, "key", "full") != "full":
        label = remap(label, class_set)
    if pred.shape != label.shape:
        raise ValueError(f"the pre-segmenter returned a {pred.shape} label for a frame whose label is "
                         f"{label.shape}")
    ids = np.concatenate([np.unique(pred), np.unique(label[label != IGNORE])])
    num = max(36, int(ids.max()) + 1) if ids.size else 36
    _, miou = iou_from_confusion(confusion(pred, label, num))
    return miou


def score(original: np.ndarray, edited: np.ndarray, label: Optional[np.ndarray] = None,
          presegment: Optional[Presegment] = None) -> dict:
    """All scores of one edit: {"psnr", "ssim", "label_miou" (None without pre-segmenter or label)}."""
    p, s = fidelity(original, edited)
    miou = edit_label_miou(presegment, edited, label) if presegment is not None and label is not None else None
    return {"psnr": p, "ssim": s, "label_miou": miou}


def open_presegmenter(model_dir, head_dir, device: str = "cpu") -> Presegment:
    """A Presegment callable from a trained pre-segmentation head (engine.preseg)."""
    from engine.preseg import Presegmenter

    pre = Presegmenter.open(model_dir, head_dir, device=device, cache_size=0)
    return pre.presegment
