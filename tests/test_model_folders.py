"""The one way to open a model folder (engine.services.folders): every kind, saved the way real ones are, is
identified and loads; a hostile folder of every kind (a pickle, a FIFO, a huge config, a missing file) is
refused in one line before anything is built, and the pickle is never run."""
from __future__ import annotations

import os
import pickle
import re
import shutil
from pathlib import Path

import pytest
import torch

from engine.models.folders import ModelFolderError, identify
from engine.services.folders import ModelFolderRequest, open_model_folder
from tests.synthesis_helpers import TINY_SIZE, tiny_model

WEIGHTS = "diffusion_pytorch_model.safetensors"


def _pipeline(root: Path) -> Path:
    from engine.models.mask_upsampler import MaskUpsampler2DModel
    from engine.models.model_dir import DEFAULT_SCHEDULER_CONFIG
    from engine.pipelines.synthesis import SynthesisPipeline

    torch.manual_seed(0)
    up = MaskUpsampler2DModel(num_classes=8, class_set="1", block_out_channels=(8, 16), low_res_size=TINY_SIZE)
    return SynthesisPipeline(tiny_model(), dict(DEFAULT_SCHEDULER_CONFIG), up).save_pretrained(root / "pipe")


def _old_unet(root: Path) -> Path:
    from engine.models.model_dir import save_synthesis_model

    return save_synthesis_model(tiny_model(), root / "old")


def _student(root: Path) -> Path:
    from engine.distill.student import ConsistencyStudent, save_student, teacher_sha256
    from engine.models.model_dir import DEFAULT_SCHEDULER_CONFIG

    teacher = _old_unet(root / "teacher")
    student = ConsistencyStudent.from_teacher(tiny_model(), default_steps=1)
    return save_student(student, teacher, dict(DEFAULT_SCHEDULER_CONFIG), {"teacher_weights_sha256": teacher_sha256(teacher)})


def _head(root: Path) -> Path:
    from engine.preseg.ensemble import PixelEnsemble
    from engine.preseg.features import FeatureConfig
    from engine.preseg.head_dir import PresegHead, save_head
    from engine.taxonomy import get_class_set

    torch.manual_seed(0)
    head = PresegHead(PixelEnsemble(5, 8, 2, (6,)), get_class_set("1"), FeatureConfig(timesteps=(10,)), "abc123")
    return save_head(head, root / "head")


def _diffusers_unet(root: Path) -> Path:
    from diffusers import UNet2DModel

    torch.manual_seed(0)
    UNet2DModel(sample_size=16, block_out_channels=(8, 16), norm_num_groups=8, layers_per_block=1,
                down_block_types=("DownBlock2D",) * 2, up_block_types=("UpBlock2D",) * 2).save_pretrained(root / "unet")
    return root / "unet"


def _sd(root: Path) -> Path:
    from engine.textedit import build_tiny_sd

    return build_tiny_sd(root / "sd")


def _sam(family):
    def make(root: Path) -> Path:
        from tests.segment_helpers import make_tiny_folder

        return make_tiny_folder(root / family, family)
    return make


def _sam2_video(root: Path) -> Path:
    from tests.segment_helpers import make_tiny_video_folder

    return make_tiny_video_folder(root / "sam2_video")


# kind -> (how a real folder of it is written, its config file, its weights file)
KINDS = {
    "synthesis": (_pipeline, "model_index.json", "unet/" + WEIGHTS),
    "synthesis-unet": (_old_unet, "config.json", WEIGHTS),
    "upsampler": (lambda root: _pipeline(root) / "upsampler", "config.json", WEIGHTS),
    "student": (_student, "config.json", WEIGHTS),
    "preseg-head": (_head, "preseg_head.json", "preseg_head.safetensors"),
    "diffusers-unet": (_diffusers_unet, "config.json", WEIGHTS),
    "stable-diffusion": (_sd, "model_index.json", "unet/" + WEIGHTS),
    "sam": (_sam("sam"), "config.json", "model.safetensors"),
    "sam2": (_sam("sam2"), "config.json", "model.safetensors"),
    "sam2_video": (_sam2_video, "config.json", "model.safetensors"),
    "sam3_tracker": (_sam("sam3_tracker"), "config.json", "model.safetensors"),
    "sam3": (_sam("sam3"), "config.json", "model.safetensors"),
}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("folders")
    return {kind: make(root / kind.replace("_", "-")) for kind, (make, _, _) in KINDS.items()}


def test_every_kind_of_the_registry_is_covered():
    from engine.models.folders import KINDS as REGISTERED

    assert set(KINDS) == set(REGISTERED)


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_is_identified_and_loads(folders, kind):
    folder = folders[kind]
    assert identify(folder) == kind
    opened = open_model_folder(ModelFolderRequest(str(folder)))
    assert opened.kind == kind and opened.model is not None
    model = getattr(opened.model, "unet", None) or getattr(opened.model, "ensemble", None) or \
        getattr(opened.model, "model", None) or opened.model
    assert isinstance(model, torch.nn.Module) and not model.training
    if kind == "synthesis-unet":  # written by an earlier version: loads, with the command that converts it
        assert f"cadis convert-model {folder} NEW_FOLDER" in opened.note
        assert opened.model.upsampler is None
    if kind == "synthesis":
        assert opened.model.upsampler is not None and not opened.note


class _Payload:
    """Unpickling this creates a marker file: proof that a loader ran pickle code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def _refused(folder: Path, match: str) -> str:
    with pytest.raises(ModelFolderError) as info:
        open_model_folder(ModelFolderRequest(str(folder)))
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    assert re.search(match, message.replace(str(folder), "FOLDER")), message  # not found in the folder's own path
    return message


@pytest.fixture
def copy_of(folders, tmp_path):
    def copy(kind):
        out = tmp_path / kind
        shutil.copytree(folders[kind], out)
        return out
    return copy


@pytest.mark.parametrize("kind", list(KINDS))
def test_pickle_in_place_of_the_weights_is_refused_and_never_run(copy_of, tmp_path, kind):
    folder = copy_of(kind)
    marker = tmp_path / "ran"
    weights = folder / KINDS[kind][2]
    weights.write_bytes(pickle.dumps({"w": _Payload(marker)}, protocol=4))
    _refused(folder, "pickle|safetensors")
    weights.unlink()  # and under a pickle's own name, with no safetensors file at all
    weights.with_suffix(".bin").write_bytes(pickle.dumps({"w": _Payload(marker)}, protocol=4))
    _refused(folder, "pickle|\\.bin|safetensors")
    assert not marker.exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("kind", list(KINDS))
def test_fifo_config_is_refused_without_blocking(copy_of, kind):
    folder = copy_of(kind)
    config = folder / KINDS[kind][1]
    config.unlink()
    os.mkfifo(config)
    _refused(folder, "FIFO|not a regular file")


@pytest.mark.parametrize("kind", list(KINDS))
def test_huge_config_is_refused(copy_of, kind):
    folder = copy_of(kind)
    config = folder / KINDS[kind][1]
    config.write_text("{" + " " * (40 << 20) + "}")
    _refused(folder, "larger than|too large|MB|bytes")


@pytest.mark.parametrize("kind", list(KINDS))
def test_missing_weights_are_refused(copy_of, kind):
    folder = copy_of(kind)
    (folder / KINDS[kind][2]).unlink()
    _refused(folder, r"\bno \S*safetensors|has no|missing|needs")


def test_pickled_weights_are_refused_with_the_command_that_converts_them(folders, tmp_path):
    """A folder whose weights an older tool pickled: refused (never opened) with the exact conversion command;
    run where the pickle is trusted, that command makes the folder load with the same weights."""
    import shlex
    import subprocess
    import sys

    from safetensors.torch import load_file

    folder = tmp_path / "old"
    shutil.copytree(folders["synthesis-unet"], folder)
    state = load_file(str(folder / WEIGHTS))
    torch.save(state, folder / "diffusion_pytorch_model.bin")
    (folder / WEIGHTS).unlink()
    message = _refused(folder, "never opened")
    command = message[message.index("(python -c ") + 1:message.rindex(")")]
    argv = shlex.split(command)
    assert argv[:2] == ["python", "-c"] and "weights_only=True" in argv[2]
    subprocess.run([sys.executable, "-c", argv[2]], check=True, timeout=120)
    opened = open_model_folder(ModelFolderRequest(str(folder)))
    for name, tensor in opened.model.unet.state_dict().items():
        assert torch.equal(tensor, state[name].float())
