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
from engine.textedit.region import changed_shares

# A pre-segmenter: RGB frame -> HxW uint8 label of original CaDIS IDs, or an object with a `.label` array
# and a `.class_set` (like engine.preseg.PresegResult; for a merged class set the original label is remapped
# to that set before comparing).
Presegment = Callable[[np.ndarray], object]


def fidelity(original: np.ndarray, edited: np.ndarray) -> tuple[float, float]:
    """(PSNR in dB, SSIM on luminance) of the edited frame against the original."""
    return psnr(original, edited), ssim(original, edited)


def edit_label_miou(presegment: Presegment, edited: np.ndarray, label: np.ndarray,
                    within: Optional[np.ndarray] = None) -> float:
    """mIoU between the pre-segmenter's proposal for `edited` and `label` (255 = ignored); with `within`
    (HxW bool) only those pixels count: the label consistency of a region-restricted edit."""
    return proposal_mious(presegment, edited, label, [within])[0]


def proposal_mious(presegment: Presegment, edited: np.ndarray, label: np.ndarray,
                   regions: list[Optional[np.ndarray]]) -> list[float]:
    """One proposal for `edited`, its mIoU against `label` over each region (None = the whole frame)."""
    out = presegment(edited)
    pred = np.asarray(getattr(out, "label", out))
    class_set = getattr(out, "class_set", None)
    if class_set is not None and getattr(class_set, "key", "full") != "full":
        label = remap(label, class_set)
    if pred.shape != label.shape:
        raise ValueError(f"the pre-segmenter returned a {pred.shape} label for a frame whose label is "
                         f"{label.shape}")
    return [_miou(pred, label if r is None else np.where(r, label, IGNORE).astype(label.dtype)) for r in regions]


def _miou(pred: np.ndarray, label: np.ndarray) -> float:
    keep = label != IGNORE
    ids = np.concatenate([np.unique(pred[keep]), np.unique(label[keep])])
    num = max(36, int(ids.max()) + 1) if ids.size else 36
    _, miou = iou_from_confusion(confusion(np.where(keep, pred, 0).astype(pred.dtype), label, num))
    return miou


def score(original: np.ndarray, edited: np.ndarray, label: Optional[np.ndarray] = None,
          presegment: Optional[Presegment] = None, region: Optional[np.ndarray] = None) -> dict:
    """All scores of one edit: {"psnr", "ssim", "label_miou" (None without pre-segmenter or label)}; with
    `region` (HxW bool, the editable pixels) also "region_label_miou" (label consistency inside it only)
    and "changed_inside" / "changed_outside" (share of pixels that changed in / out of it)."""
    p, s = fidelity(original, edited)
    out = {"psnr": p, "ssim": s, "label_miou": None}
    if presegment is not None and label is not None:
        mious = proposal_mious(presegment, edited, label, [None] if region is None else [None, region])
        out["label_miou"] = mious[0]
        if region is not None:
            out["region_label_miou"] = mious[1]
    if region is not None:
        out["changed_inside"], out["changed_outside"] = changed_shares(original, edited, region)
        out.setdefault("region_label_miou", None)
    return out


def open_presegmenter(model_dir, head_dir, device: str = "cpu") -> Presegment:
    """A Presegment callable from a trained pre-segmentation head (engine.preseg)."""
    from engine.preseg import Presegmenter

    pre = Presegmenter.open(model_dir, head_dir, device=device, cache_size=0)
    return pre.presegment
