"""``tuckaway import mastodon-bookmarks`` and ``tuckaway bookmarks``.

The import itself is :func:`tuckaway.services.mastodon.importer.import_bookmarks`;
this module draws its progress on stderr (a bar on a terminal, plain lines
otherwise) and prints the report.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
from typing import TextIO

from tuckaway.cli.common import (
    Subparsers,
    closing,
    non_negative_float,
    non_negative_int,
    open_context,
    positive_int,
    print_json,
)
from tuckaway.services.mastodon.importer import (
    PAGE_RETRIES,
    Report,
    import_bookmarks,
    read_bookmarks,
)


def add_commands(sub: Subparsers) -> None:
    imp = _import_parsers(sub)
    p = imp.add_parser(
        "mastodon-bookmarks",
        help="save your Mastodon bookmarks into the reading list",
        description="Walk all your Mastodon bookmarks and save each post (and the page "
        "it links to, when it has a preview card) to your reading list. Safe to run "
        "again: what is already saved is skipped; an interrupted run resumes.",
    )
    p.add_argument(
        "--tag",
        default="mastodon",
        help="tag for the saved items (default: mastodon; '' for none)",
    )
    p.add_argument(
        "--include-private",
        action="store_true",
        help="import followers-only and direct posts too (default: public and unlisted only)",
    )
    p.add_argument("--dry-run", action="store_true", help="list what would be saved, save nothing")
    p.add_argument(
        "--restart", action="store_true", help="ignore a saved cursor and start from the newest"
    )
    p.add_argument(
        "--wait",
        type=non_negative_float,
        default=120.0,
        metavar="SECONDS",
        help="how long to wait for each page's saves (default 120); the rest stays queued",
    )
    p.add_argument(
        "--retries",
        type=non_negative_int,
        default=PAGE_RETRIES,
        metavar="N",
        help="how many times to ask again for a page the server refuses with a rate limit "
        f"or an error (default {PAGE_RETRIES}); then the import stops, resumable",
    )
    p.set_defaults(func=cmd_import_bookmarks)

    p = sub.add_parser("bookmarks", help="list your Mastodon bookmarks")
    p.add_argument(
        "--limit", type=positive_int, default=None, help="at most this many (default: all)"
    )
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_bookmarks)


def _import_parsers(sub: Subparsers) -> Subparsers:
    """The sub-commands of ``tuckaway import``, shared with other importers."""
    existing = sub.choices.get("import")
    if existing is not None:
        for action in existing._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action
    p = sub.add_parser("import", help="bring saved things in from elsewhere")
    return p.add_subparsers(dest="import_source", metavar="SOURCE", required=True)


class Progress:
    """A one-line bar on a terminal's stderr, plain lines otherwise."""

    _SPIN = "|/-\\"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()

    def update(self, report: Report, done: bool = False) -> None:
        text = (
            f"{report.bookmarks} bookmarks read, {report.saved} saved, "
            f"{report.known} already in the list"
            + (f", {report.private} not public, left out" if report.private else "")
            + (f", {report.queued} queued" if report.queued else "")
            + (f", {len(report.failed)} failed" if report.failed else "")
        )
        if self.tty:
            width = 20
            filled = width if done else report.pages % (width + 1)
            bar = "#" * filled + "-" * (width - filled)
            mark = "done" if done else self._SPIN[report.pages % 4]
            self.stream.write(f"\r[{bar}] {mark} page {report.pages}: {text}\x1b[K")
            if done:
                self.stream.write("\n")
        else:
            self.stream.write(f"{'done' if done else f'page {report.pages}'}: {text}\n")
        self.stream.flush()

    def waiting(self, page: int, why: str, seconds: float, retry: int, retries: int) -> None:
        """Say that page ``page`` is asked again after ``seconds`` (on a line of its own)."""
        text = (
            f"page {page}: {why}; waiting {math.ceil(seconds)}s, then asking again "
            f"(retry {retry} of {retries})"
        )
        self.stream.write(f"\r{text}\x1b[K\n" if self.tty else f"{text}\n")
        self.stream.flush()


def cmd_import_bookmarks(args: argparse.Namespace) -> int:
    report = asyncio.run(
        closing(
            open_context(args),
            lambda ctx: import_bookmarks(
                ctx,
                tag=args.tag or None,
                dry_run=args.dry_run,
                restart=args.restart,
                wait_s=args.wait,
                progress=Progress(),
                retries=args.retries,
                include_private=args.include_private,
            ),
        )
    )
    if args.dry_run:
        for url in report.planned:
            print(url)
        print(
            f"would save {len(report.planned)} url(s); {report.known} already in the list"
            + (f"; {report.private} post(s) not public left out" if report.private else ""),
            file=sys.stderr,
        )
        return 0
    for url, message in report.failed:
        print(f"failed {url}: {message}", file=sys.stderr)
    print(
        f"imported {report.bookmarks} bookmark(s): {report.saved} saved, "
        f"{report.known} already in the list"
        + (
            f", {report.private} not public left out (--include-private imports them)"
            if report.private
            else ""
        )
        + (f", {report.queued} still queued" if report.queued else "")
        + (f", {len(report.failed)} failed" if report.failed else "")
    )
    if report.failed:
        return 1
    return 3 if report.queued else 0


def cmd_bookmarks(args: argparse.Namespace) -> int:
    statuses = asyncio.run(closing(open_context(args), lambda ctx: read_bookmarks(ctx, args.limit)))
    if args.json:
        print_json(statuses)
        return 0
    if not statuses:
        print("no bookmarks")
    for s in statuses:
        first = (s["text"] or "").split("\n", 1)[0]
        print(f"{(s['created_at'] or '')[:10]}  @{s['acct']}  {s['url'] or s['id']}")
        if first:
            print(f"            {first[:100]}")
    return 0
