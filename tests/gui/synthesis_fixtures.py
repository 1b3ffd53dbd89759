"""Fixtures of the Synthesize-dock tests: a tiny synthesis model folder and a main window that uses it."""
from __future__ import annotations

import pytest

from tests.gui.window_helpers import make_settings, open_window


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from engine.models import save_synthesis_model
    from tests.synthesis_helpers import tiny_model

    return save_synthesis_model(tiny_model("1"), tmp_path_factory.mktemp("synth_model") / "tiny")


@pytest.fixture
def window(qtbot, phantom_root, tmp_path, model_dir):
    settings = make_settings(tmp_path / "s.ini")
    settings.model_dir = str(model_dir)
    settings.device = "cpu"
    return open_window(qtbot, phantom_root, tmp_path / "proj", settings)
