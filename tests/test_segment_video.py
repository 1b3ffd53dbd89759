"""SAM 2 video propagation with a tiny random Sam2VideoModel saved as real SAM 2.1 folders are: label maps of the
frame's size with a confidence, classes only from the key frames, the stop rule, cancel, the fusion rule, an
image-only SAM 2 folder refused in one line, and the same folder serving the Segment tool's clicks."""
import numpy as np
import pytest

from engine.jobs import JobCancelled, JobContext
from engine.segment import Prompt, SegmentFolderError, Segmenter
from engine.segment.video import Sam2Propagator, fuse_objects
from engine.taxonomy import IGNORE
from tests.segment_helpers import make_tiny_folder, make_tiny_video_folder

H, W = 54, 96


@pytest.fixture(scope="module")
def video_dir(tmp_path_factory):
    return make_tiny_video_folder(tmp_path_factory.mktemp("sam2v") / "sam2.1-tiny")


@pytest.fixture(scope="module")
def propagator(video_dir):
    return Sam2Propagator.open(video_dir, "cpu")


def _frames(n):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    return [np.roll(base, 2 * i, axis=1) for i in range(n)]


def _label(shift=0):
    label = np.full((H, W), IGNORE, np.uint8)
    label[:, :] = 4                        # pupil everywhere labelled...
    label[10:30, 20 + shift:50 + shift] = 7  # ...a cannula
    label[35:50, 60:90] = 12                 # ...and a retractor
    return label


def test_propagation_gives_label_maps_of_the_frame_size_with_classes_of_the_key_frame(propagator):
    frames = _frames(4)
    reports = []
    result = propagator(frames, {0: _label()}, [1, 2, 3], min_confidence=0.0,
                        ctx=JobContext(lambda f, m: reports.append(f)))
    assert sorted(result.frames) == [1, 2, 3] and not result.stopped
    for prop in result.frames.values():
        assert prop.label.shape == (H, W) and prop.label.dtype == np.uint8
        assert prop.confidence.shape == (H, W) and prop.confidence.dtype == np.float32
        assert 0.0 <= prop.confidence.min() <= prop.confidence.max() <= 1.0
        assert set(np.unique(prop.label)) <= {4, 7, 12, IGNORE}
        assert prop.sources == (0,)
    assert reports and reports[-1] == pytest.approx(1.0)


def test_backward_and_between_two_key_frames(propagator):
    frames = _frames(6)
    keys = {2: _label(), 5: _label(4)}
    # min_confidence 1.0: a one-sided direction stops at once, frames between the two keys are still given
    result = propagator(frames, keys, [0, 1, 3, 4], min_confidence=1.0)
    assert sorted(result.frames) == [3, 4]
    assert len(result.stopped) == 1 and "position 1" in result.stopped[0] and "below 1.00" in result.stopped[0]
    result = propagator(frames, keys, [0, 1, 3, 4], min_confidence=0.0)
    assert sorted(result.frames) == [0, 1, 3, 4]
    assert result.frames[0].sources == (2,) and result.frames[3].sources == (2, 5)


def test_cancel_stops_the_propagation(propagator):
    frames = _frames(5)
    seen = []
    ctx = JobContext(lambda f, m: seen.append(m), lambda: len(seen) >= 2)
    with pytest.raises(JobCancelled):
        propagator(frames, {0: _label()}, [1, 2, 3, 4], min_confidence=0.0, ctx=ctx)
    assert len(seen) == 2


def test_bad_input_is_one_clear_error(propagator):
    frames = _frames(3)
    with pytest.raises(ValueError, match="outside the 3 frames"):
        propagator(frames, {0: _label()}, [5])
    with pytest.raises(ValueError, match="no labelled pixels"):
        propagator(frames, {0: np.full((H, W), IGNORE, np.uint8)}, [1])
    with pytest.raises(ValueError, match="not the key frame"):
        propagator([frames[0], frames[1][:20]], {0: _label()}, [1], min_confidence=0.0)


def test_fusion_takes_the_surest_object_and_flags_contested_and_empty_pixels():
    logits = np.array([[[8.0, 0.0, -1024.0]], [[-8.0, 0.0, -1024.0]]], np.float32)  # 2 objects, 1x3 pixels
    label, conf = fuse_objects(logits, [3, 9])
    assert label.tolist() == [[3, 3, IGNORE]]
    assert conf[0, 0] > 0.99 and conf[0, 1] == pytest.approx(0.25) and conf[0, 2] == 0.0


def test_an_image_only_sam2_folder_is_refused_for_video(tmp_path):
    folder = make_tiny_folder(tmp_path / "sam2", "sam2")
    with pytest.raises(SegmentFolderError) as err:
        Sam2Propagator.open(folder, "cpu")
    assert "video model" in str(err.value) and "\n" not in str(err.value)


def test_the_video_folder_also_segments_clicks(video_dir):
    seg = Segmenter.open(video_dir, "cpu")
    cands = seg.candidates(_frames(1)[0], Prompt(points=((40, 20, True),)))
    assert cands.masks.shape[1:] == (H, W) and len(cands) >= 1


def test_cadis_propagate_with_sam(tmp_path, video_dir, capsys):
    import json
    import os

    from engine.cli import main as cli_main
    from engine.imageio import read_label, write_image, write_label

    root = tmp_path / "data"
    for i, img in enumerate(_frames(4)):
        write_image(root / "Video01" / "Images" / f"Video1_frame{10 * i:06d}.png", img)
    write_label(root / "Video01" / "Labels" / "Video1_frame000000.png", _label())
    out = tmp_path / "out"
    rc = cli_main(["propagate", str(root), "--from", "1:0", "--to", "1:30", "--out-dir", str(out), "--sam",
                   str(video_dir), "--device", "cpu", "--min-confidence", "0", "--quiet"])
    assert rc == 0, capsys.readouterr().err
    names = sorted(os.listdir(out / "Video01" / "Labels"))
    assert names == ["Video1_frame000010.png", "Video1_frame000020.png", "Video1_frame000030.png"]
    assert read_label(out / "Video01" / "Labels" / names[0]).shape == (H, W)
    assert json.loads((out / "propagation.json").read_text())["method"].startswith("SAM 2 video model")
    image_only = make_tiny_folder(tmp_path / "sam2img", "sam2")
    assert cli_main(["propagate", str(root), "--from", "1:0", "--to", "1:30", "--out-dir", str(tmp_path / "o2"),
                     "--sam", str(image_only), "--quiet"]) != 0
    err = capsys.readouterr().err
    assert "video model" in err and "Traceback" not in err
