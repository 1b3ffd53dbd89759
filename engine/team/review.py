"""Reviewing a disputed frame: where its versions differ, the disputed region under a click, and taking one
annotator's version in that region as one undo step (engine.edits.accept_proposal), recorded in the dispute.

    versions = load_versions(project, key)
    region = region_at(versions, x, y)                       # None where the versions agree
    rec = session.apply(take_version, versions["ben"], region, policy)   # one undo step
    record_take(project, key, "ben", x, y, region)           # the decision, with the reviewer's name
"""
from __future__ import annotations

import cv2
import numpy as np

from engine.edits import PaintPolicy, UndoRecord, accept_proposal
from engine.project import Project, ProjectError


def load_versions(project: Project, key: str) -> dict[str, np.ndarray]:
    """Every kept version of a frame, by author (empty when the frame has none)."""
    return {v.author: project.load_version(key, v.author) for v in project.versions(key)}


def differ_mask(versions: dict[str, np.ndarray]) -> np.ndarray | None:
    """HxW bool: pixels where the versions do not all agree (None without two versions)."""
    labels = list(versions.values())
    if len(labels) < 2:
        return None
    first = labels[0]
    out = np.zeros(first.shape, bool)
    for other in labels[1:]:
        out |= other != first
    return out


def region_at(versions: dict[str, np.ndarray], x: int, y: int) -> np.ndarray | None:
    """The connected (8-neighbour) disputed region holding pixel (x, y), or None where the versions agree."""
    diff = differ_mask(versions)
    if diff is None or not (0 <= y < diff.shape[0] and 0 <= x < diff.shape[1]) or not diff[y, x]:
        return None
    _n, comp = cv2.connectedComponents(diff.astype(np.uint8), connectivity=8)
    return comp == comp[y, x]


def take_version(label: np.ndarray, version: np.ndarray, region: np.ndarray, policy: PaintPolicy | None = None,
                 description: str = "take a version") -> UndoRecord | None:
    """Write `version` into `label` inside `region` (every pixel, labelled or not): one undo step."""
    return accept_proposal(label, version, region, policy, description, replace_labels=True)


def record_take(project: Project, key: str, author: str, x: int, y: int, region: np.ndarray) -> None:
    """Record in the frame's dispute that the reviewer took `author`'s label in the region at (x, y)."""
    if author not in {v.author for v in project.versions(key)}:
        raise ProjectError(f"{key} has no version by {author}")
    project.record_decision(key, {"author": author, "x": int(x), "y": int(y), "pixels": int(region.sum())},
                            settled=False)


def settle(project: Project, key: str) -> None:
    """Close the frame's dispute: the reviewer accepts the label as it now is (the caller marks it done)."""
    project.record_decision(key, None, settled=True)


def open_disputes(project: Project) -> list[str]:
    """Keys of the frames whose dispute is still open, in dataset order."""
    return [d.key for d in project.disputes(open_only=True)]
