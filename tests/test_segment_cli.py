"""`cadis segment` with a tiny SAM 2 folder: a label of the image's size, the same as the tool's engine call,
the paint rules over --label, and one-line refusals."""
from __future__ import annotations

import numpy as np
import pytest

from engine.cli import main
from engine.edits import PaintPolicy
from engine.imageio import read_label, write_image, write_label
from engine.segment import Prompt, Segmenter, segment_frame
from engine.taxonomy import IGNORE
from tests.segment_helpers import make_tiny_folder


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("seg")
    folder = make_tiny_folder(root / "sam2", "sam2")
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (54, 96, 3), dtype=np.uint8)
    write_image(root / "frame.png", image)
    return root, folder, image


def test_points_give_a_label_like_the_tools_call(setup, tmp_path):
    root, folder, image = setup
    out = tmp_path / "mask.png"
    rc = main(["segment", "--sam", str(folder), str(root / "frame.png"), "--point", "40,20", "--point", "80,40,-",
               "--class", "9", "--out", str(out), "--device", "cpu"])
    assert rc == 0
    got = read_label(out)
    assert got.shape == (54, 96) and set(np.unique(got)) <= {9, IGNORE}
    label = np.full((54, 96), IGNORE, np.uint8)
    segment_frame(Segmenter.open(folder, "cpu"), image, label, Prompt(points=((40, 20, True), (80, 40, False))), 9)
    assert (got == label).all()


def test_box_over_an_existing_label_keeps_painted_and_locked_pixels(setup, tmp_path):
    root, folder, image = setup
    base = np.full((54, 96), IGNORE, np.uint8)
    base[:, :20] = 3
    base[:, 20:30] = 5
    write_label(tmp_path / "base.png", base)
    out = tmp_path / "mask.png"
    rc = main(["segment", "--sam", str(folder), str(root / "frame.png"), "--box", "0,0,96,54", "--class", "9",
               "--label", str(tmp_path / "base.png"), "--paint", "everywhere", "--locked", "5", "--out", str(out),
               "--device", "cpu"])
    assert rc == 0
    got = read_label(out)
    assert (got[:, 20:30] == 5).all()
    expected = base.copy()
    segment_frame(Segmenter.open(folder, "cpu"), image, expected, Prompt(box=(0, 0, 96, 54)), 9,
                  PaintPolicy("everywhere", locked=frozenset({5})))
    assert (got == expected).all()


@pytest.mark.parametrize("extra, match", [
    (["--point", "200,20"], "outside"),
    (["--box", "10,10,5,5"], "box"),
    (["--text", "cannula"], "finding by name needs a SAM 3"),
    (["--point", "1,2", "--locked", "99"], "--locked"),
])
def test_bad_prompts_are_one_line(setup, tmp_path, capsys, extra, match):
    root, folder, _ = setup
    rc = main(["segment", "--sam", str(folder), str(root / "frame.png"), "--class", "9", "--out",
               str(tmp_path / "m.png"), "--device", "cpu"] + extra)
    err = capsys.readouterr().err.strip()
    assert rc == 2 and match in err and "\n" not in err


def test_never_writes_over_its_input_and_refuses_a_bad_folder(setup, tmp_path, capsys):
    root, folder, _ = setup
    rc = main(["segment", "--sam", str(folder), str(root / "frame.png"), "--point", "1,1", "--class", "9",
               "--out", str(root / "frame.png")])
    assert rc == 2
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text('{"model_type": "sam2"}')
    capsys.readouterr()
    rc = main(["segment", "--sam", str(tmp_path / "bad"), str(root / "frame.png"), "--point", "1,1", "--class", "9",
               "--out", str(tmp_path / "m.png")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "no processor config" in err and "\n" not in err
    assert not (tmp_path / "m.png").exists()
