"""``tuckaway sync``: bring the host's index of the linked Pocket list up to date.

The index (the ``pocket`` namespace of the store) is what ``lookup``, ``tags``
and item ops naming a ``url`` answer from. Saves made through Tuckaway keep it
current by themselves; a sync picks up what changed elsewhere (another device,
the service's web page) with ``/v3/get?since=``. The work is the ``sync`` read
of the Pocket backend; this module prints its counts.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from tuckaway.cli.common import Subparsers, closing, open_context, print_json
from tuckaway.context import Context


def add_commands(sub: Subparsers) -> None:
    p = sub.add_parser(
        "sync",
        help="refresh the index of your Pocket list from the service",
        description="Ask the Pocket service what changed since the last sync (everything, "
        "the first time) and update the host's index, which answers lookups and tag "
        "completion. The host also does this when it starts while an account is linked.",
    )
    p.add_argument(
        "--full", action="store_true", help="list everything again instead of the changes"
    )
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    p.set_defaults(func=cmd_sync)


def cmd_sync(args: argparse.Namespace) -> int:
    async def sync(ctx: Context) -> dict[str, Any]:
        return await ctx.read("sync", full=args.full)

    result = asyncio.run(closing(open_context(args), sync))
    if args.json:
        print_json(result)
    else:
        kind = "full sync" if result.get("full") else "sync"
        print(
            f"{kind}: {result['added']} added, {result['updated']} updated, "
            f"{result['deleted']} deleted"
        )
    return 0
