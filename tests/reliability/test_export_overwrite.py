"""`export --overwrite` replaces only an earlier export: an unrelated folder, a symbolic link to another
dataset, or an export holding someone else's file is refused and left exactly as it was."""
from __future__ import annotations

import pytest

from engine.export import export_cadis, read_manifest
from engine.export.cadis_export import ExportError
from tests.reliability.data_loss_helpers import finished_project, one_clear_line, run_cli, tree_sha
from tests.reliability.helpers import make_dataset


@pytest.fixture
def project(tmp_path):
    p = finished_project(tmp_path)
    yield p
    p.close()


def test_unrelated_folder_is_never_overwritten(project, tmp_path, capsys):
    mine = tmp_path / "my-notes"
    (mine / "sub").mkdir(parents=True)
    (mine / "sub" / "thesis.tex").write_text("a year of work")
    before = tree_sha(mine)
    code, _out, err = run_cli(capsys, "export", project.root, mine, "--overwrite", "--no-progress")
    assert code == 2 and "not an earlier export" in one_clear_line(err)
    assert tree_sha(mine) == before


def test_symlink_to_another_dataset_is_refused(project, tmp_path, capsys):
    other = make_dataset(tmp_path / "other-dataset", seed=3)
    before = tree_sha(other)
    link = tmp_path / "link"
    link.symlink_to(other, target_is_directory=True)
    code, _out, err = run_cli(capsys, "export", project.root, link, "--overwrite", "--no-progress")
    assert code == 2 and "symbolic link" in one_clear_line(err)
    assert tree_sha(other) == before and link.is_symlink()


def test_an_earlier_export_is_replaced_but_not_with_someone_elses_file_in_it(project, tmp_path):
    out = tmp_path / "out"
    export_cadis(project, out)
    (out / "Video01" / "README.txt").write_text("added by hand")
    with pytest.raises(ExportError, match="did not write"):
        export_cadis(project, out, overwrite=True)
    assert (out / "Video01" / "README.txt").read_text() == "added by hand"
    (out / "Video01" / "README.txt").unlink()
    first = read_manifest(out)["created"]
    export_cadis(project, out, overwrite=True)
    assert read_manifest(out)["counts"]["frames"] == 3 and read_manifest(out)["created"] >= first
