"""`cadis info`, `cadis remap` and `cadis eval-seg`, run in-process."""
import json

import cv2
import numpy as np
import pytest

from engine.cli import main
from engine.dataset import frame_file_name, video_dir_name
from engine.imageio import read_label

H, W = 10, 14


def _tree(root, bad_label=False):
    for v, f in [(1, 1), (2, 1), (5, 3)]:
        d = root / video_dir_name(v)
        (d / "Images").mkdir(parents=True, exist_ok=True)
        (d / "Labels").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(d / "Images" / frame_file_name(v, f)), np.full((H, W, 3), 40 * v, np.uint8))
        cv2.imwrite(str(d / "Labels" / frame_file_name(v, f)), np.full((H, W), v, np.uint8))
    if bad_label:
        (root / "Video01" / "Labels" / frame_file_name(1, 1)).write_bytes(b"")
    return root


def test_info_json_prints_one_object_with_the_keys(tmp_path, capsys):
    root = _tree(tmp_path / "d", bad_label=True)
    assert main(["info", str(root), "--json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("videos", "frames", "unlabelled", "class_pixels", "problems"):
        assert key in out
    assert out["frames"] == 2 and out["videos"] == 2 and out["unlabelled"] == 0
    assert out["class_pixels"]["2"] == H * W and out["class_pixels"]["5"] == H * W and out["class_pixels"]["1"] == 0
    assert out["problems"] == [{"path": "Video01/Labels/Video1_frame000001.png", "reason": "file is empty"}]
    assert out["splits"]["test"] == 1 and out["splits"]["val"] == 1


def test_info_text_lists_histogram_split_and_problems(tmp_path, capsys):
    root = _tree(tmp_path / "d", bad_label=True)
    assert main(["info", str(root)]) == 0
    text = capsys.readouterr().out
    assert "Frames      2" in text and "train 0" in text and "val 1" in text and "test 1" in text
    assert "Hand" in text and "Skin" in text  # class names in the histogram
    assert "Video01/Labels/Video1_frame000001.png: file is empty" in text


def test_info_strict_exits_1_on_problems_and_0_when_clean(tmp_path, capsys):
    assert main(["info", str(_tree(tmp_path / "bad", bad_label=True)), "--strict"]) == 1
    assert main(["info", str(_tree(tmp_path / "good")), "--strict"]) == 0


def test_info_on_a_folder_that_is_not_cadis_fails_with_one_line(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x")
    assert main(["info", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cadis info:") and "Video01" in err and "\n" not in err


def test_remap_writes_each_experiment(tmp_path):
    label = np.arange(36, dtype=np.uint8).reshape(6, 6)
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), np.dstack([label] * 3))  # R=G=B input is accepted
    for exp, expect in [("1", [0, 6, 7, 7, 7]), ("2", [0, 6, 7, 12, 255]), ("3", [0, 6, 7, 24, 255])]:
        dst = tmp_path / f"out{exp}" / "x.png"
        assert main(["remap", str(src), str(dst), "--experiment", exp]) == 0
        out = read_label(dst)
        assert out.shape == (6, 6)
        assert [int(out.flat[i]) for i in (0, 6, 7, 24, 35)] == expect
    assert not list(tmp_path.rglob(".*.tmp"))  # atomic write left no temp file


def test_remap_refuses_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    cv2.imwrite(str(bad), np.array([[0, 40], [36, 1]], np.uint8))
    assert main(["remap", str(bad), str(tmp_path / "o.png"), "--experiment", "1"]) == 2
    assert "36, 40" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()
    assert main(["remap", str(tmp_path / "missing.png"), str(tmp_path / "o.png"), "--experiment", "1"]) == 2
    (tmp_path / "t.png").write_text("text")
    assert main(["remap", str(tmp_path / "t.png"), str(tmp_path / "o.png"), "--experiment", "2"]) == 2
    assert "not a readable image" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: experiment must be 1, 2 or 3
        main(["remap", str(bad), str(tmp_path / "o.png"), "--experiment", "4"])


def test_eval_seg_json_and_table(tmp_path, capsys):
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    pred.mkdir()
    gt.mkdir()
    cv2.imwrite(str(gt / "a.png"), np.array([[0, 0, 4, 4]], np.uint8))
    cv2.imwrite(str(pred / "a.png"), np.array([[0, 4, 4, 4]], np.uint8))
    assert main(["eval-seg", str(pred), str(gt), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["per_class"]["Pupil"] == pytest.approx(0.5) and out["per_class"]["Iris"] == pytest.approx(2 / 3)
    assert out["per_class"]["Hand"] is None
    assert out["miou"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert main(["eval-seg", str(pred), str(gt), "--experiment", "1"]) == 0
    text = capsys.readouterr().out
    assert "Instrument" in text and "mIoU" in text and f"{(0.5 + 2 / 3) / 2:.4f}" in text


def test_eval_seg_errors_exit_2(tmp_path, capsys):
    assert main(["eval-seg", str(tmp_path / "nope"), str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("cadis eval-seg:")
