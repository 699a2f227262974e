"""The commands that change the list: save, archive, readd, favorite, unfavorite,
delete and tag.

Each is the extension's write of the same name: checked by the protocol's
models, recorded in the outbox and delivered by the batcher (``submit``), so a
command coalesces, retries and survives a crash like a click. URL arguments
of ``-`` are read from stdin, one a line; every bad one is named and then
nothing is written.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from tuckaway.cli.common import (
    Subparsers,
    UsageError,
    closing,
    non_negative_float,
    open_context,
    print_json,
)
from tuckaway.delivery.batcher import Final, submit
from tuckaway.errors import InvalidRequest
from tuckaway.wire.protocol import parse_request

#: item op -> (what the line says when it is done, the command's help)
ITEM_COMMANDS = {
    "archive": ("archived", "archive items (mark them read)"),
    "readd": ("re-added", "move archived items back to the unread list"),
    "favorite": ("favorited", "mark items as favorites"),
    "unfavorite": ("unfavorited", "unmark favorites"),
    "delete": ("deleted", "delete items from the list"),
}
#: ``tag`` action -> (op, done, help)
TAG_COMMANDS = {
    "add": ("tags_add", "tagged", "add tags to an item"),
    "remove": ("tags_remove", "untagged", "remove tags from an item"),
    "replace": ("tags_replace", "retagged", "replace an item's tags with these"),
}
#: how long a write command waits for the service by default (seconds)
DEFAULT_WAIT_S = 60.0
_ITEM_HELP = "a URL, an item number from `tuckaway list`, or '-' to read them from stdin"
_ONE_ITEM_HELP = "a URL or an item number from `tuckaway list`"


@dataclass(frozen=True)
class Write:
    """One write the command will make, and what its line of output names."""

    op: str
    payload: dict[str, Any]
    target: str
    done: str


def add_commands(sub: Subparsers) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--wait",
        type=non_negative_float,
        default=DEFAULT_WAIT_S,
        metavar="SECONDS",
        help=f"how long to wait for the service (default {DEFAULT_WAIT_S:.0f}); writes "
        "not delivered by then stay queued",
    )
    common.add_argument("--json", action="store_true", help="print results as JSON")

    p = sub.add_parser(
        "save",
        parents=[common],
        help="save URLs to your reading list",
        description="Save one or more URLs ('-' reads more from stdin, one a line). They "
        "are recorded first, then delivered in one batch.",
    )
    p.add_argument("urls", nargs="+", metavar="URL")
    p.add_argument("--title", help="title to store (for a single URL)")
    p.add_argument(
        "--tag", "-t", action="append", default=[], dest="tags", help="a tag (repeat for more)"
    )
    p.set_defaults(func=cmd_save)

    for op, (_, help_text) in ITEM_COMMANDS.items():
        p = sub.add_parser(op, parents=[common], help=help_text, description=help_text + ".")
        p.add_argument("items", nargs="+", metavar="ITEM", help=_ITEM_HELP)
        p.set_defaults(func=cmd_item, op=op)

    p = sub.add_parser("tag", help="add, remove, replace or clear tags; rename or delete a tag")
    actions = p.add_subparsers(dest="tag_action", metavar="ACTION", required=True)
    for action, (op, _, help_text) in TAG_COMMANDS.items():
        a = actions.add_parser(action, parents=[common], help=help_text, description=help_text)
        a.add_argument("items", nargs=1, metavar="ITEM", help=_ONE_ITEM_HELP)
        a.add_argument("tags", nargs="+", metavar="TAG")
        a.set_defaults(func=cmd_tag_item, op=op)
    a = actions.add_parser("clear", parents=[common], help="remove every tag from items")
    a.add_argument("items", nargs="+", metavar="ITEM", help=_ITEM_HELP)
    a.set_defaults(func=cmd_tag_item, op="tags_clear")
    a = actions.add_parser("rename", parents=[common], help="rename a tag on every item")
    a.add_argument("old_tag", metavar="OLD")
    a.add_argument("new_tag", metavar="NEW")
    a.set_defaults(func=cmd_tag_rename)
    a = actions.add_parser("delete", parents=[common], help="remove tags from every item")
    a.add_argument("names", nargs="+", metavar="TAG")
    a.set_defaults(func=cmd_tag_delete)


# -- the commands ----------------------------------------------------------------------


def cmd_save(args: argparse.Namespace) -> int:
    urls = list(_arguments(args.urls, sys.stdin, "URL"))
    if args.title and len(urls) != 1:
        raise UsageError("--title goes with a single URL")
    fields: dict[str, Any] = {"tags": args.tags}
    if args.title:
        fields["title"] = args.title
    writes = _checked((where, "save", {"url": url, **fields}, url, "saved") for where, url in urls)
    return _run(args, writes)


def cmd_item(args: argparse.Namespace) -> int:
    done = ITEM_COMMANDS[args.op][0]
    return _run(args, _checked(_item_writes(args.op, args.items, {}, done)))


def cmd_tag_item(args: argparse.Namespace) -> int:
    if args.op == "tags_clear":
        done, fields = "cleared the tags of", {}
    else:
        done, fields = TAG_COMMANDS[args.tag_action][1], {"tags": args.tags}
    return _run(args, _checked(_item_writes(args.op, args.items, fields, done)))


def cmd_tag_rename(args: argparse.Namespace) -> int:
    fields = {"old_tag": args.old_tag, "new_tag": args.new_tag}
    target = f"tag {args.old_tag!r} to {args.new_tag!r}"
    return _run(args, _checked([("arguments", "tag_rename", fields, target, "renamed")]))


def cmd_tag_delete(args: argparse.Namespace) -> int:
    writes = (
        (f"tag {n}", "tag_delete", {"tag": tag}, f"tag {tag!r}", "deleted")
        for n, tag in enumerate(args.names, 1)
    )
    return _run(args, _checked(writes))


# -- reading and checking the arguments ----------------------------------------------


def _arguments(values: list[str], stdin: TextIO, what: str) -> Iterator[tuple[str, str]]:
    """``(where, value)`` for each argument, ``-`` standing for stdin's non-blank lines."""
    read_stdin = False
    for n, value in enumerate(values, 1):
        if value != "-":
            yield f"argument {n}", value
            continue
        if read_stdin:
            continue  # stdin is read once; a second '-' adds nothing
        read_stdin = True
        lines = [(i, line.strip()) for i, line in enumerate(stdin, 1) if line.strip()]
        if not lines:
            raise UsageError(f"'-' reads {what}s from stdin, one a line, but stdin was empty")
        for i, line in lines:
            yield f"stdin line {i}", line


def _item_writes(
    op: str, items: list[str], fields: dict[str, Any], done: str
) -> Iterator[tuple[str, str, dict[str, Any], str, str]]:
    for where, item in _arguments(items, sys.stdin, "item"):
        # `tuckaway list` shows item numbers; urls always have a scheme
        if item.isdigit():
            yield where, op, {"item_id": item, **fields}, f"item {item}", done
        else:
            yield where, op, {"url": item, **fields}, item, done


def _checked(writes: Iterable[tuple[str, str, dict[str, Any], str, str]]) -> list[Write]:
    """The writes as the protocol accepts them; every one it refuses is named, then
    :class:`UsageError` (nothing is written when any is bad)."""
    good: list[Write] = []
    bad: list[str] = []
    for where, op, fields, target, done in writes:
        try:
            payload = parse_request({"id": 1, "op": op, **fields}).payload()
        except InvalidRequest as exc:
            bad.append(f"{where}: {target}: {_why(exc)}")
            continue
        good.append(Write(op, payload, target, done))
    if bad:
        raise UsageError("\n".join([*bad, "nothing was written"]))
    return good


def _why(exc: InvalidRequest) -> str:
    if not exc.fields:
        return exc.message
    if len(exc.fields) == 1:
        return str(exc.fields[0]["msg"])
    return "; ".join(f"{f['loc']}: {f['msg']}" for f in exc.fields)


# -- running them and saying what happened -------------------------------------------


def _run(args: argparse.Namespace, writes: list[Write]) -> int:
    ctx = open_context(args)
    pairs = [(w.op, ctx.with_default_tags(w.op, w.payload)) for w in writes]
    finals = asyncio.run(closing(ctx, lambda ctx: submit(ctx, pairs, args.wait)))
    report = [_entry(w, final) for w, final in zip(writes, finals, strict=True)]
    if args.json:
        print_json(report)
    else:
        for w, entry in zip(writes, report, strict=True):
            _say(w, entry)
    states = {entry["state"] for entry in report}
    return 1 if "failed" in states else 3 if "queued" in states else 0


def _entry(write: Write, final: Final | None) -> dict[str, Any]:
    """One write's line of ``--json``: what it named, its state and result or error."""
    entry: dict[str, Any] = {"op": write.op, **write.payload}
    if final is None:
        entry.update(state="queued", message="the service did not answer yet; it stays queued")
    elif final.error is not None:
        entry.update(state="failed", **final.error.to_wire())
    elif write.op == "save":
        entry.update(state="saved", item_id=(final.result or {}).get("item_id"))
    else:
        entry.update(state="done", item_id=(final.result or {}).get("item_id"))
    return entry


def _say(write: Write, entry: dict[str, Any]) -> None:
    if entry["state"] == "failed":
        print(f"failed {write.target}: {entry['message']}", file=sys.stderr)
    elif entry["state"] == "queued":
        print(f"queued {write.target}: {entry['message']}")
    elif write.op == "save":
        print(f"saved {write.target} (item {entry['item_id']})")
    else:
        print(f"{write.done} {write.target}")
