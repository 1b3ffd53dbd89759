"""Phantom version 3, "surgery" motion: every video frame exists, the camera, eye and instruments move at real
rates (calibration: benchmarks/phantom_motion.py), `cadis phantom --video` writes the frames, "still" stays."""
import json

import numpy as np
import pytest

from engine.cli import main as cli_main
from engine.phantom import FRAME_STEP, PHANTOM_VERSION, VideoRenderer, generate_dataset
from engine.phantom.motion import ENTER, LEAVE, instrument_phases
from engine.video import import_video
from engine.imageio import read_image
from benchmarks.phantom_motion import copy_scores

SMALL = dict(width=240, height=135)


def test_sampled_frame_k_is_video_frame_k_times_the_step():
    r = VideoRenderer(4, 1, **SMALL)
    image, label = r.render(2)
    image2, label2 = r.render_video_frame(2 * FRAME_STEP)
    assert np.array_equal(image, image2) and np.array_equal(label, label2)
    assert np.array_equal(r.video_label(2 * FRAME_STEP), label)


def test_labels_drift_apart_with_the_gap_and_the_old_motion_barely_moves():
    near, far, still = [], [], []
    for video in (1, 2, 3):
        r = VideoRenderer(21, video, **SMALL)
        s = VideoRenderer(21, video, motion="still", **SMALL)
        for f0 in (5, 70):
            a = r.video_label(f0)
            near.append(copy_scores(a, r.video_label(f0 + 2))[0])
            far.append(copy_scores(a, r.video_label(f0 + 60))[0])
        still.append(copy_scores(s.video_label(0), s.video_label(1))[0])  # 30 frames apart in version 1
    assert np.mean(near) > np.mean(far) + 0.1
    assert np.mean(still) > np.mean(far) + 0.15


def test_instruments_leave_and_the_next_ones_enter_before_a_phase_starts():
    phase_frames = 90
    assert instrument_phases(0, phase_frames) == [(0, 0.0)]
    assert instrument_phases(phase_frames - LEAVE - ENTER - 1, phase_frames) == [(0, 0.0)]
    out = [instrument_phases(f, phase_frames)[0] for f in range(phase_frames - LEAVE - ENTER, phase_frames)]
    assert [p for p, _ in out] == [0] * LEAVE + [1] * ENTER
    assert out[LEAVE - 1][1] == pytest.approx(1.0) and out[-1][1] < 0.1  # fully out, then nearly in place
    assert all(instrument_phases(k * FRAME_STEP, phase_frames)[0][1] == 0.0 for k in range(12))  # samples: in place
    r = VideoRenderer(8, 1, **SMALL)
    pf = r.scene.phase_length * FRAME_STEP
    gone = r.video_label(pf - ENTER - 1)  # the old instruments have left, the new ones not yet come in
    there = r.video_label(pf)
    assert (gone >= 7).sum() < 0.2 * max((there >= 7).sum(), 1)


def test_dataset_records_version_and_motion_and_still_is_version_1(tmp_path):
    generate_dataset(tmp_path / "a", videos=1, frames_per_video=2, **SMALL)
    generate_dataset(tmp_path / "b", videos=1, frames_per_video=2, motion="still", **SMALL)
    a = json.loads((tmp_path / "a" / "phantom.json").read_text())
    b = json.loads((tmp_path / "b" / "phantom.json").read_text())
    assert (a["version"], a["motion"]) == (PHANTOM_VERSION, "surgery") and PHANTOM_VERSION == 3
    assert (b["version"], b["motion"]) == (1, "still")
    with pytest.raises(ValueError, match="motion"):
        VideoRenderer(0, 1, motion="wobbly")


def test_cli_video_is_every_frame_and_imports_back(tmp_path):
    out, video = tmp_path / "sample", tmp_path / "v.avi"
    assert cli_main(["phantom", str(out), "--videos", "1", "--frames-per-video", "2", "--width", "240", "--height",
                     "136", "--video", str(video), "--quiet"]) == 0
    result = import_video(video, tmp_path / "data", every=10)
    assert result.written == [0, 10, 20, 30]
    # frame 30 of the video is the dataset's second sample (MJPG is lossy: close, not equal)
    a = read_image(tmp_path / "data" / "Video01" / "Images" / "Video1_frame000030.png").astype(float)
    b = read_image(out / "Video01" / "Images" / "Video1_frame000030.png").astype(float)
    assert np.abs(a - b).mean() < 6
