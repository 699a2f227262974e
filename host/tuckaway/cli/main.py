"""The ``tuckaway`` command line.

Each command module contributes its sub-commands through a function
``add_commands(subparsers)``; those in ``_COMMANDS`` are asked in order (the
order of ``tuckaway --help``). A command's handler takes the parsed
``argparse.Namespace`` and returns the exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence

from tuckaway import __version__, db
from tuckaway.cli import accounts, browsers, commands, imports, repair, serve, sync, writes
from tuckaway.cli.common import Subparsers, UsageError
from tuckaway.errors import InvalidRequest, TuckawayError
from tuckaway.logs import setup
from tuckaway.settings import Settings

_COMMANDS: tuple[Callable[[Subparsers], None], ...] = (
    writes.add_commands,
    commands.add_commands,
    serve.add_commands,
    accounts.add_commands,
    sync.add_commands,
    repair.add_commands,
    imports.add_commands,
    browsers.add_commands,
)

log = logging.getLogger("tuckaway.cli.main")

#: exit statuses: 0 done; 1 failed; 2 the command line (or config.toml) is wrong;
#: 3 writes still queued when the wait ran out; 130 interrupted; 141 stdout was closed
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for `yes | head -1`


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


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
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
