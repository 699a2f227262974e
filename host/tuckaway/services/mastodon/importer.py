"""``tuckaway import mastodon-bookmarks`` and ``tuckaway bookmarks``.

The import walks every page of the user's Mastodon bookmarks and saves each
post's url, and the url of the page it shares when its preview card has one,
into the reading list. The saves go through the normal write path (the outbox
and the batcher, one burst per page), so they coalesce, retry and survive a
crash like saves from the browser.

It is idempotent: a url already in the reading list, or already waiting in
the outbox, is not saved again (a second save would revive an archived item).
It is resumable: after each page the next page's address (the ``Link``
header's ``next``, whatever cursor the server puts in it) is kept in the
database's ``meta`` table, and an interrupted import continues from there; a
completed one clears it, so the next run starts from the newest bookmark.
A page the server refuses for a while (429, 5xx, no answer) is waited out and
asked again (``--retries`` times, saying so on stderr) before the import stops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from tuckaway.context import Context
    from tuckaway.services.mastodon.client import MastodonClient, Page, Status

CURSOR_KEY = "mastodon_import:cursor"
PAGE_SIZE = 40
TITLE_CAP = 120
#: a page that fails with 429 or 5xx (or no answer) is asked again this many times
PAGE_RETRIES = 5
#: the longest wait before asking a page again when the server says nothing
#: (the batcher's exponential backoff with jitter, capped here)
BACKOFF_CAP_S = 60.0


def add_commands(sub: Any) -> None:
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
    p.add_argument("--dry-run", action="store_true", help="list what would be saved, save nothing")
    p.add_argument(
        "--restart", action="store_true", help="ignore a saved cursor and start from the newest"
    )
    p.add_argument(
        "--wait",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="how long to wait for each page's saves (default 120); the rest stays queued",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=PAGE_RETRIES,
        metavar="N",
        help="how many times to ask again for a page the server refuses with a rate limit "
        f"or an error (default {PAGE_RETRIES}); then the import stops, resumable",
    )
    p.set_defaults(func=cmd_import_bookmarks)

    p = sub.add_parser("bookmarks", help="list your Mastodon bookmarks")
    p.add_argument("--limit", type=int, default=None, help="at most this many (default: all)")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_bookmarks)


def _import_parsers(sub: Any) -> Any:
    """The sub-commands of ``tuckaway import``, shared with other importers."""
    existing = sub.choices.get("import")
    if existing is not None:
        for action in existing._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action
    p = sub.add_parser("import", help="bring saved things in from elsewhere")
    return p.add_subparsers(dest="import_source", metavar="SOURCE", required=True)


# -- progress -------------------------------------------------------------------------


@dataclass
class Report:
    pages: int = 0
    bookmarks: int = 0
    saved: int = 0
    known: int = 0
    queued: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)


class Progress:
    """A one-line bar on a terminal's stderr, plain lines otherwise."""

    _SPIN = "|/-\\"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def update(self, report: Report, done: bool = False) -> None:
        text = (
            f"{report.bookmarks} bookmarks read, {report.saved} saved, "
            f"{report.known} already in the list"
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


# -- the import -----------------------------------------------------------------------


def _urls_of(status: Status) -> list[tuple[str, str | None]]:
    """(url, title) pairs to save for one bookmarked status."""
    out: list[tuple[str, str | None]] = []
    if status.link:
        first = status.plain_text(TITLE_CAP).split("\n", 1)[0]
        who = status.account.acct or status.account.username
        out.append((status.link, f"{who}: {first}" if first else who or None))
    if status.card is not None and status.card.url:
        out.append((status.card.url, status.card.title[:TITLE_CAP] or None))
    return out


def _cursor_owner(ctx: Context) -> str:
    account = ctx.accounts()["mastodon"]
    return f"{account.get('instance')}|{account.get('acct')}"


def _load_cursor(ctx: Context) -> tuple[str | None, str | None]:
    """``(next_url, max_id)`` where an interrupted import of this account stopped."""
    from tuckaway.db import get_meta

    raw = get_meta(ctx.db, CURSOR_KEY)
    if not raw:
        return None, None
    try:
        saved = json.loads(raw)
    except ValueError:
        return None, None
    if not isinstance(saved, dict) or saved.get("owner") != _cursor_owner(ctx):
        return None, None
    next_url, max_id = saved.get("next"), saved.get("max_id")  # max_id: older versions
    if isinstance(next_url, str) and next_url:
        return next_url, None
    return None, max_id if isinstance(max_id, str) and max_id else None


def _store_cursor(ctx: Context, next_url: str | None) -> None:
    from tuckaway.db import set_meta

    if next_url is None:
        ctx.db.execute("DELETE FROM meta WHERE key = ?", (CURSOR_KEY,))
    else:
        set_meta(ctx.db, CURSOR_KEY, json.dumps({"owner": _cursor_owner(ctx), "next": next_url}))


async def import_bookmarks(
    ctx: Context,
    *,
    tag: str | None = "mastodon",
    dry_run: bool = False,
    restart: bool = False,
    wait_s: float = 120.0,
    progress: Progress | None = None,
    page_size: int = PAGE_SIZE,
    retries: int = PAGE_RETRIES,
) -> Report:
    """Save every bookmarked post (and its card's link) into the reading list."""
    from tuckaway.delivery.batcher import submit
    from tuckaway.errors import InvalidRequest, NotLinked
    from tuckaway.services.mastodon.client import MastodonClient
    from tuckaway.wire.protocol import parse_request

    if not ctx.is_linked("mastodon"):
        raise NotLinked(
            "no Mastodon account is linked: run `tuckaway login mastodon --instance URL`"
        )
    client = await MastodonClient.for_context(ctx)
    report = Report()
    seen: set[str] = set()
    next_url, max_id = (None, None) if restart or dry_run else _load_cursor(ctx)
    tags = [tag] if tag else []
    while True:
        page = await _read_page(
            client, page_size, max_id, next_url, report.pages + 1, retries, progress
        )
        report.pages += 1
        report.bookmarks += len(page.statuses)
        items = ctx.store.items(ctx.list_service)
        writes: list[tuple[str, dict[str, Any]]] = []
        for status in page.statuses:
            for url, title in _urls_of(status):
                if url in seen:
                    continue
                seen.add(url)
                if items.resolve(url) is not None or ctx.outbox.pending_for_url(url):
                    report.known += 1
                    continue
                message: dict[str, Any] = {"id": 1, "op": "save", "url": url, "tags": tags}
                if title:
                    message["title"] = title
                try:
                    payload = parse_request(message).payload()
                except InvalidRequest as exc:  # a url the protocol refuses is reported
                    report.failed.append((url, exc.fields[0]["msg"] if exc.fields else exc.message))
                    continue
                writes.append(("save", payload))
        if dry_run:
            report.planned += [p["url"] for _, p in writes]
        elif writes:
            finals = await submit(ctx, writes, wait_s)
            for (_, payload), final in zip(writes, finals, strict=True):
                if final is None:
                    report.queued += 1
                elif final.error is not None:
                    report.failed.append((payload["url"], final.error.message))
                else:
                    report.saved += 1
        next_url, max_id = page.next_url, None  # the next link, followed as given
        if not dry_run:
            _store_cursor(ctx, next_url)
        if progress is not None:
            progress.update(report, done=next_url is None)
        if next_url is None:
            return report


async def _read_page(
    client: MastodonClient,
    limit: int,
    max_id: str | None,
    url: str | None,
    number: int,
    retries: int,
    progress: Progress | None,
) -> Page:
    """One page of bookmarks; a rate limit or a failing server is waited out and the
    page asked again, at most ``retries`` times (the server's wait when it says one:
    ``Retry-After`` or ``X-RateLimit-Reset``; else a doubling backoff)."""
    from tuckaway.delivery.batcher import backoff_delay
    from tuckaway.errors import RateLimited, Unavailable

    retry = 0
    while True:
        try:
            return await client.bookmarks(limit=limit, max_id=max_id, url=url)
        except (RateLimited, Unavailable) as exc:
            if retry >= max(0, retries):
                exc.message = (
                    f"{exc.message}; gave up on page {number} after {retry + 1} tries: "
                    "run the import again to continue from there"
                )
                exc.args = (exc.message,)
                raise
            said: float | None = getattr(exc, "retry_after", None)
            wait = said if said is not None else backoff_delay(retry, BACKOFF_CAP_S)
            retry += 1
            if progress is not None:
                why = "Mastodon is rate limiting" if isinstance(exc, RateLimited) else exc.message
                progress.waiting(number, why, wait, retry, retries)
            await asyncio.sleep(wait)


def cmd_import_bookmarks(args: argparse.Namespace) -> int:
    from tuckaway.context import Context

    ctx = Context.open(args.settings)

    async def run() -> Report:
        try:
            return await import_bookmarks(
                ctx,
                tag=args.tag or None,
                dry_run=args.dry_run,
                restart=args.restart,
                wait_s=args.wait,
                progress=Progress(),
                retries=args.retries,
            )
        finally:
            await ctx.aclose()

    report = asyncio.run(run())
    if args.dry_run:
        for url in report.planned:
            print(url)
        print(
            f"would save {len(report.planned)} url(s); {report.known} already in the list",
            file=sys.stderr,
        )
        return 0
    for url, message in report.failed:
        print(f"failed {url}: {message}", file=sys.stderr)
    print(
        f"imported {report.bookmarks} bookmark(s): {report.saved} saved, "
        f"{report.known} already in the list"
        + (f", {report.queued} still queued" if report.queued else "")
        + (f", {len(report.failed)} failed" if report.failed else "")
    )
    if report.failed:
        return 1
    return 3 if report.queued else 0


# -- listing --------------------------------------------------------------------------


def cmd_bookmarks(args: argparse.Namespace) -> int:
    from tuckaway.context import Context

    ctx = Context.open(args.settings)

    async def run() -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        max_id: str | None = None
        try:
            while args.limit is None or len(out) < args.limit:
                want = PAGE_SIZE if args.limit is None else min(PAGE_SIZE, args.limit - len(out))
                page = await ctx.read("bookmarks", limit=max(1, want), max_id=max_id)
                out += page["statuses"]
                max_id = page["next_max_id"]
                if max_id is None:
                    break
        finally:
            await ctx.aclose()
        return out if args.limit is None else out[: args.limit]

    statuses = asyncio.run(run())
    if args.json:
        print(json.dumps(statuses, indent=2, ensure_ascii=False))
        return 0
    if not statuses:
        print("no bookmarks")
    for s in statuses:
        first = (s["text"] or "").split("\n", 1)[0]
        print(f"{(s['created_at'] or '')[:10]}  @{s['acct']}  {s['url'] or s['id']}")
        if first:
            print(f"            {first[:100]}")
    return 0
