"""Mastodon bookmarks: the ``bookmark``/``unbookmark`` writes and the ``bookmarks`` read.

Writes arrive through the outbox like every other write; the batcher hands
them over at once (no coalescing: Mastodon has no batch endpoint) and applies
the outcomes. Both calls are idempotent on the server, so a write that is
retried after an answer was lost does no harm.

- 429 and 5xx/timeouts: :class:`Retry` with the server's wait when it gave one;
  the rest of the batch waits too instead of hammering a server that said stop.
- the keyring cannot be read (locked, its service not started yet):
  :class:`Retry` ``unavailable`` with a message saying so; reads answer
  ``unavailable``.
- 401: :class:`Hold` with ``auth_failed``; the token is kept and the writes wait
  for the next sign-in (PROTOCOL.md 5).
- 404 (or a url that resolves to nothing): :class:`Failed` with ``not_found``; for an
  ``unbookmark`` a 404 is :class:`Done` (a deleted post is not bookmarked).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from tuckaway import db
from tuckaway.accounts.credentials import KeyringUnavailable, keyring_message
from tuckaway.errors import (
    ActionFailed,
    AuthFailed,
    InvalidRequest,
    NotFound,
    NotLinked,
    RateLimited,
    TuckawayError,
    Unavailable,
)
from tuckaway.services.base import Done, Failed, Hold, Outcome, Retry, Write
from tuckaway.services.mastodon.client import (
    BOOKMARKS_PATH,
    PAGE_MAX,
    MastodonClient,
    Page,
    local_status_id,
)

if TYPE_CHECKING:
    from tuckaway.context import Context

log = logging.getLogger(__name__)


class MastodonBackend:
    """Bookmarks on the user's own Mastodon server."""

    service = "mastodon"
    coalesce = False

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def deliver(self, writes: Sequence[Write]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        stop: Outcome | None = None  # once the server says "stop", the rest waits the same way
        try:
            client: MastodonClient | None = await MastodonClient.for_context(self.ctx)
        except NotLinked as exc:
            stop, client = Hold(exc), None
        except KeyringUnavailable as exc:  # locked, or its service is not running yet
            stop, client = Retry("unavailable", keyring_message("Mastodon", exc)), None
        for write in writes:
            if stop is not None or client is None:
                outcomes.append(stop or Hold(NotLinked("no Mastodon account is linked")))
                continue
            outcome = await self._one(client, write)
            if isinstance(outcome, Hold | Retry):
                stop = outcome
            outcomes.append(outcome)
        return outcomes

    async def _one(self, client: MastodonClient, write: Write) -> Outcome:
        payload = write.payload
        try:
            status_id = await client.resolve(
                status_id=payload.get("status_id"), status_url=payload.get("status_url")
            )
            if write.op == "bookmark":
                status = await client.bookmark(status_id)
            elif write.op == "unbookmark":
                try:
                    status = await client.unbookmark(status_id)
                except NotFound:
                    # Mastodon answers 404 only when the user holds no bookmark of it
                    # (deleted; Statuses::BookmarksController#destroy): the aim holds
                    url = payload.get("status_url")
                    return Done({"status_id": status_id, "url": url, "bookmarked": False})
            else:
                return Failed(ActionFailed(f"Mastodon cannot do {write.op!r}"))
        except AuthFailed as exc:
            return Hold(exc)
        except RateLimited as exc:
            return Retry("rate_limited", exc.message, exc.retry_after)
        except Unavailable as exc:
            return Retry("unavailable", exc.message, getattr(exc, "retry_after", None))
        except TuckawayError as exc:  # not_found, action_failed (403, 422 ...)
            return Failed(exc)
        bookmarked = status.bookmarked
        if bookmarked is None:  # a fork that leaves the field out
            bookmarked = write.op == "bookmark"
        return Done({"status_id": status.id, "url": status.short_link, "bookmarked": bookmarked})

    async def aclose(self) -> None:
        return None


def create(ctx: Context) -> MastodonBackend:
    return MastodonBackend(ctx)


async def list_bookmarks(
    ctx: Context, limit: int = 20, max_id: str | None = None
) -> dict[str, Any]:
    """The ``bookmarks`` op: one page of statuses, trimmed, and the cursor for the next.

    ``next_max_id`` is the next link's ``max_id`` when it has one (Mastodon's
    cursor), else an opaque cursor (``~...``) holding the link's whole query, so
    that a server paging with other parameters is paged to the end too.
    """
    client = await MastodonClient.for_context(ctx)
    if max_id is not None and max_id.startswith(_OPAQUE):
        page = await client.bookmarks(url=_url_of_cursor(ctx, client, max_id, limit))
    else:
        page = await client.bookmarks(limit=limit, max_id=max_id)
    return {
        "statuses": [status.summary() for status in page.statuses],
        "next_max_id": _cursor_of(ctx, page),
    }


async def bookmark_state(
    ctx: Context, status_url: str | None = None, status_id: str | None = None
) -> dict[str, Any]:
    """The ``bookmark_state`` op: is this post bookmarked? (The popup's toggle asks.)

    One call to the user's own server: the status itself for an id or a url of
    that server, else a resolving search, whose answer carries ``bookmarked``
    for the signed-in user too.
    """
    client = await MastodonClient.for_context(ctx)
    local = status_id or (local_status_id(client.instance, status_url) if status_url else None)
    if local is not None:
        acct = str(ctx.accounts()["mastodon"].get("acct") or "")
        status = await client.read_status(local, acct.split("@", 1)[0])
    else:
        assert status_url is not None  # the protocol asks for one of the two
        found = await client.search_status(status_url, resolve=True)
        if found is None:
            raise NotFound(f"your Mastodon server could not find a post at {status_url}")
        status = found
    return {
        "status_id": status.id,
        "url": status.short_link,
        "bookmarked": bool(status.bookmarked),
    }


# -- cursors: a next link's query as the protocol's next_max_id string ---------------

_OPAQUE = "~"  # never in a server's ids (Mastodon's are digits, forks' alphanumeric)
_STORED = "~#"
_CURSOR_KEY = "mastodon_cursor:"  # meta key prefix, one row per stored cursor
_CURSORS_KEPT = 200
_CURSOR_MAX = 64  # the protocol's max_id is at most 64 characters


def _cursor_of(ctx: Context, page: Page) -> str | None:
    if page.next_url is None:
        return None
    max_id = page.next_max_id
    if max_id is not None and len(max_id) <= _CURSOR_MAX and not max_id.startswith(_OPAQUE):
        return max_id
    query = urlencode(
        [(k, v) for k, v in parse_qsl(urlsplit(page.next_url).query, True) if k != "limit"]
    )
    cursor = _OPAQUE + base64.urlsafe_b64encode(query.encode("utf-8")).decode("ascii").rstrip("=")
    if len(cursor) <= _CURSOR_MAX:
        return cursor
    # too long to carry: kept in the database (shared by every host process)
    cursor = _STORED + hashlib.sha256(query.encode("utf-8")).hexdigest()[:32]
    _store_cursor(ctx, cursor, query)
    return cursor


def _store_cursor(ctx: Context, cursor: str, query: str) -> None:
    """One meta row per cursor (an upsert: two host processes paging at once both keep
    theirs), the oldest beyond :data:`_CURSORS_KEPT` forgotten."""
    from tuckaway.db import transaction

    with transaction(ctx.db):
        db.set_meta(ctx.db, _CURSOR_KEY + cursor, json.dumps({"query": query, "at": time.time()}))
        ctx.db.execute(
            "DELETE FROM meta WHERE key LIKE ? AND key NOT IN (SELECT key FROM meta "
            "WHERE key LIKE ? ORDER BY json_extract(value, '$.at') DESC, rowid DESC LIMIT ?)",
            (_CURSOR_KEY + "%", _CURSOR_KEY + "%", _CURSORS_KEPT),
        )


def _stored_query(ctx: Context, cursor: str) -> str | None:
    try:
        value = json.loads(db.get_meta(ctx.db, _CURSOR_KEY + cursor) or "null")
    except ValueError:
        return None
    query = value.get("query") if isinstance(value, dict) else None
    return query if isinstance(query, str) else None


def _url_of_cursor(ctx: Context, client: MastodonClient, cursor: str, limit: int) -> str:
    query: str | None
    if cursor.startswith(_STORED):
        query = _stored_query(ctx, cursor)
    else:
        try:
            raw = cursor[len(_OPAQUE) :]
            padded = raw + "=" * (-len(raw) % 4)
            query = base64.b64decode(padded, altchars=b"-_", validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            query = None
    if query is None:
        raise InvalidRequest(
            "max_id is not a cursor this host gave out",
            [{"loc": "max_id", "msg": "unknown page cursor: list again from the first page"}],
        )
    limit_query = urlencode({"limit": str(max(1, min(limit, PAGE_MAX)))})
    return f"{client.instance}{BOOKMARKS_PATH}?{limit_query}" + (f"&{query}" if query else "")
