"""`cadis export`: project and dataset sources, options, one-line errors with exit code 2."""
from __future__ import annotations

import numpy as np
import pytest

from engine.cli import main
from engine.dataset import open_dataset
from engine.export import read_manifest
from engine.imageio import read_label
from engine.project import Project
from engine.taxonomy import get_class_set

from test_project_store import make_cadis


@pytest.fixture
def project_root(tmp_path):
    with Project.open_or_create(make_cadis(tmp_path / "cadis", videos=(1, 5), frames=(3, 4))) as p:
        for n, key in enumerate(p.frame_keys()):
            label = p.load_label(key)
            label[1:4, 1:4] = 20 + n
            p.save_label(key, label)
            p.set_status(key, "done" if n < 3 else "flagged")
        return p.root


def test_export_project_with_options(project_root, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["export", str(project_root), str(out), "--experiment", "3", "--split", "train", "--previews",
                 "--no-progress"])
    assert code == 0, capsys.readouterr().err
    assert "exported 2 frames" in capsys.readouterr().out
    back = open_dataset(out)
    assert back.videos() == [1] and len(back.frames) == 2
    with Project.open_or_create(project_root) as p:
        for rec in back.frames:
            assert np.array_equal(read_label(rec.label_path), get_class_set(3).lut[p.load_label(rec.key)])
    assert (out / "Video01" / "Previews" / "Video1_frame000003.png").is_file()
    m = read_manifest(out)
    assert m["filters"] == {"split": "train", "statuses": ["done"], "include": ["real"], "previews": True}


def test_status_list_and_overwrite(project_root, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["export", str(project_root), str(out), "--status", "done,flagged", "--no-progress"]) == 0
    assert len(open_dataset(out).frames) == 4
    assert main(["export", str(project_root), str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cadis export:") and "--overwrite" in err and "\n" not in err
    assert main(["export", str(project_root), str(out), "--overwrite", "--no-progress"]) == 0
    assert len(open_dataset(out).frames) == 3


def test_export_dataset_root(tmp_path, capsys):
    ds = make_cadis(tmp_path / "cadis", videos=(2,), frames=(1, 2))
    assert main(["export", str(ds), str(tmp_path / "out"), "--no-progress"]) == 0
    assert read_manifest(tmp_path / "out")["source"]["kind"] == "dataset"
    assert not (tmp_path / "cadis.cadis-project").exists()  # exporting a dataset creates no project


def test_errors_are_one_line(tmp_path, capsys):
    assert main(["export", str(tmp_path / "missing"), str(tmp_path / "out")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["export", str(tmp_path / "empty"), str(tmp_path / "out")]) == 2
    assert "no Video" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", str(tmp_path), str(tmp_path / "out"), "--status", "finished"])


def test_format_both_adds_coco_and_report_inside_the_atomic_export(project_root, tmp_path, capsys):
    from engine.export.coco import decode_labels
    import json

    out = tmp_path / "out"
    assert main(["export", str(project_root), str(out), "--format", "both", "--no-progress"]) == 0
    coco = json.loads((out / "coco.json").read_text())
    decoded = decode_labels(coco)
    back = open_dataset(out)
    assert len(decoded) == len(back.frames) == 3
    for rec in back.frames:
        name = next(k for k in decoded if rec.key.endswith(k) or k.endswith(rec.key))
        assert np.array_equal(decoded[name], read_label(rec.label_path))
    for suffix in ("md", "csv", "png"):
        assert (out / f"class_frequency.{suffix}").is_file()


def test_a_failing_finisher_leaves_no_export(project_root, tmp_path):
    from engine.export import ExportError, export_cadis

    def boom(folder):
        assert (folder / "manifest.json").is_file()  # runs on the complete temporary export
        raise ExportError("disk trouble")

    out = tmp_path / "out"
    with Project.open_or_create(project_root) as p, pytest.raises(ExportError, match="disk trouble"):
        export_cadis(p, out, finishers=[boom])
    assert not out.exists()
    assert not any(x.name.startswith("out.tmp-") for x in tmp_path.iterdir())


def test_export_formats_are_a_list_from_one_registry(project_root, tmp_path, monkeypatch, capsys):
    """`--format cadis,coco` is a list (`both` stays its alias); a registered format is offered and written."""
    from engine.export import EXPORT_FORMATS, ExportFormat, parse_formats

    assert parse_formats("both") == parse_formats("coco,cadis") == ("cadis", "coco")
    with pytest.raises(ValueError, match="cadis, coco, both"):
        parse_formats("cadis,yolo")

    def write_list(folder):
        (folder / "frames.txt").write_text("\n".join(sorted(p.name for p in folder.rglob("*.png"))))
        return "frames.txt"

    monkeypatch.setitem(EXPORT_FORMATS, "list", ExportFormat("list", "A list of the frames", write_list))
    out = tmp_path / "listed"
    assert main(["export", str(project_root), str(out), "--format", "cadis,coco,list", "--no-progress"]) == 0
    assert (out / "coco.json").is_file() and (out / "frames.txt").read_text()
    with pytest.raises(SystemExit) as bad:
        main(["export", str(project_root), str(tmp_path / "bad"), "--format", "cadis,yolo", "--no-progress"])
    assert bad.value.code == 2 and "unknown export format 'yolo'" in capsys.readouterr().err
