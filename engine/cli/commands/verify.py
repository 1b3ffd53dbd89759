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
    from engine.jobs import JobContext
    from engine.services.verify import VerifyRequest, verify

    result = verify(JobContext(), VerifyRequest(args.export_dir, args.allow_unlisted))
    for line in result.lines(args.quiet):
        print(line)
    return result.exit_code
