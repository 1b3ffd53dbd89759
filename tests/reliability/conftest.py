"""Reliability suite: prints the counts it gathered (fuzz cases, soak operations, kills survived, losses).

Every test here checks a promise about not losing or corrupting work, so each failed test is counted as a
loss in the summary line; `losses 0` means every promise held in this run.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.reliability import tally


# a tiny synthesis model folder and pre-segmentation head, the good folders the model-file attacks start from
@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    from engine.models import SpadeUNet2DModel, save_synthesis_model

    torch.manual_seed(0)
    model = SpadeUNet2DModel(sample_size=(16, 32), num_classes=8, class_set="1", block_out_channels=(8, 16),
                             layers_per_block=1, spade_hidden=8, head_dim=8)
    return save_synthesis_model(model, tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="module")
def head_dir(tmp_path_factory) -> Path:
    from engine.preseg import FeatureConfig, PixelEnsemble, PresegHead, save_head
    from engine.taxonomy import get_class_set

    torch.manual_seed(0)
    head = PresegHead(PixelEnsemble(4, 8, 2, (8,)), get_class_set("1"), FeatureConfig(timesteps=(50,)), "0" * 16)
    return save_head(head, tmp_path_factory.mktemp("head") / "preseg")


def pytest_runtest_logreport(report):
    """Count failed reliability tests (this hook only sees the items under this folder)."""
    if report.failed and report.when == "call":
        tally.add("losses")


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001 - pytest hook signature
    line = tally.summary()
    if line:
        terminalreporter.write_sep("-", "reliability counts")
        terminalreporter.write_line(line)
