"""Hostile and broken segmentation-model folders are refused in one line, before anything is built."""
from __future__ import annotations

import json
import os
import pickle
import shutil

import pytest

from engine.segment import SegmentFolderError, check_segment_folder, load_segment_model
from engine.segment.folder import check_weights
from tests.segment_helpers import make_tiny_folder


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return make_tiny_folder(tmp_path_factory.mktemp("sam") / "sam", "sam")


@pytest.fixture
def copy(good, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(good, out)
    return out


def _refused(folder, match):
    with pytest.raises(SegmentFolderError, match=match) as info:
        load_segment_model(folder, "cpu")
    assert "\n" not in str(info.value)
    return str(info.value)


def test_a_good_folder_passes(good):
    folder = check_segment_folder(good)
    assert folder.family == "sam" and folder.processor["size"] == {"longest_edge": 128}
    check_weights(folder)


def test_missing_processor(copy):
    (copy / "processor_config.json").unlink()
    _refused(copy, "no processor config")


def test_pickle_weights_are_never_opened(copy):
    (copy / "model.safetensors").write_bytes(pickle.dumps({"w": [1.0] * 10}, protocol=4))
    _refused(copy, "pickle")
    (copy / "model.safetensors").unlink()
    (copy / "pytorch_model.bin").write_bytes(pickle.dumps({"w": 1}, protocol=4))
    _refused(copy, "pytorch_model.bin, a pickle")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_config_does_not_block(copy):
    (copy / "config.json").unlink()
    os.mkfifo(copy / "config.json")
    _refused(copy, "FIFO")


def test_fifo_weights_do_not_block(copy):
    (copy / "model.safetensors").unlink()
    os.mkfifo(copy / "model.safetensors")
    _refused(copy, "not a regular file")


def test_huge_configs(copy):
    cfg = json.loads((copy / "config.json").read_text())
    cfg["vision_config"]["num_hidden_layers"] = 10 ** 30
    (copy / "config.json").write_text(json.dumps(cfg))
    _refused(copy, "num_hidden_layers")
    cfg["vision_config"]["num_hidden_layers"] = 2
    cfg["vision_config"]["global_attn_indexes"] = list(range(100_000))
    (copy / "config.json").write_text(json.dumps(cfg))
    _refused(copy, "larger than|more than a config")
    (copy / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    _refused(copy, "config")


def test_config_that_the_weights_do_not_hold(copy):
    cfg = json.loads((copy / "config.json").read_text())
    cfg["vision_config"]["hidden_size"] = 64
    cfg["vision_config"]["mlp_dim"] = 128
    (copy / "config.json").write_text(json.dumps(cfg))
    _refused(copy, "does not match config.json")


def test_unknown_model_type_and_no_folder(copy, tmp_path):
    cfg = json.loads((copy / "config.json").read_text())
    cfg["model_type"] = "bert"
    (copy / "config.json").write_text(json.dumps(cfg))
    _refused(copy, "not SAM")
    _refused(tmp_path / "nowhere", "not a folder")
    (tmp_path / "empty").mkdir()
    _refused(tmp_path / "empty", "no config.json")


def test_processor_that_mixes_models(copy):
    proc = json.loads((copy / "processor_config.json").read_text())
    proc["image_processor"]["size"] = {"longest_edge": 256}
    proc["image_processor"]["pad_size"] = {"height": 256, "width": 256}
    (copy / "processor_config.json").write_text(json.dumps(proc))
    _refused(copy, "mixes two models")
    proc["image_processor"]["image_std"] = [0, 1, 1]
    (copy / "processor_config.json").write_text(json.dumps(proc))
    _refused(copy, "zero")
