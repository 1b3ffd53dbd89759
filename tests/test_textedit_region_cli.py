"""`cadis edit --label L --only-classes / --keep-classes / --auto-region`: outputs byte-identical outside the
region (tile framing too), the region in OUT.json, one line for a bad or empty selection."""
from __future__ import annotations

import json

import numpy as np
import pytest

from engine.cli import main
from engine.imageio import read_image, write_image, write_label
from tests.textedit_helpers import _one_torch_thread, make_frame, make_label, tiny_sd_dir  # noqa: F401

W, H = 112, 63


@pytest.fixture()
def files(tmp_path):
    img = write_image(tmp_path / "Video1_frame000090.png", make_frame(W, H))
    lab = write_label(tmp_path / "Video1_frame000090_label.png", make_label(W, H))
    return img, lab


def test_only_classes_by_name_with_tile_framing_and_a_sweep(tiny_sd_dir, files, tmp_path):
    img, lab = files
    out = tmp_path / "out" / "e.png"
    rc = main(["edit", "--sd", str(tiny_sd_dir), str(img), "--label", str(lab), "--only-classes", "iris",
               "--prompt", "a bleeding iris", "--out", str(out), "--method", "imagic", "--alpha", "1,1.5",
               "--steps", "2", "--opt-steps", "1", "--tune-steps", "0", "--framing", "tile", "--resolution", "64x64",
               "--device", "cpu", "--quiet"])
    assert rc == 0
    rec = json.loads(out.with_suffix(".json").read_text())
    image, label = make_frame(W, H), make_label(W, H)
    for i, o in enumerate(rec["outputs"]):
        region = o["settings"]["region"]
        assert region["mode"] == "only" and region["class_names"] == ["Iris"] and o["settings"]["tiles"] == 2
        assert o["changed_outside"] == 0.0
        edited = read_image(out.parent / f"e_{i}.png")
        far = _far_from(label == 4, region["margin_px"] + 1)
        assert np.array_equal(edited[far], image[far]) and np.any(edited[label == 4] != image[label == 4])
    assert [o["alpha"] for o in rec["outputs"]] == [1.0, 1.5]


def _far_from(mask, dist):
    import cv2

    d = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)
    return d > dist


def test_keep_classes_protects_them(tiny_sd_dir, files, tmp_path):
    img, lab = files
    out = tmp_path / "k.png"
    assert main(["edit", "--sd", str(tiny_sd_dir), str(img), "--label", str(lab), "--keep-classes", "4",
                 "--prompt", "more blood", "--out", str(out), "--steps", "2", "--quiet"]) == 0
    label = make_label(W, H)
    assert np.array_equal(read_image(out)[label == 4], make_frame(W, H)[label == 4])
    assert json.loads(out.with_suffix(".json").read_text())["outputs"][0]["settings"]["region"]["mode"] == "keep"


@pytest.mark.parametrize("extra, message", [
    (["--only-classes", ","], "no class chosen: pick at least one class to edit (--only-classes)"),
    (["--keep-classes", ""], "no class chosen: pick at least one class to protect (--keep-classes)"),
    (["--only-classes", "pupil,lens"], "unknown class 'lens'"),
    (["--only-classes", "cornea"], "not in this frame's label"),
    (["--keep-classes", "iris", "--auto-region"], "cannot be combined"),
])
def test_bad_selection_is_one_line(tiny_sd_dir, files, tmp_path, capsys, extra, message):
    img, lab = files
    rc = main(["edit", "--sd", str(tiny_sd_dir), str(img), "--label", str(lab), "--prompt", "x",
               "--out", str(tmp_path / "o.png"), "--steps", "2", "--quiet"] + extra)
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("cadis edit:") and message in err and err.count("\n") == 1
    assert not (tmp_path / "o.png").exists()


def test_a_region_needs_the_label(tiny_sd_dir, files, tmp_path, capsys):
    img, _ = files
    assert main(["edit", "--sd", str(tiny_sd_dir), str(img), "--only-classes", "iris", "--prompt", "x",
                 "--out", str(tmp_path / "o.png"), "--quiet"]) == 2
    assert "need the frame's label: --label LABEL.png" in capsys.readouterr().err
