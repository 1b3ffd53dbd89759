"""`cadis verify EXPORT_DIR`: check every file of an export against the SHA-256 in its manifest."""
from __future__ import annotations

import argparse

NAME = "verify"
HELP = "check an export's files against the SHA-256 checksums in its manifest"
DESCRIPTION = (HELP + ". Reads every file the manifest lists and reports each one that is missing, unreadable "
               "or changed, and files the export did not write. Exit code 0 when all match, 1 when any file "
               "is damaged or missing or the folder holds files the export did not write (unless "
               "--allow-unlisted), 2 when the folder is not a verifiable export.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("export_dir", metavar="EXPORT_DIR", help="an export folder (holding manifest.json)")
    parser.add_argument("--quiet", action="store_true", help="print only problems")
    parser.add_argument("--allow-unlisted", action="store_true",
                        help="accept files the export did not write (they are listed, not checked)")


def run(args: argparse.Namespace) -> int:
    from engine.export.verify import verify_export

    report = verify_export(args.export_dir)
    for rel, reason in report.damaged:
        print(f"{rel}: {reason}")
    for rel in report.unexpected:
        print(f"{rel}: not written by the export (not checked)")
    if report.damaged:
        print(f"{len(report.damaged)} of {report.checked} files damaged or missing in {report.root}")
        return 1
    if report.unexpected and not args.allow_unlisted:
        print(f"{len(report.unexpected)} files in {report.root} were not written by the export: it was changed "
              "after export (move them out, or accept them with --allow-unlisted)")
        return 1
    if not args.quiet:
        extra = f" ({len(report.unexpected)} other files accepted)" if report.unexpected else ""
        print(f"OK: {report.checked} files match their SHA-256 in {report.root}{extra}")
    return 0
