"""SAM 3 finding by name with a tiny random `sam3` folder (model, image processor config and CLIP tokenizer saved
as real folders are): instances at the frame's size, their union written only over unlabelled pixels as one
record, `cadis segment --text` the same, and a folder without its tokenizer refused in one line."""
from __future__ import annotations

import numpy as np
import pytest

from engine.cli import main
from engine.edits import PaintPolicy, UndoStack
from engine.imageio import read_label, write_image
from engine.segment import Prompt, SegmentFolderError, Segmenter, find_in_frame, load_segment_model, union
from engine.taxonomy import IGNORE
from tests.segment_helpers import make_tiny_folder


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("sam3")
    folder = make_tiny_folder(root / "sam3", "sam3")
    image = np.random.default_rng(3).integers(0, 255, (54, 96, 3), dtype=np.uint8)
    write_image(root / "frame.png", image)
    return root, folder, image, Segmenter.open(folder, "cpu")


def test_every_instance_at_the_frames_size_and_the_union_over_unlabelled_only(setup):
    _, _, image, seg = setup
    found = seg.find(image, ["cannula", "forceps"], "f", threshold=0.0)
    assert found.masks.shape == (16, 54, 96) and list(found.scores) == sorted(found.scores, reverse=True)
    assert len(seg.cache) == 1                       # both phrases used the one embedding
    label = np.full((54, 96), IGNORE, np.uint8)
    label[:, :40] = 4
    before = label.copy()
    result = find_in_frame(seg, image, label, ["cannula"], 3, threshold=0.0)
    want = union(result.candidates, label.shape) & (before == IGNORE)
    assert ((label != before) == want).all() and (label[want] == 3).all()
    stack = UndoStack()
    stack.push(result.record)
    stack.undo(label)
    assert (label == before).all()
    none = find_in_frame(seg, image, label, ["cannula"], 3, PaintPolicy(), threshold=1.0)
    assert len(none.candidates) == 0 and none.record is None and (label == before).all()


def test_clicks_on_a_text_folder_and_names_on_a_click_folder_say_what_they_need(setup, tmp_path):
    _, _, image, seg = setup
    with pytest.raises(ValueError, match="finds structures by name"):
        seg.candidates(image, Prompt(points=((1, 1, True),)))
    clicks = Segmenter.open(make_tiny_folder(tmp_path / "sam", "sam"), "cpu")
    with pytest.raises(ValueError, match="finding by name needs a SAM 3"):
        clicks.find(image, ["cannula"])


def test_cli_text(setup, tmp_path, capsys):
    root, folder, image, seg = setup
    out = tmp_path / "m.png"
    rc = main(["segment", "--sam", str(folder), str(root / "frame.png"), "--text", "cannula", "--synonyms",
               "forceps", "--threshold", "0", "--class", "3", "--out", str(out), "--device", "cpu"])
    assert rc == 0 and "instance(s) of 'cannula'" in capsys.readouterr().err
    label = np.full((54, 96), IGNORE, np.uint8)
    find_in_frame(seg, image, label, ["cannula", "forceps"], 3, threshold=0.0)
    assert (read_label(out) == label).all()


def test_a_text_folder_without_its_tokenizer_is_refused(tmp_path):
    folder = make_tiny_folder(tmp_path / "sam3", "sam3")
    (folder / "tokenizer.json").unlink()
    with pytest.raises(SegmentFolderError, match="no tokenizer") as info:
        load_segment_model(folder, "cpu")
    assert "\n" not in str(info.value)
