"""Labels with IDs outside the class set (or of the wrong size) are refused by `synth` and `train-preseg`,
in the words `info` uses, instead of passing into an output mask or being mapped silently to ignore."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.cli import main
from engine.imageio import read_label, write_label
from tests.reliability import tally
from tests.reliability.helpers import H, W, make_dataset


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from engine.models import SpadeUNet2DModel, save_synthesis_model

    torch.manual_seed(0)
    model = SpadeUNet2DModel(sample_size=(16, 32), num_classes=36, class_set="full", block_out_channels=(8, 16),
                             layers_per_block=1, spade_hidden=8, head_dim=8)
    return save_synthesis_model(model, tmp_path_factory.mktemp("model") / "tiny")


def _bad_label(path: Path, bad_id: int = 200) -> np.ndarray:
    label = read_label(path).copy()
    label[:4, :4] = bad_id
    write_label(path, label)
    return label


def test_synth_refuses_a_mask_with_ids_outside_the_class_set(tiny_model, tmp_path, capsys):
    mask = tmp_path / "mask.png"
    label = np.full((16, 32), 3, np.uint8)
    label[:4, :4] = 200
    write_label(mask, label)
    out = tmp_path / "out.png"
    rc = main(["synth", "--model", str(tiny_model), "--mask", str(mask), "--out", str(out), "--steps", "1",
               "--quiet", "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and "class IDs outside 0..35: 200" in err and str(mask) in err
    assert not out.exists() and not out.with_name("out.mask.png").exists()
    tally.add("fuzz_cases")
    tally.add("fuzz_refused")


def test_pipeline_refuses_such_a_mask_too(tiny_model):
    from engine.pipelines import SynthesisPipeline

    pipe = SynthesisPipeline.from_pretrained(tiny_model, device="cpu")
    label = np.full((16, 32), 3, np.uint8)
    label[0, 0] = 36
    with pytest.raises(ValueError, match="class IDs outside 0..35: 36"):
        pipe(label, num_inference_steps=1)
    with pytest.raises(ValueError, match="outside 0..255"):
        pipe(np.full((16, 32), 300, np.int32), num_inference_steps=1)
    label[0, 0] = 255  # unlabelled pixels are fine
    assert pipe(label, num_inference_steps=1).mask.max() == 255


def test_training_frames_refuse_bad_ids_and_wrong_sizes(tmp_path):
    from engine.preseg import training_frames

    root = make_dataset(tmp_path / "ds")
    _bad_label(root / "Video01/Labels/Video1_frame000002.png", 40)
    write_label(root / "Video05/Labels/Video5_frame000001.png", np.zeros((H // 2, W // 2), np.uint8))
    frames = {f.key: f for f in training_frames(root)}
    image, label = frames["Video01/Images/Video1_frame000001.png"].load()
    assert image.shape[:2] == label.shape
    with pytest.raises(ValueError, match="Video1_frame000002.png: class IDs outside 0..35: 40"):
        frames["Video01/Images/Video1_frame000002.png"].load()
    with pytest.raises(ValueError, match=f"label is {W // 2}x{H // 2} but its image is {W}x{H}"):
        frames["Video05/Images/Video5_frame000001.png"].load()


def test_train_preseg_cli_refuses_with_one_line(tiny_model, tmp_path, capsys):
    root = make_dataset(tmp_path / "ds", frames=((1, 1), (1, 2)))
    _bad_label(root / "Video01/Labels/Video1_frame000002.png", 99)
    head = tmp_path / "head"
    rc = main(["train-preseg", "--model", str(tiny_model), "--data", str(root), "--out", str(head),
               "--members", "1", "--max-epochs", "1", "--pixels-per-frame", "50", "--quiet", "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and "class IDs outside 0..35: 99" in err and "Traceback" not in err
    assert not (head / "preseg_head.safetensors").exists()
    # `info` reports the same frame in the same words
    assert main(["info", str(root), "--no-progress"]) == 0
    assert "Video01/Labels/Video1_frame000002.png: class IDs outside 0..35: 99" in capsys.readouterr().out
