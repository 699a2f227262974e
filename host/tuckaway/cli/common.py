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
