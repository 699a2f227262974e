"""The ``tuckaway`` command line.

Each command module contributes its sub-commands through a function
``add_commands(subparsers)``; those in ``_COMMANDS`` are asked in order (the
order of ``tuckaway --help``). A command's handler takes the parsed
``argparse.Namespace`` and returns the exit status.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from tuckaway import __version__
from tuckaway.cli import accounts, browsers, commands, imports, serve, sync
from tuckaway.cli.common import Subparsers
from tuckaway.errors import TuckawayError
from tuckaway.logs import setup
from tuckaway.settings import Settings

_COMMANDS: tuple[Callable[[Subparsers], None], ...] = (
    commands.add_commands,
    serve.add_commands,
    accounts.add_commands,
    sync.add_commands,
    imports.add_commands,
    browsers.add_commands,
)

log = logging.getLogger("tuckaway.cli.main")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tuckaway",
        description="Save pages and links to your reading list; the host behind the "
        "Tuckaway browser extension.",
    )
    parser.add_argument("--version", action="version", version=f"tuckaway {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log to stderr too (-vv: debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add_commands in _COMMANDS:
        add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.load()
    except TuckawayError as exc:
        print(f"tuckaway: {exc.message}", file=sys.stderr)
        return 2
    level = "DEBUG" if args.verbose > 1 else settings.log_level
    setup(settings.paths.log_file, level, stderr=args.verbose > 0)
    args.settings = settings
    try:
        if args.command not in browsers.NO_HEAL:
            browsers.heal_registrations(settings)
        status: int = args.func(args)
    except TuckawayError as exc:
        print(f"tuckaway: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        log.exception("command %s failed", args.command)
        print(
            f"tuckaway: internal error ({type(exc).__name__}); details are in "
            f"{settings.paths.log_file}",
            file=sys.stderr,
        )
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
