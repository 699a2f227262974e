"""What every command module shares: the sub-parser type, the context, JSON output."""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, TypeVar

from tuckaway.context import Context

#: what ``add_commands`` receives: ``parser.add_subparsers()``
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

T = TypeVar("T")


class UsageError(Exception):
    """The command line itself is wrong: said on stderr, exit status 2 (as argparse's)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def non_negative_float(text: str) -> float:
    """An argparse type: seconds and the like."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def positive_int(text: str) -> int:
    """An argparse type: counts such as ``--limit``."""
    return _int_from(text, 1)


def non_negative_int(text: str) -> int:
    """An argparse type: counts that may be 0, such as ``--retries``."""
    return _int_from(text, 0)


def _int_from(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"{text!r} must be {least} or more")
    return value


def port(text: str) -> int:
    """An argparse type: a TCP port, or 0 for any free one."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port: use 1-65535, or 0 for any")
    return value


def open_context(args: argparse.Namespace) -> Context:
    return Context.open(args.settings)


async def closing(ctx: Context, run: Callable[[Context], Awaitable[T]]) -> T:
    """``run(ctx)``, then close the context's sessions and database whatever happens."""
    try:
        return await run(ctx)
    finally:
        await ctx.aclose()


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))
