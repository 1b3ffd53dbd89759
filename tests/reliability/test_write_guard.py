"""No command writes over its own inputs or into the dataset it reads (engine/safety.py, one rule for all).

Each command is pointed at its own input or into the source dataset; each must refuse with one line and
exit code 2 before writing anything, and the dataset's checksum must not change."""
from __future__ import annotations

import shutil
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
        "train-upsampler into the dataset root": (["train-upsampler", ds, "--model", model, "--out", ds / "up",
                                                   "--max-steps", "1", "--quiet"], "would write over the training data"),
        "train-upsampler into a video's Labels": (["train-upsampler", tmp / "synth", "--model", model, "--out",
                                                   ds / "Video01" / "Labels", "--quiet"], "lies in the CaDIS dataset"),
        "convert-model into the dataset": (["convert-model", model, ds / "new"], "lies in the CaDIS dataset"),
        "convert-model over its input": (["convert-model", model, model / "inner"], "would write over"),
        "distill a model kept in the dataset": (["distill", "--model", ds / "model", "--max-steps", "1", "--quiet"],
                                                "lies in the CaDIS dataset"),
        "preseg report into the dataset": (["preseg", "--model", model, "--head", head, ds / IMAGE, "--out-dir",
                                            tmp / "seg", "--report", ds / "r.json", "--quiet"], "lies in the CaDIS"),
        "eval-dist json into the dataset root": (["eval-dist", tmp / "synth", tmp / "synth", "--model", model,
                                                  "--json", ds / "d.json"], "lies in the CaDIS dataset"),
        "edit into the dataset": (["edit", "--sd", tmp / "sd", tmp / "in.png", "--prompt", "x", "--out",
                                   ds / "x.png", "--quiet"], "lies in the CaDIS dataset"),
        "remap into the dataset": (["remap", tmp / "in.png", ds / "x.png", "--experiment", "1"], "lies in the CaDIS"),
        "synth into the dataset root": (["synth", "--model", model, "--mask", tmp / "in.png", "--out", ds / "x.png"],
                                        "lies in the CaDIS dataset"),
        "segment into the dataset": (["segment", "--sam", tmp / "sam", ds / IMAGE, "--point", "1,1", "--class", "1",
                                      "--out", ds / "x.png"], "lies in the CaDIS dataset"),
        "segment over its image": (["segment", "--sam", tmp / "sam", ds / IMAGE, "--point", "1,1", "--class", "1",
                                    "--out", ds / IMAGE], "would write over"),
        "assign into the dataset": (["assign", ds, "--annotators", "ana,ben", "--out", ds / "packages",
                                     "--no-progress"], "would write over"),
        "merge into the dataset": (["merge", tmp / "proj", "--out", ds / "merged", "--no-progress"],
                                   "the dataset is never written"),
        "agreement json into the dataset": (["agreement", tmp / "proj", "--json", ds / "a.json"],
                                            "lies in the CaDIS dataset"),
        "import-video into a dataset's Labels": (["import-video", tmp / "in.png", ds / "Video01" / "Labels",
                                                  "--every", "1", "--quiet"], "lies in the CaDIS dataset"),
        "propagate into the dataset": (["propagate", ds, "--from", IMAGE, "--until-labelled", "--out-dir",
                                        ds / "proposals", "--quiet"], "would write over"),
    }


CASE_NAMES = list(_cases(Path("/x"), Path("/y")))


@pytest.mark.parametrize("case", CASE_NAMES)
def test_writing_commands_refuse_to_write_over_inputs_or_into_the_dataset(tmp_path, capsys, case):
    ds = make_dataset(tmp_path / "cadis")
    (tmp_path / "synth").mkdir()
    shutil.copytree(ds / "Video01" / "Labels", ds / "model")  # a folder a clumsy user took for a model
    shutil.copy(ds / LABEL, tmp_path / "in.png")
    if case.split()[0] in ("merge", "agreement"):  # commands that read a project: a real one beside the dataset
        from engine.project import Project

        Project.open_or_create(ds, project_dir=tmp_path / "proj").close()
    before = tree_sha(ds)
    argv, says = _cases(ds, tmp_path)[case]
    code, _out, err = run_cli(capsys, *argv)
    tally.add("fuzz_cases")
    assert code == 2, err
    assert says in one_clear_line(err)
    assert tree_sha(ds) == before, "the dataset changed"
    assert not (tmp_path / "model" / "inner").exists()
    tally.add("fuzz_refused")


# arguments that name what a command writes; commands that add to a folder they are given write into it
OUTPUT_DESTS = {"out", "out_dir", "new", "label_out", "report", "json"}
WRITES_INTO = {"augment": "a project (checked by the project-store cases)", "distill": "MODEL_DIR/student",
               "rebuild-project": "the project itself, from the files it keeps"}


def test_every_subcommand_with_an_output_argument_goes_through_the_write_rule():
    """Walks every `cadis` subcommand: each one with an output argument (or one that writes into a folder it is
    given) has a case above that it refuses to write into a dataset or over an input."""
    from engine.cli import _command_modules, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    covered = {case.split()[0] for case in CASE_NAMES}
    writers = set()
    for mod in _command_modules():
        actions = sub.choices[mod.NAME]._actions
        if any(a.dest in OUTPUT_DESTS and a.nargs != 0 for a in actions) or mod.NAME in WRITES_INTO:
            writers.add(mod.NAME)
    assert {"train-upsampler", "convert-model", "synth", "export"} <= writers
    missing = sorted(writers - covered - {"augment", "rebuild-project"})
    assert not missing, f"subcommands that write with no write-rule case: {missing}"


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
