"""The folder guard: a bounded look that tells a dataset or frame folder from folders nobody should index."""
from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.project.folder_guard import check_folder


def _png(path: Path, w: int = 96, h: int = 54, grey: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(str(path)))
    img = rng.integers(0, 255, (h, w) if grey else (h, w, 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), img)


@pytest.fixture
def frames(tmp_path):
    root = tmp_path / "frames"
    for i in range(5):
        _png(root / f"frame{i:03d}.png")
    return root


def test_cadis_dataset_and_frame_folder_pass(phantom_root, frames):
    check = check_folder(phantom_root)
    assert check.kind == "cadis" and check.looks_like_dataset, check.reasons
    check = check_folder(frames)
    assert check.kind == "frames" and check.looks_like_dataset and check.images == 5, check.reasons
    assert check.project_dir == frames.parent / "frames.cadis-project"


def test_mixed_sizes_masks_and_screenshots_are_named(frames):
    _png(frames / "other.png", 640, 480)
    _png(frames / "frame_mask.png", grey=True)
    _png(frames / "Screenshot 2026-01-01.png")
    check = check_folder(frames)
    assert not check.looks_like_dataset
    text = " ".join(check.reasons)
    assert "different sizes" in text and "640x480" in text
    assert "masks" in text and "screenshots" in text
    assert str(check.project_dir) in check.message()


def test_deep_tree_and_empty_folder(tmp_path):
    deep = tmp_path / "deep"
    _png(deep / "a" / "b" / "c" / "d" / "x.png")
    assert any("deep tree" in r for r in check_folder(deep).reasons)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert any("no image files" in r for r in check_folder(empty).reasons)


def test_system_folders_are_refused():
    assert any("temporary" in r for r in check_folder(tempfile.gettempdir()).reasons)
    assert any("home" in r for r in check_folder(Path.home()).reasons)
    assert check_folder("/").reasons  # the filesystem root itself


def test_project_folder_passes(phantom_root, tmp_path):
    from engine.project import Project

    p = Project.open_or_create(phantom_root, tmp_path / "p.cadis-project")
    p.close()
    check = check_folder(tmp_path / "p.cadis-project")
    assert check.kind == "project" and check.looks_like_dataset and check.project_dir is None


def test_the_guard_writes_nothing(frames):
    before = sorted(p.name for p in frames.parent.iterdir())
    check_folder(frames)
    assert sorted(p.name for p in frames.parent.iterdir()) == before
