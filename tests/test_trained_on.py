"""What a synthesis model knows (engine.models.trained_on): the record in its card and the "unlike the training
frames" warning, measured on the phantom's two styles."""
from __future__ import annotations

import json

import numpy as np
import pytest

from engine.models.trained_on import (
    PHANTOM, TRAINED_ON, USER_FRAMES, data_source, describe, frame_warning, read_record, record_of, training_record,
)


def _images(root):
    from engine.dataset import open_dataset
    from engine.imageio import read_image

    return [read_image(r.image_path) for r in open_dataset(root).labelled()]


@pytest.fixture(scope="module")
def styles(tmp_path_factory):
    """Training frames (seed 0) and other frames (seed 7) of both phantom styles."""
    from engine.phantom import generate_dataset

    out = {}
    for style in ("plain", "realistic"):
        train = tmp_path_factory.mktemp(f"train-{style}")
        test = tmp_path_factory.mktemp(f"test-{style}")
        generate_dataset(train, videos=2, frames_per_video=4, seed=0, style=style)
        generate_dataset(test, videos=2, frames_per_video=2, seed=7, style=style)
        out[style] = (train, _images(train), _images(test))
    return out


def test_record_says_phantom_style_frames_and_resolution(styles):
    root, train, _ = styles["plain"]
    rec = training_record(root, train, (72, 128), train[0].shape[:2])
    assert (rec["source"], rec["style"], rec["frames"]) == (PHANTOM, "plain", 8)
    assert (rec["resolution"], rec["frame_size"]) == ("128x72", "960x540")
    assert len(rec["stats"]["mean"]) == len(rec["stats"]["names"]) == len(rec["stats"]["std"])
    assert describe(rec) == "trained on the procedural phantom (plain style), 8 frames, at 128x72"
    assert data_source([np.zeros((4, 4, 3), np.uint8)]) == (USER_FRAMES, None)


def test_warning_fires_on_the_other_style_and_not_on_the_own(styles):
    plain_root, plain_train, plain_test = styles["plain"]
    _, _, realistic_test = styles["realistic"]
    rec = training_record(plain_root, plain_train, (72, 128))
    assert [frame_warning(rec, im) for im in plain_test] == [None] * len(plain_test)
    warnings = [frame_warning(rec, im) for im in realistic_test]
    assert all(w and "unlike the phantom frames" in w and "Train synthesis model" in w for w in warnings)
    assert "grain" in warnings[0]


def test_user_frames_model_warns_on_phantom_frames_without_the_phantom_advice(styles):
    _, realistic_train, _ = styles["realistic"]
    _, _, plain_test = styles["plain"]
    rec = training_record([], realistic_train, (72, 128))  # in-memory pairs: "user frames"
    rec["stats"]["std"] = [v / 4 for v in rec["stats"]["std"]]  # a narrower set of frames than the phantom's
    warning = frame_warning(rec, plain_test[0])
    assert warning and "its training frames" in warning and "phantom" not in warning


def test_old_cards_and_the_shipped_starter(tmp_path, styles):
    old = {"trained_on": "phantom sample (engine.phantom, 20 videos x 10 frames, seed 0)", "training_frames": 150}
    rec = record_of(old)
    assert rec == {"source": PHANTOM, "frames": 150}
    assert "only on the procedural phantom" in frame_warning(rec, styles["plain"][2][0])
    assert record_of({"training_frames": 3}) == {} and frame_warning({}, styles["plain"][2][0]) is None
    (tmp_path / "model_card.json").write_text("{not json")
    assert read_record(tmp_path) == {}  # a broken card is "not recorded", not a crash

    from engine.models.model_dir import starter_model_dir

    starter = read_record(starter_model_dir())
    assert starter["source"] == PHANTOM and starter["style"] == "plain" and starter["frames"] == 150
    assert starter["resolution"] == "128x72" and starter["frame_size"] == "960x540"
    assert frame_warning(starter, styles["plain"][2][0]) is None
    assert frame_warning(starter, styles["realistic"][2][0]) is not None
    card = json.loads((starter_model_dir() / "model_card.json").read_text())
    assert TRAINED_ON in card


def test_training_pairs_record_counts_every_pair_and_samples_few(styles):
    from engine.training.data import collect_pairs, trained_on_record

    root = styles["realistic"][0]
    pairs = collect_pairs(root)
    rec = trained_on_record(root, pairs, (72, 128), limit=3)
    assert rec["frames"] == len(pairs) == 8 and rec["style"] == "realistic"
