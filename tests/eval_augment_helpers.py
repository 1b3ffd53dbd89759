"""A tiny phantom project with accepted synthetic pairs, for the eval-augment tests (CLI, service, app)."""
from __future__ import annotations

import numpy as np

from augment_helpers import fake_generate, make_project


def project_with_pairs(root, videos: int = 3, frames: int = 2, accepted: bool = True):
    """Phantom project (every frame done) with one augment pair per frame (the frame's label flipped, imaged by the
    fake generator), accepted; returns (project root, {pair id: parent video})."""
    project = make_project(root, videos=videos, frames=frames)
    parents = {}
    for k in project.frame_keys():
        label = np.ascontiguousarray(project.load_label(k)[:, ::-1])
        image = fake_generate(label, 1)
        import cv2

        image = cv2.resize(image, (label.shape[1], label.shape[0]), interpolation=cv2.INTER_LINEAR)
        pid = project.add_pair(image, label, source="augment", provenance={"test": True}, parent_key=k)
        if accepted:
            project.set_pair_status(pid, "accepted")
        parents[pid] = project.record(k).video
    root = project.root
    project.close()
    return root, parents
