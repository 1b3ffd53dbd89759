"""Exports check what they copy and carry a SHA-256 of every file; `cadis verify` finds later damage."""
from __future__ import annotations

import hashlib

import pytest

from engine.export import export_cadis, read_manifest
from engine.export.coco import write_coco
from engine.export.report import report_from_export
from tests.reliability.data_loss_helpers import finished_project, one_clear_line, run_cli


@pytest.fixture
def project(tmp_path):
    p = finished_project(tmp_path)
    yield p
    p.close()


def test_a_truncated_frame_is_refused_not_exported(project, tmp_path):
    key = project.frame_keys()[0]
    image = project.record(key).image_path
    image.write_bytes(image.read_bytes()[: image.stat().st_size // 2])  # cut inside its data
    result = export_cadis(project, tmp_path / "out")
    manifest = read_manifest(tmp_path / "out")
    assert key not in [f["key"] for f in manifest["frames"]]
    assert [k for k, _ in result.skipped] == [key] and "truncated" in result.skipped[0][1]
    assert not (tmp_path / "out" / "Video01" / "Images" / image.name).exists()


def test_every_file_has_a_checksum_and_verify_finds_damage(project, tmp_path, capsys):
    out = tmp_path / "out"
    export_cadis(project, out, finishers=[write_coco, report_from_export])
    files = read_manifest(out)["files"]
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(files) == on_disk and "coco.json" in files
    for rel, digest in files.items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest

    code, stdout, _ = run_cli(capsys, "verify", out)
    assert code == 0 and f"OK: {len(files)} files" in stdout

    label = out / read_manifest(out)["frames"][1]["label"]
    data = bytearray(label.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit
    label.write_bytes(bytes(data))
    (out / "coco.json").unlink()
    code, stdout, _ = run_cli(capsys, "verify", out)
    assert code == 1
    rel = label.relative_to(out).as_posix()
    assert f"{rel}: damaged" in stdout and "coco.json: missing" in stdout
    assert f"2 of {len(files)} files damaged or missing" in stdout


def test_verify_of_a_folder_that_is_not_an_export_is_one_line(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    code, _out, err = run_cli(capsys, "verify", tmp_path / "x")
    assert code == 2 and "no manifest" in one_clear_line(err)
