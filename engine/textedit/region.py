"""Where a region-restricted text edit may change pixels, and putting the edit back so nothing else moves.

A region is chosen in label terms (issue 28):

- "only": the union of the chosen classes, plus a feathered margin OUTSIDE them (the class border is
  blended into its neighbours);
- "keep": everything except the chosen (protected) classes; the feather lies INSIDE the editable part, so
  every protected pixel stays exactly as it was;
- "frame": no region (the whole frame, as before).

`EditRegion.soft` is the weight of the edited image per frame pixel: 1 where the edit is taken as is, a
linear ramp over `margin` pixels, and 0 beyond. `composite` copies the input wherever the weight is 0, so
those pixels are byte-identical to the input whatever the model did; the seam itself is harmonised during
denoising (engine.textedit.blend), the ramp only hides the VAE's last rounding.

The default margin is one latent cell in frame pixels (`default_margin`: 15 px for SD's 8-pixel cells at
960 px on a 512 canvas); benchmarks/bench_textedit.py measures the seam for several margins.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Optional

import cv2
import numpy as np

from engine.provenance import mask_digest
from engine.taxonomy import ANATOMY_IDS, CLASS_NAMES, IGNORE, INSTRUMENT_IDS, NUM_CLASSES

REGION_MODES = ("frame", "only", "keep")
MARGIN_CELLS = 1.0   # default feather width in latent cells (see default_margin)
CLASS_GROUPS = {"instruments": INSTRUMENT_IDS, "anatomy": ANATOMY_IDS}


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


_BY_NAME = {_norm(n): i for i, n in enumerate(CLASS_NAMES)}


def parse_classes(spec: str | Iterable) -> tuple[int, ...]:
    """Class IDs from "3,4", "pupil,iris", "Iris, 0", "instruments" or a list of IDs / names (sorted, unique).

    Names are matched without case, spaces or punctuation ("I/A handpiece" = "ia_handpiece"). An unknown
    name or an ID outside 0..35 is a ValueError naming it. An empty spec gives ()."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    ids: set[int] = set()
    for raw in items:
        item = str(raw).strip()
        if not item:
            continue
        if item.lstrip("-").isdigit():
            cid = int(item)
            if not 0 <= cid < NUM_CLASSES:
                raise ValueError(f"class ID {cid} does not exist: CaDIS IDs are 0..{NUM_CLASSES - 1}")
            ids.add(cid)
        elif _norm(item) in CLASS_GROUPS:
            ids.update(CLASS_GROUPS[_norm(item)])
        elif _norm(item) in _BY_NAME:
            ids.add(_BY_NAME[_norm(item)])
        else:
            raise ValueError(f"unknown class {item!r}: give CaDIS IDs (0..35) or names such as pupil, iris, "
                             "cornea, or 'instruments' / 'anatomy'")
    return tuple(sorted(ids))


def class_names(ids: Iterable[int]) -> list[str]:
    return [CLASS_NAMES[i] for i in ids]


def default_margin(frame_width: int, scaled_width: int, vae_scale: int, cells: float = MARGIN_CELLS) -> int:
    """`cells` latent cells in frame pixels: a latent cell covers `vae_scale` canvas pixels, and the frame
    is scaled by scaled_width / frame_width onto the canvas (at least 2 px)."""
    return max(2, int(math.ceil(cells * vae_scale * frame_width / max(1, scaled_width))))


@dataclass(frozen=True)
class EditRegion:
    """Where the edit goes in one frame: the classes' pixels and the feathered weight of the edit."""

    mode: str                    # "only" or "keep"
    classes: tuple[int, ...]     # the chosen classes (edited for "only", protected for "keep")
    margin: int                  # feather width in frame pixels
    core: np.ndarray             # HxW bool: pixels edited with full weight before feathering (the class part)
    soft: np.ndarray             # HxW float32 in [0, 1]: weight of the edited image
    auto: Optional[dict] = None  # the prompt-derived proposal it came from (engine.textedit.auto_region)

    @property
    def editable(self) -> np.ndarray:
        """Pixels the edit may change (weight > 0); every other pixel is copied from the input."""
        return self.soft > 0

    def composite(self, original: np.ndarray, edited: np.ndarray) -> np.ndarray:
        """The edited frame inside the region (feathered), the input's own bytes everywhere else."""
        if original.shape != edited.shape or original.shape[:2] != self.soft.shape:
            raise ValueError(f"region is {self.soft.shape}, frames are {original.shape} and {edited.shape}")
        w = self.soft[..., None]
        mixed = np.clip(np.rint(w * edited.astype(np.float32) + (1.0 - w) * original.astype(np.float32)), 0, 255)
        return np.where(self.editable[..., None], mixed.astype(np.uint8), original)

    def record(self) -> dict:
        """Provenance of the region (no pixels: a digest of the editable mask)."""
        ed = self.editable
        rec = {"mode": self.mode, "classes": list(self.classes), "class_names": class_names(self.classes),
               "margin_px": self.margin, "editable_pixels": int(ed.sum()), "editable_share": round(float(ed.mean()), 6),
               "mask_sha256": mask_digest(ed)}
        if self.auto is not None:
            rec["auto"] = self.auto
        return rec


def make_region(label: np.ndarray, mode: str, classes: Iterable[int], margin: int,
                auto: Optional[dict] = None) -> EditRegion:
    """The region of `classes` in `label` ("only": edit them; "keep": protect them, edit the rest).

    Refused with one line: no class chosen, or the chosen classes leave nothing to edit in this frame."""
    if mode not in ("only", "keep"):
        raise ValueError(f"unknown region mode {mode!r}: use only or keep")
    classes = tuple(sorted(set(int(c) for c in classes)))
    if not classes:
        raise ValueError("no class chosen: pick at least one class to "
                         + ("edit (--only-classes)" if mode == "only" else "protect (--keep-classes)"))
    if label.ndim != 2:
        raise ValueError(f"expected an HxW label, got shape {label.shape}")
    if margin < 0:
        raise ValueError(f"the margin must be 0 or more pixels, got {margin}")
    chosen = np.isin(label, classes)
    core = chosen if mode == "only" else ~chosen
    if not core.any():
        if mode == "only":
            raise ValueError(f"the chosen classes ({', '.join(class_names(classes))}) are not in this frame's "
                             "label: nothing to edit")
        raise ValueError("the protected classes cover the whole frame: nothing left to edit")
    soft = _feather(core, margin, outward=mode == "only")
    return EditRegion(mode, classes, int(margin), core, soft, auto)


def _feather(core: np.ndarray, margin: int, outward: bool) -> np.ndarray:
    """1 on `core`, a linear ramp of `margin` pixels (outside the core, or inside it), 0 elsewhere."""
    if margin == 0:
        return core.astype(np.float32)
    if outward:
        d = cv2.distanceTransform((~core).astype(np.uint8), cv2.DIST_L2, 5)   # distance to the core
        return np.where(core, 1.0, np.clip(1.0 - d / (margin + 1), 0.0, 1.0)).astype(np.float32)
    d = cv2.distanceTransform(core.astype(np.uint8), cv2.DIST_L2, 5)          # distance to the outside
    return np.where(core, np.clip(d / (margin + 1), 0.0, 1.0), 0.0).astype(np.float32)


def classes_in(label: np.ndarray) -> list[tuple[int, float]]:
    """(class ID, share of the frame) of every class present in `label` (ignore pixels left out)."""
    ids, counts = np.unique(label, return_counts=True)
    return [(int(i), float(c) / label.size) for i, c in zip(ids, counts) if i != IGNORE]


def changed_shares(original: np.ndarray, edited: np.ndarray, inside: np.ndarray) -> tuple[float, float]:
    """(share of pixels that changed inside `inside`, share outside it); a pixel changed if any channel did."""
    changed = np.any(original != edited, axis=2)
    share_in = float(changed[inside].mean()) if inside.any() else 0.0
    share_out = float(changed[~inside].mean()) if (~inside).any() else 0.0
    return share_in, share_out
