"""Indexing by names: CaDIS layout, plain folders, naming, split, and what is not a dataset."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.dataset import (
    FRAMES_PER_VIDEO, OFFICIAL_SPLIT, NotCadisError, frame_file_name, open_dataset, parse_frame_name,
    split_of, video_dir_name,
)

H, W = 12, 16


def write_pair(root: Path, video: int, frame: int, label: bool = True, image: bool = True) -> None:
    name = frame_file_name(video, frame)
    rng = np.random.default_rng(video * 1000 + frame)
    if image:
        (root / video_dir_name(video) / "Images").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / video_dir_name(video) / "Images" / name), rng.integers(0, 255, (H, W, 3), np.uint8))
    if label:
        (root / video_dir_name(video) / "Labels").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / video_dir_name(video) / "Labels" / name), rng.integers(0, 36, (H, W), np.uint8))


def test_names_follow_the_cadis_pattern():
    assert frame_file_name(1, 90) == "Video1_frame000090.png"
    assert video_dir_name(1) == "Video01" and video_dir_name(25) == "Video25"
    assert parse_frame_name("Video12_frame001234.png") == (12, 1234)
    assert parse_frame_name("Video1_frame000090.jpg") == (1, 90)
    for bad in ("video1_frame000090.png", "Video1_frame90.png", "Video1-frame000090.png", "x.png",
                "Video01_frame000090.png", "Video1_frame0000090.png", "Video1_frame\u0660\u0660\u0660\u0660\u0669\u0660.png",
                "Video1_frame000090.png\n"):
        assert parse_frame_name(bad) is None, bad
    from engine.dataset import parse_video_dir

    assert parse_video_dir("Video07") == 7
    assert [parse_video_dir(n) for n in ("Video7", "Video007", "Video\u0660\u0667", "Video07\n")] == [None] * 4


def test_official_split_matches_reference_counts():
    counts = {s: sum(FRAMES_PER_VIDEO[v] for v in vids) for s, vids in OFFICIAL_SPLIT.items()}
    assert counts == {"train": 3550, "val": 534, "test": 586}
    assert sum(FRAMES_PER_VIDEO.values()) == 4670
    assert [split_of(v) for v in (1, 2, 5, 7, 12, 16, 22, 25)] == [
        "train", "test", "val", "val", "test", "val", "test", "train"]
    assert split_of(26) == "unassigned" and split_of(None) == "unassigned"


def test_cadis_tree_is_indexed_sorted_with_split(tmp_path):
    for v, f in [(5, 30), (1, 90), (1, 60), (2, 10)]:
        write_pair(tmp_path, v, f)
    write_pair(tmp_path, 1, 120, label=False)  # image without label
    write_pair(tmp_path, 2, 20, image=False)  # label without image
    index = open_dataset(tmp_path)
    assert index.kind == "cadis" and index.root == tmp_path.resolve()
    assert [(f.video, f.frame) for f in index.frames] == [(1, 60), (1, 90), (1, 120), (2, 10), (5, 30)]
    assert [f.split for f in index.frames] == ["train", "train", "train", "test", "val"]
    assert index.frames[0].key == "Video01/Images/Video1_frame000060.png"
    assert index.frames[0].label_path == tmp_path.resolve() / "Video01/Labels/Video1_frame000060.png"
    assert index.by_key("Video01/Images/Video1_frame000120.png").label_path is None
    assert len(index.labelled()) == 4
    assert index.videos() == [1, 2, 5]
    assert [p.name for p in index.orphan_labels] == ["Video2_frame000020.png"]
    with pytest.raises(KeyError):
        index.by_key("Video09/Images/Video9_frame000001.png")


def test_indexing_never_decodes(tmp_path, monkeypatch):
    # Files that are not images at all index fine: only names are read.
    for v, f in [(1, 1), (1, 2), (3, 7)]:
        for sub in ("Images", "Labels"):
            p = tmp_path / video_dir_name(v) / sub / frame_file_name(v, f)
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(b"not a png")

    def boom(*a, **k):
        raise AssertionError("open_dataset decoded an image")

    monkeypatch.setattr(cv2, "imdecode", boom)
    monkeypatch.setattr(cv2, "imread", boom)
    index = open_dataset(tmp_path)
    assert len(index.frames) == 3 and len(index.labelled()) == 3


def test_bad_names_and_unexpected_files_are_scan_problems_not_frames(tmp_path):
    write_pair(tmp_path, 1, 1)
    images = tmp_path / "Video01" / "Images"
    (images / "notes.txt").write_text("hello")
    (images / "frame1.png").write_bytes(b"x")
    (images / "Video2_frame000005.png").write_bytes(b"x")  # wrong video for this folder
    (images / "sub").mkdir()
    (images / ".DS_Store").write_bytes(b"x")  # hidden files are ignored
    index = open_dataset(tmp_path)
    assert [f.key for f in index.frames] == ["Video01/Images/Video1_frame000001.png"]
    reasons = {p.path: p.reason for p in index.scan_problems}
    assert set(reasons) == {"Video01/Images/notes.txt", "Video01/Images/frame1.png",
                            "Video01/Images/Video2_frame000005.png", "Video01/Images/sub"}
    assert "unexpected file" in reasons["Video01/Images/notes.txt"]
    assert "bad file name" in reasons["Video01/Images/frame1.png"]
    assert "video 2" in reasons["Video01/Images/Video2_frame000005.png"]


def test_missing_labels_folder_is_a_video_still_to_label(tmp_path):
    """Issue 22: a new video nobody has labelled yet has no Labels/ folder; that is normal, not a problem."""
    write_pair(tmp_path, 3, 1, label=False)
    index = open_dataset(tmp_path)
    assert index.frames[0].label_path is None
    assert not index.scan_problems


def test_plain_folder_of_frames(tmp_path):
    img = np.zeros((8, 8, 3), np.uint8)
    cv2.imwrite(str(tmp_path / "b.png"), img)
    cv2.imwrite(str(tmp_path / "a.jpg"), img)
    (tmp_path / "day2").mkdir()
    cv2.imwrite(str(tmp_path / "day2" / "c.png"), img)
    (tmp_path / "readme.txt").write_text("x")
    (tmp_path / "day2" / "deeper").mkdir()
    cv2.imwrite(str(tmp_path / "day2" / "deeper" / "too_deep.png"), img)
    index = open_dataset(tmp_path)
    assert index.kind == "folder"
    assert [f.key for f in index.frames] == ["a.jpg", "b.png", "day2/c.png"]
    assert all(f.label_path is None and f.video is None and f.split == "unassigned" for f in index.frames)
    assert index.videos() == [] and index.orphan_labels == []


def test_not_cadis_folders_raise_helpful_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotCadisError, match="Video01"):
        open_dataset(tmp_path / "empty")
    with pytest.raises(NotCadisError, match="does not exist"):
        open_dataset(tmp_path / "missing")
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(NotCadisError, match="not a folder"):
        open_dataset(tmp_path / "file.png")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("x")
    with pytest.raises(NotCadisError):
        open_dataset(docs)
    parent = tmp_path / "download"
    write_pair(parent / "CaDIS", 1, 1)
    with pytest.raises(NotCadisError, match="did you mean .*CaDIS"):
        open_dataset(parent)
    with pytest.raises(NotCadisError, match="one video folder"):
        open_dataset(parent / "CaDIS" / "Video01")
    assert issubclass(NotCadisError, ValueError)
