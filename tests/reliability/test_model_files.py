"""Model and head files are read as safetensors + JSON only; stored paths cannot leave their folder.

A crafted pickle whose unpickling would create a marker folder is put wherever a loader reads weights
(synthesis model folder, pre-segmentation head, diffusers UNet folder, edit journal). Each loader must
refuse it and the marker must not exist afterwards; a positive control proves the payload does run when
unpickled. Damaged weight files are fuzzed. (Stored paths that try to leave the project: test_stored_paths.py.)
"""
from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reliability import tally

torch = pytest.importorskip("torch")

WEIGHTS = "diffusion_pytorch_model.safetensors"


class _Payload:
    """Unpickling this calls os.mkdir(marker): proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def pickle_variants(marker: Path) -> dict[str, bytes]:
    """The payload as a raw pickle (protocols 0, 2, 4) and as a torch.save-style zip archive."""
    out = {f"pickle-p{p}": pickle.dumps({"weight": _Payload(marker)}, protocol=p) for p in (0, 2, 4)}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps({"weight": _Payload(marker)}, protocol=2))
        zf.writestr("archive/version", "3\n")
    out["torch-zip"] = buf.getvalue()
    return out


def test_payload_runs_when_unpickled(tmp_path):
    """Positive control: the payload used below really executes when something unpickles it."""
    marker = tmp_path / "control-marker"
    for name, data in pickle_variants(marker).items():
        if name == "torch-zip":
            data = zipfile.ZipFile(io.BytesIO(data)).read("archive/data.pkl")
        pickle.loads(data)  # noqa: S301 - deliberately, on our own payload
        assert marker.is_dir(), name
        marker.rmdir()


# ------------------------------------------------------------------------------------------- model folders


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize("variant", ["pickle-p0", "pickle-p2", "pickle-p4", "torch-zip"])
def test_synthesis_model_refuses_pickle_weights_without_running_them(model_dir, tmp_path, variant):
    from engine.models import ModelFolderError, check_model_folder, load_synthesis_model
    from engine.pipelines import SynthesisPipeline

    marker = tmp_path / "marker"
    d = _copy(model_dir, tmp_path / "m")
    (d / WEIGHTS).write_bytes(pickle_variants(marker)[variant])
    for load in (check_model_folder, lambda p: load_synthesis_model(p, device="cpu"),
                 lambda p: SynthesisPipeline.from_pretrained(p, device="cpu")):
        with pytest.raises(ModelFolderError, match="pickle|not a valid safetensors"):
            load(d)
    # the pickle under a pickle name, with no safetensors file at all
    (d / WEIGHTS).unlink()
    (d / "diffusion_pytorch_model.bin").write_bytes(pickle_variants(marker)[variant])
    with pytest.raises(ModelFolderError, match="refusing to load pickle"):
        load_synthesis_model(d, device="cpu")
    assert not marker.exists(), "the pickle was executed"
    tally.add("fuzz_cases", 4)
    tally.add("fuzz_refused", 4)


@pytest.mark.parametrize("variant", ["pickle-p2", "torch-zip"])
def test_preseg_head_refuses_pickle_weights_without_running_them(head_dir, tmp_path, variant):
    from engine.preseg import load_head

    marker = tmp_path / "marker"
    d = _copy(head_dir, tmp_path / "h")
    (d / "preseg_head.safetensors").write_bytes(pickle_variants(marker)[variant])
    with pytest.raises(Exception):  # noqa: B017 - which error is checked in the test below
        load_head(d)
    assert not marker.exists(), "the pickle was executed"
    tally.add("fuzz_cases")
    tally.add("fuzz_refused")


def test_preseg_head_pickle_gives_a_clear_error(head_dir, tmp_path):
    from engine.preseg import load_head

    d = _copy(head_dir, tmp_path / "h")
    (d / "preseg_head.safetensors").write_bytes(pickle_variants(tmp_path / "marker")["pickle-p2"])
    with pytest.raises(ValueError, match="safetensors|pickle"):
        load_head(d)


def test_diffusers_unet_folder_with_pickle_is_not_executed(model_dir, tmp_path):
    """A folder claiming to be a plain diffusers UNet2DModel, with a pickle beside a broken safetensors file."""
    from engine.preseg import load_diffusion_model

    marker = tmp_path / "marker"
    d = tmp_path / "unet"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({  # a valid tiny config, so only the weights can be refused
        "_class_name": "UNet2DModel", "sample_size": 16, "block_out_channels": [8, 16], "norm_num_groups": 8,
        "layers_per_block": 1, "down_block_types": ["DownBlock2D"] * 2, "up_block_types": ["UpBlock2D"] * 2}))
    (d / WEIGHTS).write_bytes(pickle_variants(marker)["pickle-p2"])
    (d / "diffusion_pytorch_model.bin").write_bytes(pickle_variants(marker)["torch-zip"])
    with pytest.raises(ValueError, match="pickle"):  # its header is checked before diffusers opens anything
        load_diffusion_model(d)
    assert not marker.exists(), "the pickle was executed"
    tally.add("fuzz_cases")
    tally.add("fuzz_refused")


class _PickleRecord:
    """Stands in for an UndoRecord whose bytes are a pickle (a tampered or foreign journal entry)."""

    def __init__(self, data: bytes):
        self.data = data

    def to_bytes(self) -> bytes:
        return self.data


def test_journal_record_that_is_a_pickle_is_refused(tmp_path):
    from engine.project import Project, ProjectError
    from tests.reliability.helpers import frame_key, make_dataset

    marker = tmp_path / "marker"
    with Project.open_or_create(make_dataset(tmp_path / "ds"), tmp_path / "p.cadis-project") as proj:
        key = frame_key(1, 1)
        proj.journal_append(key, _PickleRecord(pickle_variants(marker)["pickle-p2"]))
        assert proj.pending_recovery() == {key: 1}
        with pytest.raises(ProjectError, match="cannot be replayed"):
            proj.recover(key)
    assert not marker.exists()
    tally.add("fuzz_cases")
    tally.add("fuzz_refused")


# Damaged model folders: each must give the loader's own clear error.
def _truncate_weights(d: Path) -> None:
    data = (d / WEIGHTS).read_bytes()
    (d / WEIGHTS).write_bytes(data[: len(data) // 2])


def _write(name: str, text: str):
    return lambda d: (d / name).write_text(text)


HANDLED = {
    "random weights": lambda d: (d / WEIGHTS).write_bytes(os.urandom(400)),
    "empty weights": lambda d: (d / WEIGHTS).write_bytes(b""),
    "no weights": lambda d: (d / WEIGHTS).unlink(),
    "config not json": _write("config.json", "{not json"),
    "config a list": _write("config.json", "[1, 2]"),
    "config of another model": _write("config.json", json.dumps({"_class_name": "AutoencoderKL"})),
    "scheduler not json": _write("scheduler_config.json", "nope"),
    "no config": lambda d: (d / "config.json").unlink(),
    "a file, not a folder": None,
}
LOADER_ERRORS = {
    "weights cut in half": _truncate_weights,
    "config with bad values": _write("config.json", json.dumps({"block_out_channels": "ab", "sample_size": [16, 32]})),
}


@pytest.mark.parametrize("case", sorted(HANDLED))
def test_damaged_model_folder_gives_a_clear_error(model_dir, tmp_path, case):
    from engine.models import ModelFolderError, load_synthesis_model

    d = _copy(model_dir, tmp_path / "m")
    if HANDLED[case] is None:
        d = d / WEIGHTS
    else:
        HANDLED[case](d)
    with pytest.raises(ModelFolderError) as info:
        load_synthesis_model(d, device="cpu")
    assert str(d.name) in str(info.value) or str(d) in str(info.value)
    tally.add("fuzz_cases")
    tally.add("fuzz_refused")


@pytest.mark.parametrize("case", sorted(LOADER_ERRORS))
def test_cut_weights_and_bad_config_values_give_a_model_folder_error(model_dir, tmp_path, case):
    from engine.models import ModelFolderError, load_synthesis_model

    d = _copy(model_dir, tmp_path / "m")
    LOADER_ERRORS[case](d)
    with pytest.raises(ModelFolderError):
        load_synthesis_model(d, device="cpu")


@pytest.mark.parametrize("text", ['{"format": "cadis-preseg-head/1"}', "[]"])
def test_damaged_head_json_gives_a_clear_error(head_dir, tmp_path, text):
    from engine.preseg import load_head

    d = _copy(head_dir, tmp_path / "h")
    (d / "preseg_head.json").write_text(text)
    with pytest.raises((ValueError, FileNotFoundError)):
        load_head(d)


# ------------------------------------------------------------------------------------------- weight fuzzing
@st.composite
def damaged_weights(draw, original: bytes) -> bytes:
    """The original safetensors bytes cut, bit-flipped (mostly in the JSON header) or with a lying length."""
    data = bytearray(original)
    header_end = 8 + int.from_bytes(original[:8], "little")
    how = draw(st.sampled_from(["truncate", "flip-header", "flip-any", "length", "junk-tail"]))
    if how == "truncate":
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif how in ("flip-header", "flip-any"):
        top = header_end if how == "flip-header" else len(data)
        for _ in range(draw(st.integers(1, 6))):
            i = draw(st.integers(0, top - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
    elif how == "length":
        data[:8] = draw(st.integers(0, 2**64 - 1)).to_bytes(8, "little")
    else:
        data += draw(st.binary(min_size=1, max_size=100))
    return bytes(data)


def _fuzz_loader(folder: Path, weights_name: str, load, allowed: tuple, data: bytes) -> None:
    (folder / weights_name).write_bytes(data)
    tally.add("fuzz_cases")
    try:
        load(folder)
    except allowed as exc:
        assert str(exc).strip()
        tally.add("fuzz_refused")


def test_fuzzed_model_weights_load_or_are_refused(model_dir, tmp_path_factory):
    """Damaged weights load (a flip inside the numbers) or are refused with ModelFolderError; nothing else
    escapes."""
    from engine.models import ModelFolderError, load_synthesis_model

    folder = _copy(model_dir, tmp_path_factory.mktemp("fuzz-model") / "m")
    original = (model_dir / WEIGHTS).read_bytes()
    allowed = (ModelFolderError,)

    @settings(max_examples=60, deadline=None)
    @given(data=damaged_weights(original))
    def run(data):
        _fuzz_loader(folder, WEIGHTS, lambda d: load_synthesis_model(d, device="cpu"), allowed, data)

    run()


def test_fuzzed_head_weights_load_or_are_refused(head_dir, tmp_path_factory):
    """As above for heads: every damaged file loads or is refused with a ValueError."""
    from engine.preseg import load_head

    folder = _copy(head_dir, tmp_path_factory.mktemp("fuzz-head") / "h")
    original = (head_dir / "preseg_head.safetensors").read_bytes()
    allowed = (ValueError,)

    @settings(max_examples=60, deadline=None)
    @given(data=damaged_weights(original))
    def run(data):
        _fuzz_loader(folder, "preseg_head.safetensors", load_head, allowed, data)

    run()


def test_head_weights_with_a_renamed_tensor_give_a_clear_error(head_dir, tmp_path):
    from engine.preseg import load_head

    d = _copy(head_dir, tmp_path / "h")
    path = d / "preseg_head.safetensors"
    path.write_bytes(path.read_bytes().replace(b'"members.0.0.bias"', b'"lembers.0.0.bias"', 1))
    with pytest.raises(ValueError, match="preseg_head"):
        load_head(d)
