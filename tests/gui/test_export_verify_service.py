"""One export and one verify use case (`engine.services.export`, `engine.services.verify`): the same request
through `cadis export` / `cadis verify` and through the export dialog gives the same files and the same
verdict."""
from __future__ import annotations

import json

import pytest

from desktop.panels.export.dialog import ExportJobDialog
from engine.cli import main
from engine.services.export import ExportOptions
from tests.gui.panel_helpers import close, open_document

pytestmark = pytest.mark.gui


def _files(out) -> dict:
    """{relative path: SHA-256} the export's manifest lists (the manifest itself carries a date)."""
    return json.loads((out / "manifest.json").read_text())["files"]


def _same_export(a, b) -> None:
    """The same files, byte for byte, except coco.json's `info` (its date and the folder's name)."""
    fa, fb = _files(a), _files(b)
    assert set(fa) == set(fb) and len(fa) > 10
    assert {k: v for k, v in fa.items() if k != "coco.json"} == {k: v for k, v in fb.items() if k != "coco.json"}
    ca, cb = (json.loads((d / "coco.json").read_text()) for d in (a, b))
    assert {k: v for k, v in ca.items() if k != "info"} == {k: v for k, v in cb.items() if k != "info"}


def test_export_and_verify_give_the_same_result_in_the_cli_and_the_dialog(qtbot, phantom_root, tmp_path, capsys):
    doc, runner, settings = open_document(qtbot, phantom_root, tmp_path)
    try:
        dialog = ExportJobDialog(doc, runner, settings)
        qtbot.addWidget(dialog)
        app_out = tmp_path / "app-export"
        dialog.set_options(ExportOptions(str(app_out), format="both", experiment="1"))  # "cadis,coco"
        handle = dialog.start()
        assert handle is not None, dialog.last_message
        qtbot.waitUntil(lambda: dialog.verified is not None, timeout=60_000)
        project_root = doc.project.root
    finally:
        close(doc, runner)

    cli_out = tmp_path / "cli-export"
    assert main(["export", str(project_root), str(cli_out), "--format", "cadis,coco", "--experiment", "1",
                 "--no-progress"]) == 0
    _same_export(app_out, cli_out)

    capsys.readouterr()
    assert main(["verify", str(app_out)]) == 0
    cli_lines = capsys.readouterr().out.strip().splitlines()
    assert dialog.verified.ok and dialog.verified.lines() == cli_lines
    assert cli_lines == [f"OK: {len(_files(app_out))} files match their SHA-256 in {app_out}"]
    assert "Verified: OK" in dialog.last_message

    first = sorted(_files(app_out))[0]  # a damaged file: both say so, the same way
    (app_out / first).write_bytes(b"changed")
    assert main(["verify", str(app_out)]) == 1
    cli_lines = capsys.readouterr().out.strip().splitlines()
    handle = dialog.verify(str(app_out))
    qtbot.waitUntil(handle.is_finished, timeout=60_000)
    assert not dialog.verified.ok and dialog.verified.lines() == cli_lines and cli_lines[0].startswith(first)
    assert "1 of" in dialog.last_message and "damaged" in dialog.last_message
