"""The ``tuckaway`` command line.

Each command module contributes its sub-commands through a function
``add_commands(subparsers)``; ``_COMMANDS`` names the modules in the order of
``tuckaway --help`` and the commands each adds. A command's handler takes the
parsed ``argparse.Namespace`` and returns the exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence
from importlib import import_module

from tuckaway import __version__, db
from tuckaway.cli import browsers
from tuckaway.cli.common import UsageError
from tuckaway.errors import InvalidRequest, TuckawayError
from tuckaway.logs import setup
from tuckaway.settings import Settings

#: command module (under tuckaway.cli) -> the commands it adds. A command imports only
#: its own module: accounts and serve load aiohttp, commands loads pydantic, and
#: `tuckaway queue` in a script should not wait for what it does not use (a test
#: holds this table to what each module really adds).
_COMMANDS: dict[str, tuple[str, ...]] = {
    "writes": ("save", "archive", "readd", "favorite", "unfavorite", "delete", "tag"),
    "commands": ("list", "tags", "status", "schema", "queue"),
    "serve": ("serve",),
    "accounts": ("login", "logout"),
    "sync": ("sync",),
    "repair": ("repair",),
    "imports": ("bookmarks", "import"),
    "browsers": ("install", "uninstall", "doctor"),
}

log = logging.getLogger("tuckaway.cli.main")

#: exit statuses: 0 done; 1 failed; 2 the command line (or config.toml) is wrong;
#: 3 writes still queued when the wait ran out; 130 interrupted; 141 stdout was closed
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for `yes | head -1`


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of the commands of ``command``'s module only."""
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
    owners = [module for module, names in _COMMANDS.items() if command in names]
    for module in owners or _COMMANDS:
        import_module(f"tuckaway.cli.{module}").add_commands(sub)
    _verbose_after_commands(parser)
    return parser


def _verbose_after_commands(parser: argparse.ArgumentParser) -> None:
    """``-v`` after the command too (``tuckaway list -v``), at every level."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in set(action.choices.values()):
                # SUPPRESS: a command without -v leaves the count before it alone
                command.add_argument(
                    "-v",
                    "--verbose",
                    action="count",
                    default=argparse.SUPPRESS,
                    help="log to stderr too (-vv: debug)",
                )
                _verbose_after_commands(command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (see README.md, "Usage")."""
    try:
        try:
            status = _run(argv)
        except SystemExit as exc:  # argparse: --help, --version and usage errors (2)
            status = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
        sys.stdout.flush()  # so that a closed pipe is met here, not at exit
    except BrokenPipeError:
        # `tuckaway list | head -1`: the reader has all it wants. Say nothing, and point
        # stdout at devnull so that the interpreter's last flush has nowhere to fail.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return status


def _command_in(argv: Sequence[str]) -> str | None:
    """The command named on the command line (the top level takes only flags)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def _run(argv: Sequence[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(_command_in(argv)).parse_args(argv)
    try:
        settings = Settings.load()
    except TuckawayError as exc:
        return _fail(exc.message, EXIT_USAGE)
    try:
        settings.ensure_dirs()
    except OSError as exc:
        return _fail(_unusable_home(settings, exc), EXIT_FAILED)
    verbose = args.verbose
    setup(
        settings.paths.log_file, "DEBUG" if verbose > 1 else settings.log_level, stderr=verbose > 0
    )
    args.settings = settings
    log.debug("tuckaway %s: command %s", __version__, args.command)
    try:
        if args.command not in browsers.NO_HEAL:
            browsers.heal_registrations(settings)
        status: int = args.func(args)
    except UsageError as exc:
        return _fail(exc.message, EXIT_USAGE)
    except InvalidRequest as exc:  # what the command line gave, refused by the protocol
        return _fail(exc.message, EXIT_USAGE)
    except TuckawayError as exc:
        return _fail(exc.message, EXIT_FAILED)
    except sqlite3.DatabaseError as exc:
        log.exception("command %s: the database failed", args.command)
        return _fail(_database_problem(settings, exc), EXIT_FAILED)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        raise
    except Exception as exc:
        log.exception("command %s failed", args.command)
        return _fail(
            f"internal error ({type(exc).__name__}); details are in {settings.paths.log_file}",
            EXIT_FAILED,
        )
    return status


def _fail(message: str, status: int) -> int:
    for line in message.splitlines() or [""]:
        print(f"tuckaway: {line}", file=sys.stderr)
    return status


def _unusable_home(settings: Settings, exc: OSError) -> str:
    where = exc.filename or settings.paths.data_dir
    home = os.environ.get("TUCKAWAY_HOME")
    fix = (
        f"TUCKAWAY_HOME ({home}) must be a directory you can write to, or unset"
        if home
        else "the directories `tuckaway status` lists must be writable"
    )
    return f"cannot create {where}: {exc.strerror or exc}; {fix}"


def _database_problem(settings: Settings, exc: sqlite3.DatabaseError) -> str:
    return db.failure_text(settings.paths.db_path, exc)


if __name__ == "__main__":
    sys.exit(main())
