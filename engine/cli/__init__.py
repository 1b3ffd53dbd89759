"""The `cadis` command line. Each subcommand lives in `engine/cli/commands/<name>.py` and exposes

    NAME = "phantom"                     # the subcommand
    HELP = "one line"                    # shown by `cadis --help`
    def add_arguments(parser): ...       # argparse options
    def run(args) -> int: ...            # exit code

Errors a user can fix are raised as `CliError` (or ValueError/FileNotFoundError/ImageReadError) and
printed as one line `cadis NAME: reason`, exit code 2. Cancelling with Ctrl-C exits 130.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from engine.imageio import ImageReadError, parse_max_pixels, set_max_pixels
from engine.jobs import JobCancelled


class CliError(Exception):
    """A failure with a message meant for the user."""


def _command_modules():
    from engine.cli import commands

    mods = []
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"engine.cli.commands.{info.name}")
        if hasattr(mod, "NAME") and hasattr(mod, "run"):
            mods.append(mod)
    return sorted(mods, key=lambda m: m.NAME)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cadis", description="CaDIS Studio command line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(p)
        p.add_argument("--max-pixels", default=None, metavar="N",
                       help="largest image a file may declare, as a pixel count or WxH (default 4096x4096, "
                            "or $CADIS_MAX_PIXELS); larger files are refused before decoding")
        p.set_defaults(_run=mod.run, _name=mod.NAME)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.max_pixels is not None:
            set_max_pixels(parse_max_pixels(args.max_pixels))
        return int(args._run(args) or 0)
    except JobCancelled:
        print(f"cadis {args._name}: cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(f"cadis {args._name}: interrupted", file=sys.stderr)
        return 130
    except (CliError, ValueError, FileNotFoundError, NotADirectoryError, ImageReadError, OSError) as exc:
        print(f"cadis {args._name}: {exc}", file=sys.stderr)
        return 2
    finally:
        set_max_pixels(None)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
