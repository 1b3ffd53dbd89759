"""An export's manifest.json as a hostile or clumsy user leaves it, and files the export did not write:
`cadis verify` and `export --overwrite` answer with one line, never hang, never read a device, never trace."""
from __future__ import annotations

import json
import os
import time

import pytest

from engine.export import export_cadis, read_manifest
from tests.reliability import tally
from tests.reliability.data_loss_helpers import finished_project, one_clear_line, run_cli
from tests.reliability.fifo_helpers import unblock_after
from tests.reliability.limited import run_cli_limited


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    project = finished_project(tmp)
    try:
        export_cadis(project, tmp / "out")
    finally:
        project.close()
    return tmp / "out"


def _copy(export, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(export, out)
    return out


def _set(m, **kw):
    data = json.loads(m.read_text())
    data.update(kw)
    m.write_text(json.dumps(data))


BREAKERS = {
    "nested 100,000 deep": (lambda m: m.write_text("[" * 100_000 + "]" * 100_000), "nests deeper"),
    '"version": [1]': (lambda m: _set(m, version=[1]), "not a version number"),
    '"version": "x"': (lambda m: _set(m, version="x"), "not a version number"),
    "a FIFO": (lambda m: (m.unlink(), os.mkfifo(m)), "FIFO"),
    "a link to /dev/zero": (lambda m: (m.unlink(), m.symlink_to("/dev/zero")), "symbolic link"),
    "a sparse 12 GiB file": (lambda m: os.truncate(m, 12 << 30), "more than"),
}


HUGE = ("a link to /dev/zero", "a sparse 12 GiB file")


@pytest.mark.parametrize("case", list(BREAKERS))
@pytest.mark.parametrize("command", ["verify", "export --overwrite"])
def test_a_hostile_manifest_is_one_line(export, tmp_path, capsys, case, command):
    out = _copy(export, tmp_path)
    breaker, says = BREAKERS[case]
    breaker(out / "manifest.json")
    guard = unblock_after(out / "manifest.json") if case == "a FIFO" else None  # the old code would wait forever
    before = sorted(p.name for p in out.iterdir())
    start = time.monotonic()
    tally.add("fuzz_cases")
    # a device or a huge file would be read whole by the old code: those cases run in a limited child
    run = (lambda *a: run_cli_limited(*a)) if case in HUGE else (lambda *a: run_cli(capsys, *a))
    if command == "verify":
        code, _o, err = run("verify", out)
        assert code == 2 and says in one_clear_line(err)
    else:
        src = tmp_path / "src"
        project = finished_project(src)
        project.close()
        code, _o, err = run("export", project.root, out, "--overwrite", "--no-progress")
        assert code == 2 and "not an earlier export" in one_clear_line(err)
        assert sorted(p.name for p in out.iterdir()) == before, "the folder was changed"
    if guard is not None:
        guard.set()
    assert time.monotonic() - start < (60 if case in HUGE else 10)
    tally.add("fuzz_refused")


def test_verify_fails_when_the_export_holds_files_it_did_not_write(export, tmp_path, capsys):
    out = _copy(export, tmp_path)
    code, stdout, _ = run_cli(capsys, "verify", out)
    assert code == 0 and "OK:" in stdout
    (out / "Video01" / "Images" / "smuggled.png").write_bytes(b"not ours")
    code, stdout, _ = run_cli(capsys, "verify", out)
    assert code == 1
    assert "Video01/Images/smuggled.png: not written by the export" in stdout
    assert "were not written by the export" in stdout and "--allow-unlisted" in stdout
    code, stdout, _ = run_cli(capsys, "verify", out, "--allow-unlisted")
    assert code == 0 and "1 other files accepted" in stdout
    assert read_manifest(out)["files"]
