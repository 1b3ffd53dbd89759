"""One text-edit use case (`engine.services.textedit`): the same request through `cadis edit` and through the
Text edit panel gives the same edited frame, byte for byte."""
from __future__ import annotations

import numpy as np
import pytest

from desktop.panels.textedit.panel import TextEditPanel
from engine.cli import main
from engine.imageio import read_image
from tests.gui.panel_helpers import close, open_document
from tests.textedit_helpers import _one_torch_thread, tiny_sd_dir  # noqa: F401 - fixtures

pytestmark = pytest.mark.gui


def test_cli_and_panel_make_the_same_edit(qtbot, phantom_root, tmp_path, tiny_sd_dir):  # noqa: F811
    doc, runner, settings = open_document(qtbot, phantom_root, tmp_path)
    try:
        settings.sd_dir, settings.device = str(tiny_sd_dir), "cpu"
        key = doc.keys()[0]
        assert doc.set_frame(key)
        panel = TextEditPanel(doc, runner, settings)
        qtbot.addWidget(panel)
        panel.prompt.setText("heavy bleeding")
        panel.method.setCurrentIndex(panel.method.findData("sdedit"))
        panel.steps.setValue(3)
        panel.seed.setValue(7)
        s = panel.edit_settings()
        handle = panel.run()
        assert handle is not None, panel.last_message
        qtbot.waitUntil(handle.is_finished, timeout=120_000)
        assert handle.state == "done", handle.error
        app_image = panel.results[0].image
    finally:
        close(doc, runner)

    out = tmp_path / "cli.png"
    assert main(["edit", "--sd", str(tiny_sd_dir), str(phantom_root / key), "--prompt", "heavy bleeding",
                 "--out", str(out), "--method", "sdedit", "--strength", str(s.strength), "--steps", "3",
                 "--guidance", str(s.guidance), "--seed", "7", "--device", "cpu", "--quiet"]) == 0
    cli_image = read_image(out)
    assert cli_image.shape == app_image.shape == read_image(phantom_root / key).shape
    assert not np.array_equal(cli_image, read_image(phantom_root / key))  # an edit happened
    np.testing.assert_array_equal(cli_image, app_image)
