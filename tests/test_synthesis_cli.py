"""`cadis synth`: outputs, their masks, variants, and clear errors."""
import numpy as np
import pytest

from engine.cli import main
from engine.imageio import read_image, read_label, write_label
from engine.models import save_synthesis_model
from tests.synthesis_helpers import tiny_model, two_masks


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_synthesis_model(tiny_model("1", seed=9), tmp_path_factory.mktemp("m") / "tiny")


@pytest.fixture()
def mask_png(tmp_path):
    return write_label(tmp_path / "mask.png", two_masks(540, 960)[0])


def test_synth_writes_image_and_matching_mask(model_dir, mask_png, tmp_path):
    out = tmp_path / "out" / "frame.png"
    rc = main(["synth", "--model", str(model_dir), "--mask", str(mask_png), "--out", str(out), "--steps", "2",
               "--sampler", "ddim", "--seed", "3", "--quiet", "--device", "cpu"])
    assert rc == 0
    img, lab = read_image(out), read_label(out.with_name("frame.mask.png"))
    assert img.shape == (540, 960, 3)                  # the mask's own size
    np.testing.assert_array_equal(lab, read_label(mask_png))  # the label, unchanged


def test_synth_num_variants_are_numbered_and_differ(model_dir, mask_png, tmp_path):
    out = tmp_path / "v.png"
    rc = main(["synth", "--model", str(model_dir), "--mask", str(mask_png), "--out", str(out), "--num", "3",
               "--preset", "preview", "--steps", "2", "--quiet"])
    assert rc == 0
    imgs = [read_image(tmp_path / f"v_{k}.png") for k in range(3)]
    assert all((tmp_path / f"v_{k}.mask.png").exists() for k in range(3))
    assert not (tmp_path / "v.png").exists()
    assert not np.array_equal(imgs[0], imgs[1])


def test_synth_same_seed_reproduces(model_dir, mask_png, tmp_path):
    for name in ("a.png", "b.png"):
        main(["synth", "--model", str(model_dir), "--mask", str(mask_png), "--out", str(tmp_path / name),
              "--steps", "2", "--seed", "5", "--quiet"])
    assert np.array_equal(read_image(tmp_path / "a.png"), read_image(tmp_path / "b.png"))


def test_synth_errors_are_one_clear_line(model_dir, mask_png, tmp_path, capsys):
    rc = main(["synth", "--model", str(tmp_path / "missing"), "--mask", str(mask_png), "--out", str(tmp_path / "o.png")])
    assert rc == 2 and "does not exist" in capsys.readouterr().err
    rc = main(["synth", "--model", str(model_dir), "--mask", str(tmp_path / "nope.png"), "--out", str(tmp_path / "o.png")])
    assert rc == 2 and "file not found" in capsys.readouterr().err
    rc = main(["synth", "--model", str(model_dir), "--mask", str(mask_png), "--out", str(tmp_path / "o.png"), "--num", "0"])
    assert rc == 2 and "--num" in capsys.readouterr().err


def test_default_model_is_the_shipped_starter(monkeypatch, tmp_path, model_dir, mask_png):
    from engine.models import starter_model_dir

    assert starter_model_dir().parts[-3:] == ("resources", "models", "starter-synthesis")
    monkeypatch.setenv("CADIS_SYNTH_MODEL", str(model_dir))
    rc = main(["synth", "--mask", str(mask_png), "--out", str(tmp_path / "d.png"), "--steps", "1", "--quiet"])
    assert rc == 0 and (tmp_path / "d.mask.png").exists()
