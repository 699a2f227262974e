"""The everyday commands: save, list, tags, status, schema, queue."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tuckaway import __version__
from tuckaway.articles import Articles
from tuckaway.cli.common import (
    Subparsers,
    UsageError,
    closing,
    non_negative_float,
    open_context,
    positive_int,
    print_json,
)
from tuckaway.context import Context
from tuckaway.delivery.batcher import Batcher
from tuckaway.delivery.outbox import Entry
from tuckaway.listing import Query, all_pages
from tuckaway.wire.schema import json_schema

if TYPE_CHECKING:
    from tuckaway.context import Context


def add_commands(sub: Subparsers) -> None:
    p = sub.add_parser("list", help="list saved items")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--archived", action="store_true", help="archived items only")
    state.add_argument("--all", action="store_true", help="unread and archived items")
    p.add_argument("--tag", help="items with this tag ('_untagged_' for none)")
    p.add_argument("--favorite", action="store_true", help="favorites only")
    p.add_argument("--search", nargs="+", metavar="WORD", help="items matching every word")
    p.add_argument(
        "--sort", choices=("newest", "oldest", "title", "relevance"), help="default: newest"
    )
    p.add_argument("--limit", type=positive_int, default=None, help="at most this many")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("tags", help="list known tags")
    p.add_argument("prefix", nargs="?", default="")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tags)

    p = sub.add_parser("status", help="backend, accounts, queue and file locations")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("schema", help="print the JSON Schema of the native-messaging protocol")
    p.add_argument("--out", help="write to this file instead of stdout")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("queue", help="writes waiting for (or refused by) the service")
    p.add_argument("--json", action="store_true")
    qsub = p.add_subparsers(dest="queue_command", metavar="ACTION")
    r = qsub.add_parser("retry", help="retry waiting and failed writes now")
    r.add_argument("ids", nargs="*", type=int, metavar="ID")
    r.add_argument("--wait", type=non_negative_float, default=30.0, metavar="SECONDS")
    d = qsub.add_parser("drop", help="forget a write that was not delivered")
    d.add_argument("id", type=int, metavar="ID")
    p.set_defaults(func=cmd_queue)


def cmd_list(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    state = "archive" if args.archived else "all" if args.all else "unread"
    query = Query(
        state=state,
        tag=args.tag,
        favorite=True if args.favorite else None,
        search=" ".join(args.search) if args.search else None,
        sort=args.sort,
    )
    items = list(all_pages(ctx.listing(ctx.list_service), query, args.limit))
    if args.json:
        keys = ("item_id", "url", "title", "status", "favorite", "tags", "time_added")
        print_json([{k: i[k] for k in keys} for i in items])
        return 0
    if not items:
        if args.search:
            print("nothing matches")
        else:
            anything = bool(ctx.store.items(ctx.list_service).query(state="all", count=1))
            print(_nothing_listed(args, anything))
    for i in items:
        when = datetime.fromtimestamp(i["time_added"], UTC).strftime("%Y-%m-%d")
        marks = ("*" if i["favorite"] else " ") + ("A" if i["status"] == "archived" else " ")
        tags = f"  [{', '.join(i['tags'])}]" if i["tags"] else ""
        print(f"{i['item_id']:>8} {marks} {when}  {i['title'] or i['url']}{tags}")
        if i["title"]:
            print(f"{'':>22}{i['url']}")
    return 0


def _nothing_listed(args: argparse.Namespace, anything_saved: bool) -> str:
    """What an empty ``list`` says: the filters that found nothing, not "nothing saved"."""
    if not anything_saved:
        return "nothing saved yet"
    if not (args.archived or args.all or args.favorite or args.tag):
        return "nothing unread (`tuckaway list --all` shows archived items too)"
    state = "archived " if args.archived else "" if args.all else "unread "
    kind = "favorites" if args.favorite else "items"
    tagged = f" tagged {args.tag!r}" if args.tag else ""
    return f"no {state}{kind}{tagged}"


def cmd_tags(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    tags = ctx.store.items(ctx.list_service).tags(args.prefix)
    if args.json:
        print_json(tags)
    else:
        print("\n".join(tags) if tags else "no tags yet")
    return 0


def _service_url(ctx: Context) -> str | None:
    """Where the reading list lives: the linked list service's address (None: local)."""
    service = ctx.list_service
    if service == "local":
        return None
    if service == "pocket":
        return ctx.settings.pocket_url
    instance: str | None = ctx.accounts()[service].get("instance")
    return instance


def cmd_status(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    s = ctx.settings
    info: dict[str, Any] = {
        "version": __version__,
        "backend": ctx.list_service,
        "accounts": ctx.accounts(),
        "queue": ctx.outbox.counts(),
        "articles": Articles(ctx.db).stats(),
        "service_url": _service_url(ctx),
        "paths": {
            "config": str(s.paths.config_file),
            "database": str(s.paths.db_path),
            "log": str(s.paths.log_file),
        },
    }
    if args.json:
        print_json(info)
        return 0
    acc = info["accounts"]
    pocket = acc["pocket"]
    masto = acc["mastodon"]
    q = info["queue"]
    print(f"tuckaway {__version__}")
    print(
        f"backend:   {info['backend']}"
        + (f" ({info['service_url']})" if info["service_url"] else " (embedded local store)")
    )
    print(
        "pocket:    "
        + (f"linked as {pocket.get('username') or '?'}" if pocket["linked"] else "not linked")
    )
    for name in ("wallabag", "readeck"):
        account = acc[name]
        where = f"linked as {account.get('username') or '?'} on {account.get('instance')}"
        print(f"{name + ':':<10} " + (where if account["linked"] else "not linked"))
    print(
        "mastodon:  "
        + (
            f"linked as {masto.get('acct')} on {masto.get('instance')}"
            if masto["linked"]
            else "not linked"
        )
    )
    print(
        f"queue:     {q.get('pending', 0)} waiting, {q.get('held', 0)} held, "
        f"{q.get('failed', 0)} failed, {q.get('done', 0)} delivered"
    )
    kept = info["articles"]
    print(f"copies:    {kept['count']} pages kept, {_size(kept['bytes'])} (compressed)")
    for name, path in info["paths"].items():
        print(f"{name + ':':<10} {path}")
    return 0


def _size(count: int) -> str:
    """Bytes for a person: ``512 bytes``, ``12.3 KB``, ``4.1 MB``."""
    value = float(count)
    for unit in ("bytes", "KB", "MB"):
        if value < 1000:
            return f"{count} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def cmd_schema(args: argparse.Namespace) -> int:
    text = json.dumps(json_schema(), indent=2, sort_keys=True)
    if args.out:
        try:
            with open(args.out, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        except OSError as exc:
            raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
    else:
        print(text)
    return 0


def cmd_queue(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    if args.queue_command == "drop":
        if ctx.outbox.drop(args.id):
            print(f"dropped write {args.id}")
            return 0
        print(f"tuckaway: no undelivered write {args.id}", file=sys.stderr)
        return 1
    if args.queue_command == "retry":
        count = ctx.outbox.retry_now(args.ids or None)
        print(f"retrying {count} write(s)")
        entries = (
            asyncio.run(closing(ctx, lambda ctx: _flush(ctx, args.wait)))
            if count
            else ctx.outbox.entries()
        )
        print(f"{len(entries)} write(s) still waiting or failed")
        return 0 if not entries else 3
    entries = ctx.outbox.entries()
    # A service's rate limit holds back even the writes that are otherwise due.
    limits = {s: ctx.outbox.not_before(s) for s in {e.service for e in entries}}
    if getattr(args, "json", False):
        print_json([e.to_public(limits[e.service]) for e in entries])
        return 0
    if not entries:
        print("the queue is empty: every write has been delivered")
        return 0
    for e in entries:
        target = (
            e.payload.get("url")
            or e.payload.get("item_id")
            or e.payload.get("status_url")
            or e.payload.get("status_id")
            or e.payload.get("tag")
            or ""
        )
        err = f"  last error: {e.last_error.get('message')}" if e.last_error else ""
        upcoming = e.next_attempt(limits[e.service])
        wait = upcoming - time.time() if upcoming is not None else 0.0
        when = f", next try in {wait:.0f}s" if wait >= 1 else ""
        print(
            f"{e.id:>6} {e.state:<8} {e.service:<9} {e.op:<12} {target}  "
            f"(attempts {e.attempts}{when}){err}"
        )
    return 0


async def _flush(ctx: Context, wait: float) -> list[Entry]:
    """Deliver what is due (bounded by ``wait``); returns what is still waiting or failed."""
    batcher = Batcher(ctx)
    batcher.start()
    await batcher.finish(wait)
    return ctx.outbox.entries()
