"""Pre-segmenting frames with a trained head.

`Presegmenter.presegment(image)` returns a `PresegResult` at the image's own size:
- `label`: HxW uint8 **class-set IDs** of the head's class set. For the full class set these ARE the
  original CaDIS IDs 0..35; for a merged experiment class set (1/2/3) they are that experiment's IDs
  (e.g. 7 = "Instrument" in experiment 1). `engine.labels.to_original_ids` maps them back to original IDs (each
  merged class becomes the first original ID of its group) when a project needs original IDs.
- `probs`: (K, H, W) float32 soft-voted class probabilities;
- `uncertainty`: HxW float32 Jensen-Shannon divergence across the ensemble members;
- `score`: the frame's uncertainty, the mean of its top 10% pixels (at the head's working resolution);
- `removed_classes`: classes the presence gate took out of this frame (`engine.preseg.presence`);
- `shift`: how unlike the head's training frames this frame is (1.0 = at the limit), `out_of_distribution`
  whether that is beyond the head's threshold, and `shift_part` which respect decides it: "features",
  "colour", "balance" or "sharpness" (`engine.preseg.shift`; None / False for old heads).

Probabilities are upsampled to the frame's size and guided-filtered with the frame
(`engine.preseg.refine`), so edges follow the image. With `flip_average` the frame and its mirror
image are both classified and the (un-mirrored) probabilities averaged.

Features of the last few frames are cached by key, so switching between frames does not recompute.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch.nn.functional as F

from engine.taxonomy import ClassSet

from .features import FeatureExtractor, Features, open_extractor
from .head_dir import ModelMismatchError, PresegHead, load_head
from .presence import suppress_small_classes
from .refine import upsample_probs
from .trust import contradictions, head_warnings, video_of, video_warning, videos_of
from .uncertainty import frame_score


@dataclass
class PresegResult:
    """A proposal for one frame (see the module docstring for the meaning of each field)."""

    label: np.ndarray
    probs: np.ndarray
    uncertainty: np.ndarray
    score: float
    class_set: ClassSet
    removed_classes: tuple[int, ...] = ()
    shift: float | None = None
    out_of_distribution: bool = False
    shift_part: str | None = None
    warnings: tuple[str, ...] = ()  # too few training frames, a new video, contradictions (`trust`)

    @property
    def flagged(self) -> bool:
        """True when the proposal should not be accepted without asking (shifted or any warning)."""
        return bool(self.out_of_distribution or self.warnings)

    @property
    def confidence(self) -> np.ndarray:
        """HxW float32: the probability of the chosen class."""
        return self.probs.max(axis=0)


class FeatureCache:
    """A small least-recently-used cache of frame features keyed by frame key."""

    def __init__(self, size: int = 3):
        self.size = max(0, int(size))
        self._items: OrderedDict[str, Features] = OrderedDict()

    def get(self, key: str) -> Features | None:
        f = self._items.get(key)
        if f is not None:
            self._items.move_to_end(key)
        return f

    def put(self, key: str, feats: Features) -> None:
        if self.size == 0:
            return
        self._items[key] = feats
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def clear(self) -> None:
        self._items.clear()


class Presegmenter:
    """A diffusion model's feature extractor plus a head trained on it.

    `area_gate` overrides the head's presence gate (0 = propose every class, however small its area).
    """

    def __init__(self, extractor: FeatureExtractor, head: PresegHead, cache_size: int = 3,
                 area_gate: float | None = None, flip_average: bool = False, refine: bool = True):
        if extractor.fingerprint != head.model_fingerprint:
            raise ModelMismatchError(
                f"the head was trained on diffusion model {head.model_fingerprint[:12]}, not on this model "
                f"({extractor.fingerprint[:12]}): retrain the head with `cadis train-preseg` for this model")
        self.extractor = extractor
        self.head = head
        self.cache = FeatureCache(cache_size)
        self.area_gate = head.area_gate if area_gate is None else float(area_gate)
        self.flip_average = bool(flip_average)
        self.refine = bool(refine)
        self.video_scores: dict[str, dict[str, float]] = {}  # video -> {frame key: shift score}

    @classmethod
    def open(cls, model_dir: str | Path, head_dir: str | Path, device: str = "cpu",
             cache_size: int = 3, area_gate: float | None = None) -> "Presegmenter":
        """Load the model and the head; refuses a head trained on another model."""
        head = load_head(head_dir)
        return cls(open_extractor(model_dir, head.feature_config, device), head, cache_size, area_gate)

    def shift_score(self, image: np.ndarray, key: str | None = None) -> float | None:
        """The frame's distribution-shift score (None for a head without shift statistics)."""
        if self.head.shift is None:
            return None
        return self.head.shift.score(self.features(image, key).tensor, image)

    def features(self, image: np.ndarray, key: str | None = None) -> Features:
        """Features of a frame, from the cache when `key` was seen recently."""
        if key is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return hit
        feats = self.extractor.extract(image)
        if key is not None:
            self.cache.put(key, feats)
        return feats

    def prefetch(self, image: np.ndarray, key: str) -> None:
        """Compute and cache a frame's features ahead of time (e.g. the next frame)."""
        self.features(image, key)

    def presegment(self, image: np.ndarray, key: str | None = None) -> PresegResult:
        """Propose a label for an HxWx3 uint8 RGB frame, at the frame's own size."""
        feats = self.features(image, key)
        probs, unc = self.head.predict(feats)
        if self.flip_average:
            mirrored = self.extractor.extract(np.ascontiguousarray(image[:, ::-1]))
            p2, u2 = self.head.predict(mirrored)
            probs, unc = (probs + p2.flip(-1)) / 2, (unc + u2.flip(-1)) / 2
        removed: list[int] = []
        if self.head.min_area_fractions is not None:
            probs, removed = suppress_small_classes(probs, self.head.min_area_fractions, self.area_gate)
        score = frame_score(unc)
        h, w = image.shape[:2]
        full = upsample_probs(probs, image, self.refine)
        if (h, w) != tuple(unc.shape):
            unc = F.interpolate(unc[None, None], size=(h, w), mode="bilinear", align_corners=False)[0, 0]
        shift, part = (None, None) if self.head.shift is None else self.head.shift.assess(feats.tensor, image)
        ood = shift is not None and shift > self.head.shift.threshold
        label = full.argmax(axis=0).astype(np.uint8)
        return PresegResult(label, full, unc.clamp_min(0).numpy().astype(np.float32, copy=False), score,
                            self.head.class_set, tuple(removed), None if shift is None else round(shift, 4),
                            bool(ood), part, self.warnings(key, shift, label, full.max(axis=0), removed))

    def warnings(self, key: str | None, shift: float | None, label: np.ndarray, confidence: np.ndarray,
                 removed) -> tuple[str, ...]:
        """What a proposal must say beside its shift score (`engine.preseg.trust`)."""
        meta = self.head.meta if isinstance(self.head.meta, dict) else {}
        out = head_warnings(meta)
        if key is not None:
            video = video_of(key)
            frames = meta.get("frames")
            seen = videos_of(str(k) for k in frames) if isinstance(frames, list) else []
            scores = self.video_scores.setdefault(video, {})
            if shift is not None:
                scores[key] = float(shift)
            w = video_warning(video, seen, list(scores.values()))
            if w:
                out.append(w)
        out += contradictions(label, confidence, self.head.class_set, meta.get("class_layout"), removed)
        return tuple(out)
