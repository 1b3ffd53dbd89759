"""The one entry of "segment a structure": what `cadis segment` and the app's Segment tool both call.

A `Segmenter` holds a loaded model and its embedding cache: `embedding(image, frame)` makes (or reuses) the
frame's embedding, which the app computes in a background lane as soon as a frame opens; `candidates(image,
prompt, frame)` gives the model's alternative masks at the frame's size, best first; `segment_frame` writes the
chosen one into a label in a class under the paint rules (one undo step) or, for a repair, as the class's
new region.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from engine.edits.policy import PaintPolicy
from engine.edits.record import UndoRecord
from engine.jobs import JobContext
from engine.segment.apply import commit_candidate, replace_region
from engine.segment.cache import EmbeddingCache, image_key
from engine.segment.model import Candidates, Embedding, SegmentModel, load_segment_model
from engine.segment.prompt import Prompt
from engine.segment.text import FIND_THRESHOLD, union


class Segmenter:
    """A model plus its bounded embedding cache."""

    def __init__(self, model: SegmentModel, cache: EmbeddingCache | None = None) -> None:
        self.model = model
        self.cache = cache if cache is not None else EmbeddingCache()
        self._id = str(model.folder.path.resolve())

    @classmethod
    def open(cls, folder: str | Path, device: str = "auto", cache: EmbeddingCache | None = None) -> "Segmenter":
        return cls(load_segment_model(folder, device), cache)

    def key(self, image: np.ndarray, frame: str = "") -> tuple:
        return image_key(self._id, frame, image)

    def cached(self, image: np.ndarray, frame: str = "") -> Embedding | None:
        return self.cache.get(self.key(image, frame))

    def embedding(self, image: np.ndarray, frame: str = "", ctx: JobContext | None = None,
                  pause: Callable[[], None] | None = None) -> Embedding:
        """The frame's embedding, from the cache or made now (the slow step). `pause()` runs between the image
        encoder's blocks: it may wait (the app's frames made ahead wait while the annotator works) or raise to
        stop; a cancelled `ctx` alone lets an embedding under way finish (and keeps it)."""
        key = self.key(image, frame)
        emb = self.cache.get(key)
        if emb is None:
            if ctx is not None:
                ctx.report(0.0, f"{self.model.name}: embedding the frame")
                ctx.check()
            emb = self.model.embed(image) if pause is None else self.model.embed(image, pause)
            self.cache.put(key, emb)  # kept even if cancelled meanwhile: the frame may be asked for again
            if ctx is not None:
                ctx.check()
        if ctx is not None:
            ctx.report(1.0, "embedding ready")
        return emb

    def candidates(self, image: np.ndarray, prompt: Prompt, frame: str = "") -> Candidates:
        return self.model.predict(self.embedding(image, frame), prompt)

    @property
    def finds_by_name(self) -> bool:
        return hasattr(self.model, "find")

    def find(self, image: np.ndarray, phrases: list[str], frame: str = "", threshold: float = FIND_THRESHOLD) -> Candidates:
        """Every instance a SAM 3 text folder finds for the phrases (a class name and its synonyms)."""
        if not self.finds_by_name:
            raise ValueError(f"{self.model.name} segments from clicks and boxes; finding by name needs a SAM 3 "
                             "folder with its text encoder (model_type 'sam3')")
        return self.model.find(self.embedding(image, frame), phrases, threshold)


@dataclass
class SegmentResult:
    candidates: Candidates
    choice: int
    record: UndoRecord | None   # what writing it changed in the label (None: nothing)


def segment_frame(segmenter: Segmenter, image: np.ndarray, label: np.ndarray, prompt: Prompt, cls: int,
                  policy: PaintPolicy = PaintPolicy(), choice: int = 0, frame: str = "",
                  repair_region: np.ndarray | None = None) -> SegmentResult:
    """Segment `prompt` on `image` and write candidate `choice` into `label` (in place) as class `cls`.

    With `repair_region` (the class's current region, also the mask prompt) the result replaces that region;
    otherwise it is painted where `policy` allows."""
    _check_sizes(image, label)
    cands = segmenter.candidates(image, prompt, frame)
    if not 0 <= choice < len(cands):
        raise ValueError(f"the model gave {len(cands)} masks; choose 0..{len(cands) - 1}")
    mask = cands.masks[choice]
    if repair_region is not None:
        record = replace_region(label, repair_region, mask, cls, policy)
    else:
        record = commit_candidate(label, mask, cls, policy)
    return SegmentResult(cands, choice, record)


def find_in_frame(segmenter: Segmenter, image: np.ndarray, label: np.ndarray, phrases: list[str], cls: int,
                  policy: PaintPolicy = PaintPolicy("over_unlabelled"), frame: str = "",
                  threshold: float = FIND_THRESHOLD) -> SegmentResult:
    """Find every instance named by `phrases` and write their union into `label` as `cls` where `policy`
    allows (by default only unlabelled pixels, as a pre-segmentation proposal is accepted)."""
    _check_sizes(image, label)
    found = segmenter.find(image, phrases, frame, threshold)
    record = commit_candidate(label, union(found, label.shape), cls, policy) if len(found) else None
    return SegmentResult(found, 0, record)


def _check_sizes(image: np.ndarray, label: np.ndarray) -> None:
    if label.shape != image.shape[:2]:
        raise ValueError(f"the label {label.shape[::-1]} and the frame {image.shape[1::-1]} differ in size")
