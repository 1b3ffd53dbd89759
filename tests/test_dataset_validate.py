"""Validation reports every problem, and counts only valid pairs."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.dataset import Problem, frame_file_name, open_dataset, validate, video_dir_name
from engine.jobs import JobCancelled, JobContext

H, W = 12, 16


def path_of(root: Path, video: int, frame: int, sub: str) -> Path:
    p = root / video_dir_name(video) / sub / frame_file_name(video, frame)
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def put_image(root, video, frame, size=(H, W)):
    img = np.random.default_rng(frame).integers(0, 255, (*size, 3), np.uint8)
    cv2.imwrite(str(path_of(root, video, frame, "Images")), img)


def put_label(root, video, frame, label):
    cv2.imwrite(str(path_of(root, video, frame, "Labels")), label)


def png_bytes(arr) -> bytes:
    return cv2.imencode(".png", arr)[1].tobytes()


@pytest.fixture
def broken_tree(tmp_path):
    """Two valid pairs plus one instance of every problem validation must find."""
    root = tmp_path / "cadis"
    # valid: 1-channel label, 10 pixels of class 4, rest class 0
    lab = np.zeros((H, W), np.uint8)
    lab[0, :10] = 4
    put_image(root, 1, 1)
    put_label(root, 1, 1, lab)
    # valid: R=G=B 3-channel label, all class 35 but 5 pixels of class 6
    lab3 = np.full((H, W), 35, np.uint8)
    lab3[1, :5] = 6
    put_image(root, 5, 1)
    put_label(root, 5, 1, np.dstack([lab3] * 3))
    # truncated image
    data = png_bytes(np.random.default_rng(0).integers(0, 255, (H, W, 3), np.uint8))
    path_of(root, 1, 2, "Images").write_bytes(data[: len(data) // 2])
    put_label(root, 1, 2, lab)
    # empty label
    put_image(root, 1, 3)
    path_of(root, 1, 3, "Labels").write_bytes(b"")
    # text file named .png (image)
    path_of(root, 1, 4, "Images").write_text("this is not an image")
    put_label(root, 1, 4, lab)
    # size mismatch
    put_image(root, 2, 1)
    put_label(root, 2, 1, np.zeros((H // 2, W // 2), np.uint8))
    # ids outside 0..35
    bad = lab.copy()
    bad[5, 5] = 40
    bad[6, 6] = 36
    put_image(root, 2, 2)
    put_label(root, 2, 2, bad)
    # image without label (readable): unlabelled
    put_image(root, 2, 3)
    # label without image
    put_label(root, 2, 4, lab)
    # unexpected file
    (root / "Video02" / "Labels" / "notes.txt").write_text("x")
    return root


def test_every_problem_is_reported_and_only_valid_pairs_count(broken_tree):
    report = validate(open_dataset(broken_tree))
    by_path = {}
    for p in report.problems:
        by_path.setdefault(p.path, []).append(p.reason)
    assert report.frames == 2
    assert report.unlabelled == 1
    assert report.videos == 3  # video 1 and 5 (valid pairs), video 2 (a readable unlabelled image)
    assert report.splits == {"train": 1, "val": 1, "test": 0, "unassigned": 0}
    expected_paths = {
        "Video01/Images/Video1_frame000002.png",  # truncated
        "Video01/Labels/Video1_frame000003.png",  # empty
        "Video01/Images/Video1_frame000004.png",  # text
        "Video02/Labels/Video2_frame000001.png",  # size mismatch
        "Video02/Labels/Video2_frame000002.png",  # ids 36 and 40
        "Video02/Labels/Video2_frame000004.png",  # no image
        "Video02/Labels/notes.txt",  # unexpected
    }
    assert set(by_path) == expected_paths
    assert report.to_label == ["Video02/Images/Video2_frame000003.png"]  # no label yet: normal, not a problem
    assert "truncated" in by_path["Video01/Images/Video1_frame000002.png"][0]
    assert "empty" in by_path["Video01/Labels/Video1_frame000003.png"][0]
    assert "not a readable image" in by_path["Video01/Images/Video1_frame000004.png"][0]
    assert "8x6" in by_path["Video02/Labels/Video2_frame000001.png"][0]
    assert "16x12" in by_path["Video02/Labels/Video2_frame000001.png"][0]
    assert "36, 40" in by_path["Video02/Labels/Video2_frame000002.png"][0]
    assert "no image" in by_path["Video02/Labels/Video2_frame000004.png"][0]
    # histogram over the two valid pairs only, counted by hand
    n = H * W
    expected = {i: 0 for i in range(36)}
    expected[0] = n - 10
    expected[4] = 10
    expected[35] = n - 5
    expected[6] = 5
    assert report.class_pixels == expected


def test_to_json_has_the_documented_keys(broken_tree):
    out = validate(open_dataset(broken_tree)).to_json()
    for key in ("videos", "frames", "unlabelled", "class_pixels", "problems", "splits"):
        assert key in out
    assert out["class_pixels"]["4"] == 10 and set(out["class_pixels"]) == {str(i) for i in range(36)}
    assert all(set(p) == {"path", "reason"} for p in out["problems"])
    import json

    json.dumps(out)  # JSON-serialisable


def test_clean_tree_has_no_problems(tmp_path):
    for v in (1, 2):
        for f in (1, 2):
            put_image(tmp_path, v, f)
            put_label(tmp_path, v, f, np.full((H, W), v, np.uint8))
    report = validate(open_dataset(tmp_path))
    assert report.ok and report.problems == []
    assert report.frames == 4 and report.videos == 2
    assert report.class_pixels[1] == 2 * H * W and report.class_pixels[2] == 2 * H * W


def test_ignore_pixels_are_refused_unless_allowed(tmp_path):
    lab = np.zeros((H, W), np.uint8)
    lab[0, 0] = 255
    put_image(tmp_path, 1, 1)
    put_label(tmp_path, 1, 1, lab)
    strict = validate(open_dataset(tmp_path))
    assert strict.frames == 0 and "255" in strict.problems[0].reason
    relaxed = validate(open_dataset(tmp_path), allow_ignore=True)
    assert relaxed.frames == 1 and relaxed.class_pixels[255] == 1
    assert relaxed.to_json()["class_pixels"]["255"] == 1


def test_plain_folder_images_are_unlabelled_not_problems(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "b.png"), np.zeros((20, 30, 3), np.uint8))  # any size is fine
    (tmp_path / "c.png").write_bytes(b"")
    report = validate(open_dataset(tmp_path))
    assert report.kind == "folder" and report.unlabelled == 2 and report.frames == 0
    assert report.problems == [Problem("c.png", "file is empty")]


def test_progress_is_reported_and_cancel_stops(tmp_path):
    for f in range(1, 5):
        put_image(tmp_path, 1, f)
        put_label(tmp_path, 1, f, np.zeros((H, W), np.uint8))
    seen = []
    validate(open_dataset(tmp_path), JobContext(progress=lambda fr, msg: seen.append((fr, msg))))
    assert [round(fr, 2) for fr, _ in seen] == [0.25, 0.5, 0.75, 1.0]
    assert seen[0][1] == "Video01/Images/Video1_frame000001.png"
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(JobCancelled):
        validate(open_dataset(tmp_path), JobContext(cancelled=cancelled))


def test_phantom_sample_validates_clean(request):
    phantom = pytest.importorskip("engine.phantom")
    if not hasattr(phantom, "generate_dataset"):
        pytest.skip("engine.phantom.generate_dataset is not there yet")
    phantom_root = request.getfixturevalue("phantom_root")
    report = validate(open_dataset(phantom_root))
    assert report.problems == []
    assert report.frames == 9 and report.videos == 3
    assert sum(report.class_pixels.values()) == 9 * 960 * 540


def test_threaded_and_serial_validation_agree(broken_tree):
    index = open_dataset(broken_tree)
    serial = validate(index, workers=1)
    threaded = validate(index, workers=3)
    assert serial.to_json() == threaded.to_json()
