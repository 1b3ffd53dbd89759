"""What validation finds: one `Problem` per bad file, gathered in a `ValidationReport`."""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.dataset.naming import SPLITS
from engine.taxonomy import NUM_CLASSES


@dataclass(frozen=True)
class Problem:
    """One problem with one file or folder; `path` is relative to the dataset root where possible."""

    path: str
    reason: str

    def to_json(self) -> dict:
        return {"path": self.path, "reason": self.reason}


@dataclass
class ValidationReport:
    """Counts over valid pairs only; every invalid file is in `problems` and out of all counts.

    `frames`: complete, readable image+label pairs of equal size with IDs in 0..35.
    `unlabelled`: readable images that have no label file: frames still to label, which is normal and not a
    problem; `to_label` lists their keys.
    `class_pixels`: original class ID -> pixel count over the valid pairs.
    `splits`: valid pairs per official split ("train", "val", "test", "unassigned").
    """

    videos: int
    frames: int
    unlabelled: int
    class_pixels: dict[int, int]
    problems: list[Problem]
    splits: dict[str, int] = field(default_factory=lambda: {s: 0 for s in SPLITS})
    kind: str = "cadis"
    to_label: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problems_fingerprint(self) -> str:
        """A short digest of the problems (paths and reasons): the app shows the same problems only once."""
        import hashlib

        text = "\n".join(f"{p.path}\t{p.reason}" for p in self.problems)
        return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:16]

    def to_json(self) -> dict:
        """A JSON-ready dict: videos, frames, unlabelled, class_pixels (string keys), problems, splits."""
        pixels = {str(i): int(self.class_pixels.get(i, 0)) for i in range(NUM_CLASSES)}
        for cid, n in sorted(self.class_pixels.items()):
            if cid >= NUM_CLASSES and n:
                pixels[str(cid)] = int(n)
        return {
            "kind": self.kind,
            "videos": self.videos,
            "frames": self.frames,
            "unlabelled": self.unlabelled,
            "splits": dict(self.splits),
            "class_pixels": pixels,
            "problems": [p.to_json() for p in self.problems],
        }
