"""The ``tuckaway`` command line.

Each feature module contributes its sub-commands through a function
``add_commands(subparsers)``; the modules listed in ``_COMMAND_MODULES`` are
asked in order. A command's handler takes the parsed ``argparse.Namespace`` and
returns the exit status. Heavy imports stay inside the handlers.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from tuckaway import __version__
from tuckaway.errors import TuckawayError

_COMMAND_MODULES: tuple[str, ...] = (
    "tuckaway.cli.commands",
    "tuckaway.serve.app",
    "tuckaway.accounts.signin",
    "tuckaway.services.pocket.sync",
    "tuckaway.services.mastodon.importer",
    "tuckaway.browsers.install",
    "tuckaway.browsers.doctor",
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
    for name in _COMMAND_MODULES:
        module = importlib.import_module(name)
        module.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from tuckaway.logs import setup
    from tuckaway.settings import Settings

    try:
        settings = Settings.load()
    except TuckawayError as exc:
        print(f"tuckaway: {exc.message}", file=sys.stderr)
        return 2
    level = "DEBUG" if args.verbose > 1 else settings.log_level
    setup(settings.paths.log_file, level, stderr=args.verbose > 0)
    args.settings = settings
    try:
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
