"""`cadis rebuild-project PROJECT_DIR [--dataset DATASET_DIR]`: a new project database from the saved labels,
the edit journal and the pair folders, after the old one was found damaged (it is kept, renamed aside)."""
from __future__ import annotations

import argparse

NAME = "rebuild-project"
HELP = "rebuild a damaged project database from the saved label PNGs, the journal and the pair folders"
DESCRIPTION = (HELP + ". The damaged project.sqlite is renamed to project.sqlite.damaged-<time>, never deleted; "
               "statuses, notes and pair provenance are kept where the damaged file can still be read.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", metavar="PROJECT_DIR", help="the project folder (NAME.cadis-project)")
    parser.add_argument("--dataset", metavar="DATASET_DIR", default=None,
                        help="the project's dataset, when the damaged database no longer says where it is")


def run(args: argparse.Namespace) -> int:
    from engine.project.rebuild import rebuild_database

    result = rebuild_database(args.project, args.dataset)
    print(f"{args.project}: {result.summary()}")
    return 0
