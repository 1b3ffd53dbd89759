"""`cadis train-preseg` and `cadis preseg` end to end on a tiny diffusion model and phantom frames."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.cli import main
from engine.imageio import read_image, read_label

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_model_dir(path, seed: int = 0):
    from engine.models import SpadeUNet2DModel, save_synthesis_model

    torch.manual_seed(seed)
    model = SpadeUNet2DModel(sample_size=(16, 32), num_classes=8, class_set="1", block_out_channels=(8, 16),
                             layers_per_block=1, spade_hidden=8, head_dim=8)
    return save_synthesis_model(model, path)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_model_dir(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="module")
def frames(phantom_root):
    from engine.dataset import open_dataset

    keys = [r.key for r in open_dataset(phantom_root).labelled()]
    assert len(keys) >= 4
    return keys


FAST = ["--members", "2", "--max-epochs", "3", "--pixels-per-frame", "300", "--device", "cpu", "--quiet"]


def _train(model_dir, root, frames, tmp_path, classes="1", name="head"):
    lst = tmp_path / f"{name}_frames.txt"
    lst.write_text("# three labelled frames\n" + "\n".join(frames[:3]) + "\n")
    head = tmp_path / name
    rc = main(["train-preseg", "--model", str(model_dir), "--data", str(root), "--frames", str(lst),
               "--classes", classes, "--out", str(head)] + FAST)
    assert rc == 0
    return head


def test_train_then_preseg_end_to_end(model_dir, phantom_root, frames, tmp_path, capsys):
    head = _train(model_dir, phantom_root, frames, tmp_path)
    cfg = json.loads((head / "preseg_head.json").read_text())
    assert cfg["class_set"] == "1" and cfg["meta"]["frames"] == frames[:3]
    assert cfg["ensemble"]["members"] == 2
    img_path = phantom_root / frames[3]
    out = tmp_path / "out"
    rc = main(["preseg", "--model", str(model_dir), "--head", str(head), str(img_path), "--out-dir", str(out),
               "--uncertainty", "--device", "cpu", "--quiet"])
    assert rc == 0
    label = read_label(out / img_path.name)
    assert label.shape == read_image(img_path).shape[:2]
    assert label.max() <= 7  # experiment 1 class-set IDs
    grey = read_label(out / (img_path.stem + ".uncertainty.png"))
    assert grey.shape == label.shape and grey.dtype == np.uint8
    record = json.loads((out / "preseg.json").read_text())
    assert record["class_set"] == "1" and "experiment 1" in record["label_ids"]
    assert list(record["frame_uncertainty"]) == [img_path.name]
    assert "1 label(s) written" in capsys.readouterr().out


def test_preseg_a_folder_keeps_relative_paths_and_full_ids(model_dir, phantom_root, frames, tmp_path):
    head = _train(model_dir, phantom_root, frames, tmp_path, classes="full", name="full")
    folder = (phantom_root / frames[3]).parent
    out = tmp_path / "out_full"
    assert main(["preseg", "--model", str(model_dir), "--head", str(head), str(folder), "--out-dir", str(out),
                 "--device", "cpu", "--quiet"]) == 0
    written = sorted(p.name for p in out.glob("*.png"))
    assert written == sorted(p.name for p in folder.glob("*.png"))
    assert not list(out.glob("*.uncertainty.png"))
    lab = read_label(out / written[0])
    assert lab.max() <= 35
    assert json.loads((out / "preseg.json").read_text())["label_ids"] == "original CaDIS IDs"


def test_preseg_refuses_a_head_of_another_model(model_dir, phantom_root, frames, tmp_path, capsys):
    head = _train(model_dir, phantom_root, frames, tmp_path)
    other = make_model_dir(tmp_path / "other", seed=3)
    rc = main(["preseg", "--model", str(other), "--head", str(head), str(phantom_root / frames[0]),
               "--out-dir", str(tmp_path / "o"), "--device", "cpu", "--quiet"])
    assert rc == 2
    assert "retrain" in capsys.readouterr().err


def test_clear_errors(model_dir, phantom_root, tmp_path, capsys):
    rc = main(["train-preseg", "--model", str(model_dir), "--data", str(tmp_path / "missing"),
               "--out", str(tmp_path / "h")] + FAST)
    assert rc == 2 and "no such dataset" in capsys.readouterr().err
    lst = tmp_path / "bad.txt"
    lst.write_text("Video99/Images/Video99_frame000000.png\n")
    rc = main(["train-preseg", "--model", str(model_dir), "--data", str(phantom_root), "--frames", str(lst),
               "--out", str(tmp_path / "h")] + FAST)
    assert rc == 2 and "Video99" in capsys.readouterr().err
    rc = main(["preseg", "--model", str(model_dir), "--head", str(tmp_path / "nohead"),
               str(tmp_path), "--out-dir", str(tmp_path / "o"), "--quiet"])
    assert rc == 2


def test_train_from_a_project_uses_done_frames(model_dir, phantom_root, frames, tmp_path):
    project_mod = pytest.importorskip("engine.project")
    if not hasattr(project_mod, "Project"):
        pytest.skip("engine.project.Project not available yet")
    project = project_mod.Project.open_or_create(phantom_root, tmp_path / "proj")
    for k in frames[:2]:
        project.save_label(k, read_label(phantom_root / k.replace("/Images/", "/Labels/")))
        project.set_status(k, "done")
    project_dir = tmp_path / "proj"
    head = tmp_path / "phead"
    rc = main(["train-preseg", "--model", str(model_dir), "--data", str(project_dir), "--classes", "1",
               "--out", str(head)] + FAST)
    assert rc == 0
    assert json.loads((head / "preseg_head.json").read_text())["meta"]["frames"] == frames[:2]


def test_preseg_never_overwrites_the_input_images(model_dir, phantom_root, frames, tmp_path, capsys):
    import shutil

    head = _train(model_dir, phantom_root, frames, tmp_path, name="ow")
    img = tmp_path / "imgs" / "a.png"
    img.parent.mkdir()
    shutil.copyfile(phantom_root / frames[0], img)
    before = img.read_bytes()
    rc = main(["preseg", "--model", str(model_dir), "--head", str(head), str(img), "--out-dir", str(img.parent),
               "--device", "cpu", "--quiet"])
    assert rc == 2 and "overwrite" in capsys.readouterr().err
    assert img.read_bytes() == before


def test_feature_and_gate_options(model_dir, phantom_root, frames, tmp_path, capsys):
    lst = tmp_path / "f.txt"
    lst.write_text("\n".join(frames[:3]) + "\n")
    head = tmp_path / "opts"
    rc = main(["train-preseg", "--model", str(model_dir), "--data", str(phantom_root), "--frames", str(lst),
               "--classes", "1", "--out", str(head), "--blocks", "all", "--timesteps", "50,250", "--no-rgb",
               "--area-gate", "0.25", "--no-image-filters", "--augment-copies", "0"] + FAST)
    assert rc == 0
    cfg = json.loads((head / "preseg_head.json").read_text())
    assert cfg["features"]["blocks"] == [0, 1] and cfg["features"]["timesteps"] == [50, 250]
    assert cfg["features"]["include_rgb"] is False and cfg["area_gate"] == 0.25
    assert cfg["features"]["image_filters"] is False and cfg["meta"]["augment_copies"] == 0
    assert cfg["ensemble"]["in_channels"] == 2 * (16 + 8)     # no colour channels, no image filters
    assert len(cfg["class_min_area"]) == 8
    out = tmp_path / "o"
    img = phantom_root / frames[3]
    assert main(["preseg", "--model", str(model_dir), "--head", str(head), str(img), "--out-dir", str(out),
                 "--area-gate", "0", "--device", "cpu", "--quiet"]) == 0
    assert json.loads((out / "preseg.json").read_text())["area_gate"] == 0.0
    capsys.readouterr()
    assert main(["preseg", "--model", str(model_dir), "--head", str(head), str(img), "--out-dir", str(out),
                 "--area-gate", "-1", "--quiet"]) == 2
    assert "--area-gate" in capsys.readouterr().err
    assert main(["train-preseg", "--model", str(model_dir), "--data", str(phantom_root), "--out", str(head),
                 "--blocks", "one,two"] + FAST) == 2
    assert "--blocks" in capsys.readouterr().err


def test_preseg_report_names_out_of_distribution_frames(phantom_root, frames, tmp_path, capsys):
    """With the shipped starter model (a random tiny model's features cannot tell noise from a frame)."""
    from pathlib import Path

    from engine.imageio import write_image

    model_dir = Path(__file__).resolve().parents[1] / "resources" / "models" / "starter-synthesis"
    head = _train(model_dir, phantom_root, frames, tmp_path, name="report_head")
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    write_image(inputs / "a_frame.png", read_image(phantom_root / frames[3]))
    write_image(inputs / "noise.png", np.random.default_rng(0).integers(0, 256, (540, 960, 3), dtype=np.uint8))
    report = tmp_path / "report.json"
    capsys.readouterr()
    rc = main(["preseg", "--model", str(model_dir), "--head", str(head), str(inputs), "--out-dir",
               str(tmp_path / "out"), "--report", str(report), "--device", "cpu", "--quiet"])
    assert rc == 0
    data = json.loads(report.read_text())
    rows = {r["image"]: r for r in data["frames"]}
    assert set(rows) == {"a_frame.png", "noise.png"}
    for r in rows.values():
        assert set(r) == {"image", "uncertainty", "shift", "shift_part", "out_of_distribution", "warnings"}
        assert r["uncertainty"] >= 0 and r["shift"] > 0 and r["shift_part"] in ("features", "colour", "balance", "sharpness")
    assert rows["noise.png"]["out_of_distribution"] is True
    assert rows["noise.png"]["shift"] > rows["a_frame.png"]["shift"]
    err = capsys.readouterr().err
    assert "warning" in err and "noise.png" in err and "out of distribution" in err
