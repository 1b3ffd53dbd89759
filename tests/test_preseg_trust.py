"""Issue 22, item 3: warnings that fire on real shift. A head trained on too few frames says so before training
and on every proposal; a frame of a video the head never saw is compared with the head's videos as a video;
confident pixels that contradict what the head learnt, and instruments dropped as too small, are flagged."""
from __future__ import annotations

import json

import numpy as np
import pytest

from engine.cli import main
from engine.preseg.trust import (
    MIN_FRAMES, VIDEO_LIMIT, class_layout, contradictions, few_frames_warning, head_warnings, video_warning,
)
from engine.taxonomy import get_class_set
from tests.test_preseg_cli import FAST, make_model_dir

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_few_frames_and_one_video_are_warned():
    assert "1 labelled frame " in few_frames_warning(1, ["Video01"])
    assert "1 video" in few_frames_warning(MIN_FRAMES, ["Video01"])
    assert few_frames_warning(MIN_FRAMES, ["Video01", "Video02"]) is None
    assert head_warnings({"frames": ["Video01/Images/a.png"]})
    assert head_warnings({"frames": "not a list"}) == [] and head_warnings([]) == []


def test_a_new_video_is_judged_as_a_video():
    assert "new video" in video_warning("Video07", ["Video01"], [0.1])  # one training video: always said
    assert video_warning("Video01", ["Video01"], [0.9]) is None  # a video the head saw
    seen = ["Video01", "Video02"]
    assert video_warning("Video07", seen, [0.3, 0.4]) is None
    # frames each under the per-frame limit (1.0) but the video as a whole beyond the video limit
    scores = [VIDEO_LIMIT + 0.05, VIDEO_LIMIT + 0.1, 0.95]
    assert all(s < 1.0 for s in scores) and "unlike the videos" in video_warning("Video07", seen, scores)


def test_confident_pixels_against_the_training_layout_and_dropped_instruments_are_flagged():
    cs = get_class_set("full")
    h, w = 54, 96
    train = np.full((h, w), 5, np.uint8)  # skin everywhere ...
    train[10:44, 30:66] = 4  # ... iris in the middle
    layout = class_layout([train], cs)
    good = train.copy()
    sure = np.ones((h, w), np.float32)
    assert contradictions(good, sure, cs, layout) == []
    bad = train.copy()
    bad[:, :12] = 4  # iris at the left edge, where training never had it
    bad[45:, 70:] = 2  # hand: a class the training labels never had
    found = contradictions(bad, sure, cs, layout)
    assert any("Iris" in f and "where the training labels never had it" in f for f in found)
    assert any("Hand" in f and "never had" in f for f in found)
    assert contradictions(bad, np.full((h, w), 0.5, np.float32), cs, layout) == []  # only confident pixels count
    dropped = contradictions(good, sure, cs, layout, removed=(12, 4))
    assert len(dropped) == 1 and "Primary Knife" in dropped[0] and "Iris" not in dropped[0]
    assert contradictions(bad, sure, cs, ["x"] * 3) == [  # a hostile layout from a head's JSON is ignored
        f for f in contradictions(bad, sure, cs, None) if "instrument" in f]


def test_outer_classes_may_move_but_not_into_the_eye_and_instruments_are_free():
    cs = get_class_set("full")
    h, w = 90, 160
    train = np.full((h, w), 5, np.uint8)  # skin
    train[:, :20] = 1  # tape on the left edge
    train[20:70, 50:110] = 6  # cornea
    train[35:55, 70:90] = 0  # pupil
    train[80:, 120:] = 12  # a primary knife in a corner
    layout = class_layout([train], cs)
    sure = np.ones((h, w), np.float32)
    moved_tape = train.copy()
    moved_tape[:, 140:] = 1  # tape on the other edge too, over skin: tape moves from video to video
    knife = train.copy()
    knife[10:20, 20:40] = 12  # the knife elsewhere: instruments go everywhere
    assert contradictions(moved_tape, sure, cs, layout) == [] and contradictions(knife, sure, cs, layout) == []
    hand_eye = train.copy()
    hand_eye[40:50, 75:85] = 1  # tape in the pupil: the "tape onto the eye"
    found = contradictions(hand_eye, sure, cs, layout)
    assert len(found) == 1 and "Surgical Tape" in found[0]


def test_single_frame_head_warns_before_training_and_on_every_proposal(phantom_root, tmp_path, capsys):
    from engine.dataset import open_dataset

    model = make_model_dir(tmp_path / "m")
    keys = [r.key for r in open_dataset(phantom_root).labelled()]
    lst = tmp_path / "one.txt"
    lst.write_text(keys[0] + "\n")
    head = tmp_path / "head"
    assert main(["train-preseg", "--model", str(model), "--data", str(phantom_root), "--frames", str(lst),
                 "--classes", "full", "--out", str(head)] + FAST) == 0
    err = capsys.readouterr().err
    assert "warning: Too few training frames" in err and "1 labelled frame" in err
    cfg = json.loads((head / "preseg_head.json").read_text())
    assert len(cfg["meta"]["class_layout"]) == 36

    other = [k for k in keys if not k.startswith(keys[0].split("/")[0])][:2]
    data = tmp_path / "in"
    for k in other:
        (data / k).parent.mkdir(parents=True, exist_ok=True)
        (data / k).write_bytes((phantom_root / k).read_bytes())
    report = tmp_path / "report.json"
    assert main(["preseg", "--model", str(model), "--head", str(head), str(data), "--out-dir",
                 str(tmp_path / "out"), "--report", str(report), "--device", "cpu", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "Too few training frames" in err and "new video" in err
    frames = json.loads(report.read_text())["frames"]
    assert len(frames) == 2
    for f in frames:  # every proposal carries the warnings
        assert any("Too few" in w for w in f["warnings"]) and any("new video" in w for w in f["warnings"])
