"""No command writes over its own inputs or into the dataset it reads (engine/safety.py, one rule for all).

Each command is pointed at its own input or into the source dataset; each must refuse with one line and
exit code 2 before writing anything, and the dataset's checksum must not change."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import tally
from tests.reliability.data_loss_helpers import one_clear_line, run_cli, tree_sha
from tests.reliability.helpers import make_dataset

LABEL = "Video01/Labels/Video1_frame000001.png"
IMAGE = "Video01/Images/Video1_frame000001.png"


def _cases(ds, tmp):
    """(argv, what the refusal must say) per writing command."""
    model, head = tmp / "model", tmp / "head"
    return {
        "synth --out = --mask": (["synth", "--model", model, "--mask", ds / LABEL, "--out", ds / LABEL],
                                 "would write over the mask"),
        "synth into the dataset": (["synth", "--model", model, "--mask", ds / LABEL, "--out",
                                    ds / "Video01" / "Images" / "new.png"], "lies in the CaDIS dataset"),
        "remap over its input": (["remap", ds / LABEL, ds / LABEL, "--experiment", "1"], "would write over"),
        "preseg into its input folder": (["preseg", "--model", model, "--head", head, ds / "Video01" / "Images",
                                          "--out-dir", ds / "Video01" / "Images", "--quiet"], "would write over"),
        "eval-dist json into its input": (["eval-dist", ds, tmp / "synth", "--model", model, "--json",
                                           ds / "Video01" / "d.json"], "would write over"),
        "edit over its image": (["edit", "--sd", tmp / "sd", ds / IMAGE, "--prompt", "x", "--out", ds / IMAGE,
                                 "--quiet"], "would write over the image"),
        "train-preseg head into the dataset": (["train-preseg", "--model", model, "--data", ds, "--out", ds / "head",
                                                "--quiet"], "would write over the training data"),
        "train-model into its data": (["train-model", ds, "--out", ds / "model", "--resolution", "16x8",
                                       "--channels", "8", "--max-steps", "1", "--sample-every", "0", "--quiet"],
                                      "would write over the training data"),
        "phantom inside a dataset": (["phantom", ds / "sample", "--videos", "1", "--frames-per-video", "1",
                                      "--width", "64", "--height", "36", "--quiet"], "lies in the CaDIS dataset"),
        "export into the dataset": (["export", ds, ds / "export", "--no-progress"], "would write over the source"),
    }


CASE_NAMES = list(_cases(Path("/x"), Path("/y")))


@pytest.mark.parametrize("case", CASE_NAMES)
def test_writing_commands_refuse_to_write_over_inputs_or_into_the_dataset(tmp_path, capsys, case):
    ds = make_dataset(tmp_path / "cadis")
    (tmp_path / "synth").mkdir()
    before = tree_sha(ds)
    argv, says = _cases(ds, tmp_path)[case]
    code, _out, err = run_cli(capsys, *argv)
    tally.add("fuzz_cases")
    assert code == 2, err
    assert says in one_clear_line(err)
    assert tree_sha(ds) == before, "the dataset changed"
    tally.add("fuzz_refused")


def test_the_rule_sees_through_links_and_second_names(tmp_path):
    from engine.safety import Read, UnsafeWriteError, Write, check_writes

    ds = make_dataset(tmp_path / "cadis")
    (tmp_path / "alias").symlink_to(ds, target_is_directory=True)
    hard = tmp_path / "hard.png"
    hard.hardlink_to(ds / LABEL)
    with pytest.raises(UnsafeWriteError, match="would write over"):
        check_writes([Write(tmp_path / "alias" / LABEL)], [Read(ds / LABEL, "mask")])
    with pytest.raises(UnsafeWriteError, match="would write over"):
        check_writes([Write(hard)], [Read(ds / LABEL, "mask")])
    with pytest.raises(UnsafeWriteError, match="CaDIS dataset"):
        check_writes([Write(tmp_path / "alias" / "Video01" / "x.png")], [])
    check_writes([Write(tmp_path / "out.png"), Write(tmp_path / "models" / "m", "folder")],
                 [Read(ds / LABEL, "mask"), Read(ds, "dataset")])  # outside: fine
