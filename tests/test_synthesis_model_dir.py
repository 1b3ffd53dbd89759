"""Model folders: exact save/load, class-set and resolution checks, pickle refusal."""
import json
import pickle

import pytest
import torch

from engine.models import ModelFolderError, load_synthesis_model, mask_to_segmap, save_synthesis_model
from tests.synthesis_helpers import TINY_SIZE, tiny_model, two_masks


@pytest.fixture()
def saved(tmp_path):
    model = tiny_model("1", seed=3)
    folder = save_synthesis_model(model, tmp_path / "m", card={"steps": 7, "training_data_fingerprint": "abc"})
    return model, folder


def test_save_load_reproduces_outputs_exactly(saved):
    model, folder = saved
    loaded, sched, card = load_synthesis_model(folder, device="cpu")
    x = torch.randn(2, 3, *TINY_SIZE, generator=torch.Generator().manual_seed(0))
    seg = mask_to_segmap(two_masks()[0], "1", TINY_SIZE).expand(2, -1, -1, -1)
    with torch.no_grad():
        assert torch.equal(model(x, 321, segmap=seg), loaded(x, 321, segmap=seg))
    assert card["class_set"] == "1" and card["resolution"] == "32x16" and card["steps"] == 7
    assert card["training_data_fingerprint"] == "abc" and "date" in card
    assert sched["num_train_timesteps"] == 1000
    assert {p.name for p in folder.iterdir()} >= {"config.json", "diffusion_pytorch_model.safetensors",
                                                   "scheduler_config.json", "model_card.json", "README.md"}


def test_half_precision_weights_load_as_fp32(tmp_path):
    model = tiny_model("1")
    folder = save_synthesis_model(model, tmp_path / "h", dtype=torch.float16)
    loaded, _, card = load_synthesis_model(folder, device="cpu")
    assert card["weights_dtype"] == "float16"
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    w0 = next(model.parameters())
    assert torch.allclose(next(loaded.parameters()), w0.half().float())


def test_class_set_and_resolution_are_checked(saved):
    _, folder = saved
    load_synthesis_model(folder, device="cpu", class_set=1, resolution="32x16")  # matches: no error
    with pytest.raises(ModelFolderError, match=r"class set '1'.*--classes full"):
        load_synthesis_model(folder, device="cpu", class_set="full")
    with pytest.raises(ModelFolderError, match=r"works at 32x16, not 256x144"):
        load_synthesis_model(folder, device="cpu", resolution="256x144")


class _Payload:
    """Unpickling this creates a marker file: proof that a loader executed pickle code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _never_torch_load(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("torch.load must never be called on model folders")

    monkeypatch.setattr(torch, "load", boom)
    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "loads", boom)


def test_pickle_in_place_of_safetensors_is_refused_and_not_executed(saved, tmp_path, monkeypatch):
    _, folder = saved
    marker = tmp_path / "executed.txt"
    (folder / "diffusion_pytorch_model.safetensors").write_bytes(pickle.dumps(_Payload(marker), protocol=4))
    _never_torch_load(monkeypatch)
    with pytest.raises(ModelFolderError, match="pickle"):
        load_synthesis_model(folder, device="cpu")
    assert not marker.exists()


def test_pickle_bin_weights_without_safetensors_are_refused(saved, tmp_path, monkeypatch):
    _, folder = saved
    marker = tmp_path / "executed.txt"
    (folder / "diffusion_pytorch_model.safetensors").unlink()
    (folder / "diffusion_pytorch_model.bin").write_bytes(pickle.dumps(_Payload(marker)))
    _never_torch_load(monkeypatch)
    with pytest.raises(ModelFolderError, match=r"pickle weights \(diffusion_pytorch_model.bin\)"):
        load_synthesis_model(folder, device="cpu")
    assert not marker.exists()


def test_missing_or_broken_folders_say_what_is_wrong(saved, tmp_path):
    _, folder = saved
    with pytest.raises(ModelFolderError, match="does not exist"):
        load_synthesis_model(tmp_path / "nope", device="cpu")
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ModelFolderError, match="not valid JSON"):
        load_synthesis_model(folder, device="cpu")
    (folder / "config.json").write_text(json.dumps({"_class_name": "UNet2DModel"}))
    with pytest.raises(ModelFolderError, match="not a SpadeUNet2DModel"):
        load_synthesis_model(folder, device="cpu")
    (folder / "diffusion_pytorch_model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{")
    with pytest.raises(ModelFolderError, match="not a valid safetensors"):
        load_synthesis_model(folder, device="cpu")


def test_safetensors_whose_header_starts_like_a_pickle_byte_is_accepted(tmp_path):
    """A header length of 0x80 makes the first byte 0x80, the pickle protocol marker: still safetensors."""
    from engine.models.model_dir import _check_safetensors

    header = b'{"__metadata__":{"pad":"' + b"x" * 100
    header += b"x" * (0x80 - len(header) - 3) + b'"}}'
    assert len(header) == 0x80
    path = tmp_path / "w.safetensors"
    path.write_bytes((0x80).to_bytes(8, "little") + header)
    _check_safetensors(path)  # no error
    assert path.read_bytes()[:1] == b"\x80"
