"""Mastodon bookmarks into the reading list (``tuckaway import mastodon-bookmarks``).

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
asked again (``retries`` times, telling the :class:`ProgressSink`) before the
import stops. The library prints nothing: ``tuckaway.cli.imports`` draws the progress.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from tuckaway.db import get_meta, set_meta
from tuckaway.delivery.batcher import backoff_delay, submit
from tuckaway.errors import InvalidRequest, NotLinked, RateLimited, Unavailable
from tuckaway.services.mastodon.client import MastodonClient, Page, Status
from tuckaway.wire.protocol import parse_request

if TYPE_CHECKING:
    from tuckaway.context import Context

CURSOR_KEY = "mastodon_import:cursor"
PAGE_SIZE = 40
TITLE_CAP = 120
#: a page that fails with 429 or 5xx (or no answer) is asked again this many times
PAGE_RETRIES = 5
#: the longest wait before asking a page again when the server says nothing
#: (the batcher's exponential backoff with jitter, capped here)
BACKOFF_CAP_S = 60.0
#: what anyone may read; other posts (followers only, direct, a fork's own kinds, or
#: none said) are imported only when asked: the reading list may be a third party's
PUBLIC_VISIBILITIES = frozenset({"public", "unlisted"})


# -- progress -------------------------------------------------------------------------


@dataclass
class Report:
    pages: int = 0
    bookmarks: int = 0
    saved: int = 0
    known: int = 0
    #: bookmarks left out for not being public (without ``include_private``)
    private: int = 0
    queued: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)


class ProgressSink(Protocol):
    """Who hears how the import goes (the command line draws it; tests record it)."""

    def update(self, report: Report, done: bool = False) -> None:
        """After each page: the counts so far; ``done`` after the last page."""

    def waiting(self, page: int, why: str, seconds: float, retry: int, retries: int) -> None:
        """Page ``page`` is asked again after ``seconds`` (retry ``retry`` of ``retries``)."""


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
    progress: ProgressSink | None = None,
    page_size: int = PAGE_SIZE,
    retries: int = PAGE_RETRIES,
    include_private: bool = False,
) -> Report:
    """Save every bookmarked post (and its card's link) into the reading list; posts
    that are not public (:data:`PUBLIC_VISIBILITIES`) only with ``include_private``."""
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
            if not include_private and status.visibility not in PUBLIC_VISIBILITIES:
                report.private += 1
                continue
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
    progress: ProgressSink | None,
) -> Page:
    """One page of bookmarks; a rate limit or a failing server is waited out and the
    page asked again, at most ``retries`` times (the server's wait when it says one:
    ``Retry-After`` or ``X-RateLimit-Reset``; else a doubling backoff)."""
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


# -- listing --------------------------------------------------------------------------


async def read_bookmarks(ctx: Context, limit: int | None = None) -> list[dict[str, Any]]:
    """The user's bookmarks, newest first: all of them, or the first ``limit``."""
    out: list[dict[str, Any]] = []
    max_id: str | None = None
    while limit is None or len(out) < limit:
        want = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(out))
        page = await ctx.read("bookmarks", limit=max(1, want), max_id=max_id)
        out += page["statuses"]
        max_id = page["next_max_id"]
        if max_id is None:
            break
    return out if limit is None else out[:limit]
