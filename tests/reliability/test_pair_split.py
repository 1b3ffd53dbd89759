"""A synthetic pair has its parent frame's split: pairs made from val/test frames never reach training."""
from __future__ import annotations

import numpy as np
import pytest

from engine.export import export_cadis, read_manifest
from tests.reliability.data_loss_helpers import finished_project
from tests.reliability.helpers import H, W

FRAMES = ((1, 1), (2, 1), (5, 1))  # video 1 train, 2 test, 5 val


@pytest.fixture
def project(tmp_path):
    p = finished_project(tmp_path, frames=FRAMES)
    for key in p.frame_keys():
        pid = p.add_pair(np.zeros((H, W, 3), np.uint8), np.zeros((H, W), np.uint8), "synthesis", {}, parent_key=key)
        p.set_pair_status(pid, "accepted")
    orphan = p.add_pair(np.zeros((H, W, 3), np.uint8), np.zeros((H, W), np.uint8), "synthesis",
                        {"parent_key": "Video02/Images/Video2_frame000001.png"})  # parent only in provenance
    p.set_pair_status(orphan, "accepted")
    yield p
    p.close()


@pytest.mark.parametrize("split", ["all", "train", "val", "test"])
def test_pairs_of_val_and_test_frames_are_never_exported(project, tmp_path, split):
    export_cadis(project, tmp_path / split, split=split, include=("real", "synthetic"))
    manifest = read_manifest(tmp_path / split)
    synthetic = [f for f in manifest["frames"] if f["source"] != "real"]
    parents = {f["provenance"].get("parent_key") for f in synthetic}
    assert parents == ({"Video01/Images/Video1_frame000001.png"} if split in ("all", "train") else set())
    assert all(f["split"] == "train" for f in synthetic)
    skipped = " ".join(s["reason"] for s in manifest["skipped"])
    assert "a test frame" in skipped and "a val frame" in skipped
    assert all(f["split"] == split for f in manifest["frames"] if split != "all")
