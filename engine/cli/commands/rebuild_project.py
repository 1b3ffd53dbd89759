"""`cadis rebuild-project PROJECT_DIR [--dataset DATASET_DIR]`: a new project database from the saved labels,
the edit journal, the pair folders and every row the damaged one still yields (engine.project.rebuild)."""
from __future__ import annotations

import argparse

NAME = "rebuild-project"
HELP = "rebuild a damaged project database from the saved label PNGs, the journal and the pair folders"
DESCRIPTION = (HELP + ". The new database is written and checked before anything else changes; the damaged "
               "project.sqlite is then kept as project.sqlite.damaged-<time>, never deleted. Statuses, notes, pairs' "
               "parents, review states and provenance are kept wherever the damaged file can still be read. Run it "
               "again after an interruption: it finishes the rebuild. A full or read-only disk is not damage: "
               "opening such a project says so, and this command changes nothing there.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", metavar="PROJECT_DIR", help="the project folder (NAME.cadis-project)")
    parser.add_argument("--dataset", metavar="DATASET_DIR", default=None,
                        help="the project's dataset, when the damaged database no longer says where it is")


def run(args: argparse.Namespace) -> int:
    from engine.project.rebuild import rebuild_database

    result = rebuild_database(args.project, args.dataset)
    print(f"{args.project}: {result.summary()}")
    return 0
