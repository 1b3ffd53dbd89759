"""Whole-label-map propagation: known synthetic motion is recovered, chains stop on low confidence, accepting
follows the pre-segmentation rules, and a cancelled run leaves its output folder as it was."""
import json
import os

import cv2
import numpy as np
import pytest

from engine.cli import main as cli_main
from engine.edits import PaintPolicy
from engine.imageio import read_label, write_image, write_label
from engine.jobs import JobCancelled, JobContext
from engine.phantom import VideoRenderer
from engine.propagate import propagate_frames
from engine.propagate.accept import accept_propagated
from engine.propagate.job import run_propagation
from engine.taxonomy import IGNORE

W, H = 480, 270


@pytest.fixture(scope="module")
def phantom():
    return VideoRenderer(3, 1, W, H).render(0)


def _move(a, dx, dy, angle, nearest=False):
    m = cv2.getRotationMatrix2D((W / 2, H / 2), angle, 1.0)
    m[0, 2] += dx
    m[1, 2] += dy
    return cv2.warpAffine(a, m, (W, H), flags=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)


def _sequence(phantom, n, dx=4, dy=-2, angle=0.6):
    image, label = phantom
    images = [_move(image, dx * i, dy * i, angle * i) for i in range(n)]
    labels = [_move(label, dx * i, dy * i, angle * i, nearest=True) for i in range(n)]
    return images, labels


def _acc(a, b):
    m = np.zeros(a.shape, bool)
    m[12:-12, 12:-12] = True  # the reflected border is not real motion
    return float(((a == b) & m).sum() / m.sum())


def test_a_label_under_known_shift_and_rotation_is_recovered(phantom):
    images, labels = _sequence(phantom, 5)
    result = propagate_frames(images, {0: labels[0]}, range(1, 5))
    assert sorted(result.frames) == [1, 2, 3, 4] and not result.stopped
    for k, prop in result.frames.items():
        assert _acc(prop.label, labels[k]) > 0.97, k
        assert _acc(prop.label, labels[k]) > _acc(labels[0], labels[k]) + 0.05  # better than copying the label
        assert prop.confidence.dtype == np.float32 and 0.0 <= prop.confidence.min() <= prop.confidence.max() <= 1.0
        confident = prop.confidence > 0.5
        assert (prop.label == labels[k])[confident].mean() > (prop.label == labels[k])[~confident].mean()


def test_two_key_frames_are_carried_from_both_sides(phantom):
    images, labels = _sequence(phantom, 7, dx=6, dy=3, angle=-0.8)
    both = propagate_frames(images, {0: labels[0], 6: labels[6]}, range(1, 6))
    one = propagate_frames(images, {0: labels[0]}, range(1, 6))
    assert all(both.frames[k].sources == (0, 6) for k in range(1, 6))
    assert _acc(both.frames[5].label, labels[5]) >= _acc(one.frames[5].label, labels[5])
    assert all(_acc(both.frames[k].label, labels[k]) > 0.97 for k in range(1, 6))


def test_a_chain_stops_at_a_frame_it_cannot_follow(phantom):
    images, labels = _sequence(phantom, 5)
    other, _ = VideoRenderer(11, 4, W, H).render(0)
    images[3] = np.ascontiguousarray(np.flipud(other))  # a cut: nothing of frame 2 is in frame 3
    result = propagate_frames(images, {0: labels[0]}, range(1, 5), min_confidence=0.5)
    assert sorted(result.frames) == [1, 2]
    assert len(result.stopped) == 1
    assert "frame position 3 (carried from position 0)" in result.stopped[0] and "below 0.50" in result.stopped[0]


def test_accepting_follows_the_pre_segmentation_rules():
    proposal = np.full((20, 20), 4, np.uint8)
    proposal[:, 10:] = 0
    confidence = np.ones((20, 20), np.float32)
    confidence[:5] = 0.2
    label = np.full((20, 20), IGNORE, np.uint8)
    label[15:, :] = 6  # painted by the annotator
    before = label.copy()
    rec = accept_propagated(label, proposal, confidence, min_confidence=0.5, classes=[4])
    changed = label != before
    assert changed.any() and rec is not None
    assert not changed[15:].any()          # painted pixels are kept
    assert not changed[:5].any()           # unconfident pixels are left out
    assert not changed[:, 10:].any()       # only the chosen class
    assert (label[changed] == 4).all()
    rec.undo(label)
    assert np.array_equal(label, before)   # one undo step takes it all back
    label2 = before.copy()
    accept_propagated(label2, proposal, confidence, 0.5, replace_labels=True, policy=PaintPolicy())
    assert (label2[15:] == proposal[15:]).all()  # replacing painted pixels only when asked


def _dataset(tmp_path, phantom, n=6):
    images, labels = _sequence(phantom, n)
    root = tmp_path / "data"
    for i, img in enumerate(images):
        write_image(root / "Video01" / "Images" / f"Video1_frame{10 * i:06d}.png", img)
    write_label(root / "Video01" / "Labels" / "Video1_frame000000.png", labels[0])
    return root, labels


def test_cli_writes_proposals_confidences_and_a_report(tmp_path, phantom, capsys):
    root, labels = _dataset(tmp_path, phantom)
    out = tmp_path / "out"
    rc = cli_main(["propagate", str(root), "--from", "Video1_frame000000", "--to", "1:30", "--out-dir", str(out),
                   "--report", str(tmp_path / "r.json"), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    names = sorted(os.listdir(out / "Video01" / "Labels"))
    assert names == ["Video1_frame000010.png", "Video1_frame000020.png", "Video1_frame000030.png"]
    assert sorted(os.listdir(out / "Video01" / "Confidence")) == names
    assert _acc(read_label(out / "Video01" / "Labels" / names[-1]), labels[3]) > 0.97
    report = json.loads((tmp_path / "r.json").read_text())
    assert [r["frame"] for r in report["frames"]] == [n[:-4] for n in names]
    assert report == json.loads((out / "propagation.json").read_text())
    assert sorted(os.listdir(root / "Video01" / "Labels")) == ["Video1_frame000000.png"]  # the dataset is only read


def test_until_labelled_uses_the_next_label_as_a_second_key(tmp_path, phantom):
    root, labels = _dataset(tmp_path, phantom)
    write_label(root / "Video01" / "Labels" / "Video1_frame000040.png", labels[4])
    report = run_propagation(root, ["1:0"], tmp_path / "out", until_labelled=True)
    assert [r["frame"] for r in report["frames"]] == ["Video1_frame000010", "Video1_frame000020", "Video1_frame000030"]
    assert all(len(r["from"]) == 2 for r in report["frames"])


def test_cancel_leaves_nothing_half_written(tmp_path, phantom):
    root, _ = _dataset(tmp_path, phantom)
    out = tmp_path / "out"
    calls = []
    ctx = JobContext(progress=lambda f, m: calls.append(f), cancelled=lambda: len(calls) >= 3)
    with pytest.raises(JobCancelled):
        run_propagation(root, ["1:0"], out, to="1:50", ctx=ctx)
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == ["data"]  # no staging folder left behind


def test_bad_frames_are_refused_in_one_line(tmp_path, phantom, capsys):
    root, _ = _dataset(tmp_path, phantom)
    for args in (["--from", "1:5", "--to", "1:30"], ["--from", "1:10", "--to", "1:30"], ["--from", "frame7"],
                 ["--from", "1:0", "--to", "2:30"]):
        assert cli_main(["propagate", str(root), *args, "--out-dir", str(tmp_path / "o"), "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("cadis propagate:") and "\n" not in err, err
    assert cli_main(["propagate", str(root), "--from", "1:0", "--to", "1:30", "--out-dir",
                     str(root / "Video01" / "props"), "--quiet"]) == 2  # never into the dataset


def test_in_a_project_forward_backward_and_up_to_the_next_labelled_frame(tmp_path, phantom):
    from engine.project import Project
    from engine.propagate.project import propagate_in_project

    root, labels = _dataset(tmp_path, phantom)
    project = Project.open_or_create(root, project_dir=tmp_path / "proj", journal_fsync=False)
    try:
        keys = project.frame_keys()
        fwd = propagate_in_project(project, keys[0], "forward", count=2)
        assert sorted(fwd.proposals) == sorted(keys[1:3])
        assert _acc(fwd.proposals[keys[2]][0], labels[2]) > 0.97
        with pytest.raises(ValueError, match="no label"):
            propagate_in_project(project, keys[3], "backward", count=2)
        project.save_label(keys[4], labels[4])
        back = propagate_in_project(project, keys[4], "backward", count=2)
        assert sorted(back.proposals) == sorted(keys[2:4])
        upto = propagate_in_project(project, keys[0], "to-next-labelled")
        assert sorted(upto.proposals) == sorted(keys[1:4])
        assert not (tmp_path / "data" / "Video01" / "Labels" / "Video1_frame000010.png").exists()  # nothing written
    finally:
        project.close()


def test_a_stopped_chain_names_the_frame(tmp_path, phantom, capsys):
    root, _ = _dataset(tmp_path, phantom)
    write_image(root / "Video01" / "Images" / "Video1_frame000020.png",
                np.ascontiguousarray(np.flipud(VideoRenderer(11, 4, W, H).render(0)[0])))
    assert cli_main(["propagate", str(root), "--from", "1:0", "--to", "1:50", "--out-dir", str(tmp_path / "o"),
                     "--min-confidence", "0.5", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "stopped at frame Video1_frame000020 (carried from frame Video1_frame000000)" in out
    assert sorted(os.listdir(tmp_path / "o" / "Video01" / "Labels")) == ["Video1_frame000010.png"]
