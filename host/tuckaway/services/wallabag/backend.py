"""Delivers list writes to a wallabag account (API v2), coalesced.

One batch becomes as few calls as wallabag allows:

* saves without a title go out through ``POST /api/entries/lists`` in chunks
  of the server's ``api_limit_mass_actions`` (10 unless the server says less:
  a 400 "API limit reached" halves the chunk, remembered per server); a save
  with a title, or with a kept copy of the page (issue 14), is one ``POST
  /api/entries`` (url, title, tags, and the page's html as ``content``, which
  wallabag keeps instead of fetching the page);
* every flag change on one entry in the batch (archive/readd, favorite/
  unfavorite) and a non-empty tags_replace become ONE ``PATCH
  /api/entries/{id}``; tags added or removed on any number of entries become
  one ``POST /api/entries/tags/lists`` and one ``DELETE
  /api/entries/tags/list`` (by url); a clear removes each tag the entry has
  (wallabag's PATCH cannot clear with an empty ``tags``);
* urls the index does not know are looked up together with one
  ``GET /api/entries/exists`` (``hashed_urls[]``);
* ``tag_delete`` is ``DELETE /api/tag/label``; ``tag_rename`` is emulated
  (wallabag has no rename): the new tag is added to every entry carrying the
  old one, then the old one is deleted. Item writes after one of these in the
  same batch wait for the next batch, so that they keep their order.

A 401 renews the token once (the client does); when that fails the writes are
held until the next sign-in. 429, 5xx and timeouts retry the writes not yet
answered; what was already delivered stays answered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tuckaway import db
from tuckaway.errors import NotLinked, UnknownItem
from tuckaway.services.base import Defer, Done, Failed, Outcome, Write
from tuckaway.services.fold import Folded
from tuckaway.services.listbackend import ListBackend, Stop
from tuckaway.services.pocket.items import trim_item
from tuckaway.services.rest import ServiceError, ServiceNotFound, outcome_of
from tuckaway.services.wallabag.client import (
    MASS_LIMIT,
    LimitReached,
    WallabagClient,
    embedded_items,
)
from tuckaway.store import ItemList, StoreError

if TYPE_CHECKING:
    from tuckaway.accounts.credentials import WallabagCredentials
    from tuckaway.context import Context

log = logging.getLogger(__name__)

NAMESPACE = "wallabag"
_FLAGS = {"archived": "archive", "favorite": "starred"}


class WallabagBackend(ListBackend[WallabagClient]):
    """The linked wallabag account's side of the outbox."""

    service = NAMESPACE
    label = "wallabag"

    async def client(self) -> WallabagClient:
        return await client_for(self.ctx)

    async def run(
        self, client: WallabagClient, writes: Sequence[Write], out: list[Outcome | None]
    ) -> None:
        first_global = next(
            (i for i, w in enumerate(writes) if w.op in {"tag_rename", "tag_delete"}), len(writes)
        )
        items = [i for i in range(first_global) if writes[i].op != "save"]
        saves = [i for i in range(first_global) if writes[i].op == "save"]
        await self._saves(client, writes, saves, out)
        await self._items(client, writes, items, out)
        for i in range(first_global, len(writes)):
            if writes[i].op not in {"tag_rename", "tag_delete"}:
                out[i] = Defer("a tag rename or delete earlier in the batch goes first")
                continue
            out[i] = await self._global(client, writes[i])

    # -- saves ---------------------------------------------------------------

    async def _saves(
        self,
        client: WallabagClient,
        writes: Sequence[Write],
        saves: list[int],
        out: list[Outcome | None],
    ) -> None:
        seen: set[str] = set()
        bare: list[int] = []
        for i in saves:
            url = str(writes[i].payload["url"])
            if url in seen:
                out[i] = Defer("another save of this url is in the batch")
                continue
            seen.add(url)
            kept = self.kept(url)
            if writes[i].payload.get("title") or kept is not None:
                payload = writes[i].payload
                # wallabag keeps the html sent only with a title: the page's, else the url
                title = payload.get("title") or (kept and kept.meta.get("title")) or url
                content = None if kept is None else kept.html()
                try:
                    entry = await _guard(client.add(url, title, payload.get("tags") or [], content))
                except ServiceError as exc:  # refused (400): this save alone
                    out[i] = Failed(exc)
                    continue
                out[i] = self._saved(url, entry, payload)
            else:
                bare.append(i)
        tags_by_url: dict[str, list[str]] = {}
        ids: dict[str, str] = {}
        start = 0
        while start < len(bare):
            refused: ServiceError | None
            chunk = bare[start : start + self._mass_limit(client)]
            urls = [str(writes[i].payload["url"]) for i in chunk]
            try:
                rows = await _guard(client.add_many(urls))
            except LimitReached as exc:
                if len(chunk) > 1:
                    self._set_mass_limit(client, max(1, len(chunk) // 2))
                    continue
                rows, refused = [], exc
            except ServiceError as exc:  # refused (400): this chunk alone
                rows, refused = [], exc
            else:
                refused = None
            if refused is not None:
                for i in chunk:
                    out[i] = Failed(refused)
            for row in rows:
                if row.get("entry"):
                    ids[str(row.get("url"))] = str(row["entry"])
            start += len(chunk)
            for i in chunk:
                if writes[i].payload.get("tags"):
                    tags_by_url[str(writes[i].payload["url"])] = list(writes[i].payload["tags"])
        tagging: ServiceError | None = None
        if tags_by_url:
            try:
                await _guard(client.tag_urls(tags_by_url))
            except ServiceError as exc:
                tagging = exc
        for i in bare:
            url = str(writes[i].payload["url"])
            if out[i] is not None:
                continue
            if tagging is not None and url in tags_by_url:
                out[i] = Failed(tagging)
                continue
            if url not in ids:
                out[i] = Failed(UnknownItem(f"wallabag did not say which entry {url} became"))
                continue
            out[i] = self._saved(url, {"id": ids[url], "url": url}, writes[i].payload)

    def _saved(self, url: str, entry: Mapping[str, Any], payload: Mapping[str, Any]) -> Outcome:
        data = to_store(entry)
        data["given_url"] = url  # the index answers by the url the browser saved
        if payload.get("title") and not data.get("given_title"):
            data["given_title"] = payload["title"]
        if payload.get("tags"):
            data["tags"] = sorted({*data.get("tags", []), *payload["tags"]})
        try:
            item = self.index.remember(data)
        except StoreError as exc:
            log.warning("could not index saved entry %s: %s", data["item_id"], exc.message)
            return Done({"item_id": data["item_id"], "url": url, "item": {}})
        return Done({"item_id": item.item_id, "url": url, "item": trim_item(item.to_pocket())})

    def _mass_limit(self, client: WallabagClient) -> int:
        raw = db.get_meta(self.ctx.db, f"wallabag_mass_limit:{client.creds.base_url}")
        return int(raw) if raw and raw.isdigit() and int(raw) > 0 else MASS_LIMIT

    def _set_mass_limit(self, client: WallabagClient, limit: int) -> None:
        log.info("wallabag's mass-action limit is below the chunk; now %d", limit)
        db.set_meta(self.ctx.db, f"wallabag_mass_limit:{client.creds.base_url}", str(limit))

    # -- item writes -------------------------------------------------------------

    async def _items(
        self,
        client: WallabagClient,
        writes: Sequence[Write],
        items: list[int],
        out: list[Outcome | None],
    ) -> None:
        unknown = [
            str(writes[i].payload["url"])
            for i in items
            if not writes[i].payload.get("item_id")
            and self.index.resolve(str(writes[i].payload["url"])) is None
        ]
        found: dict[str, int | None] = {}
        if unknown:
            try:
                found = await _guard(client.exists(sorted(set(unknown))))
            except ServiceError as exc:
                log.info("wallabag could not look urls up: %s", exc.message)
        plans: dict[str, Folded] = {}
        for i in items:
            payload = writes[i].payload
            entry_id = payload.get("item_id") or self.index.resolve(str(payload.get("url")))
            if entry_id is None and found.get(str(payload.get("url"))):
                entry_id = str(found[str(payload["url"])])
            if entry_id is None:
                out[i] = Failed(UnknownItem(f"no saved item for {payload.get('url')}"))
                continue
            entry_id = str(entry_id)
            plan = plans.get(entry_id)
            if plan is None:
                known = self.index.get_item(entry_id)
                url = payload.get("url") or (known.url if known else "")
                plan = plans[entry_id] = Folded(entry_id, str(url))
            if plan.delete:
                out[i] = Defer("the entry is deleted earlier in this batch")
                continue
            plan.fold(writes[i].op, payload.get("tags") or [])
            plan.writes.append(i)
        adds: dict[str, list[str]] = {}
        removes: dict[str, list[str]] = {}
        for plan in plans.values():
            failed = await self._entry(client, plan, adds, removes)
            for i in plan.writes:
                out[i] = failed or Done({"item_id": plan.target_id})
        missing: set[str] = set()
        refused: ServiceError | None = None
        try:
            if adds:
                missing |= _unknown(await _guard(client.tag_urls(adds)))
            if removes:
                missing |= _unknown(await _guard(client.untag_urls(removes)))
        except ServiceError as exc:  # refused (400)
            refused = exc
        for plan in plans.values():
            gone = plan.url in missing
            for i in plan.writes:
                tagging = writes[i].op.startswith("tags_") and isinstance(out[i], Done)
                if tagging and refused is not None:
                    out[i] = Failed(refused)
                elif tagging and gone:
                    out[i] = Failed(UnknownItem(f"wallabag has no entry for {plan.url}"))
                elif isinstance(out[i], Done):
                    self.mirror(writes[i], plan.target_id)

    async def _entry(
        self,
        client: WallabagClient,
        plan: Folded,
        adds: dict[str, list[str]],
        removes: dict[str, list[str]],
    ) -> Outcome | None:
        """The calls of one entry (the bulk tag calls are collected); a failure, or None."""
        try:
            if plan.delete:
                await _guard(client.delete(plan.target_id))
                return None
            changes: dict[str, Any] = {_FLAGS[k]: int(v) for k, v in plan.flags.items()}
            if plan.replace:
                changes["tags"] = ",".join(plan.replace)
            entry: dict[str, Any] | None = None
            if changes:
                entry = await _guard(client.patch(plan.target_id, changes))
            if plan.replace == []:  # a clear: remove each tag it has
                entry = entry or await _guard(client.get(plan.target_id))
                current = to_store(entry).get("tags", [])
                if current:
                    removes[plan.url or str(entry.get("given_url") or entry.get("url"))] = current
        except ServiceNotFound:
            self.index.forget(plan.target_id)
            return Failed(UnknownItem(f"wallabag has no entry {plan.target_id} any more"))
        except ServiceError as exc:  # refused (400)
            return Failed(exc)
        if plan.adds:
            adds[plan.url] = plan.adds
        if plan.removes:
            removes.setdefault(plan.url, []).extend(plan.removes)
        return None

    # -- tag-wide writes ---------------------------------------------------------

    async def _global(self, client: WallabagClient, write: Write) -> Outcome:
        payload = write.payload
        try:
            if write.op == "tag_rename":
                old, new = str(payload["old_tag"]), str(payload["new_tag"])
                urls = await self._tagged(client, old)
                if urls:
                    await _guard(client.tag_urls({u: [new] for u in urls}))
                    await _guard(client.delete_tag(old))
            else:
                await _guard(client.delete_tag(str(payload["tag"])))
        except ServiceNotFound:
            pass  # no entry carries that tag: nothing to change
        except ServiceError as exc:  # refused (400)
            return Failed(exc)
        self.mirror(write, None)
        return Done({})

    async def _tagged(self, client: WallabagClient, tag: str) -> list[str]:
        urls: list[str] = []
        page = 1
        while True:
            body = await _guard(client.entries(tags=tag, page=page))
            urls += [str(e.get("given_url") or e.get("url")) for e in embedded_items(body)]
            if page >= int(body.get("pages") or 1):
                return urls
            page += 1


async def _guard(awaitable: Any) -> Any:
    """Await one call; a failure that ends the batch becomes :class:`Stop`."""
    try:
        return await awaitable
    except (ServiceNotFound, LimitReached):
        raise
    except ServiceError as exc:
        if isinstance(outcome_of(exc), Failed):
            raise
        raise Stop(exc) from None


def _unknown(rows: Sequence[Mapping[str, Any]]) -> set[str]:
    return {str(r.get("url")) for r in rows if r.get("entry") is False}


def to_store(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A wallabag entry as the store's ``remember`` takes it (Pocket's field names)."""
    tags = entry.get("tags")
    data: dict[str, Any] = {
        "item_id": str(entry.get("id")),
        "given_url": entry.get("given_url") or entry.get("url") or "",
        "resolved_url": entry.get("url"),
        "given_title": entry.get("title") or "",
        "status": 1 if entry.get("is_archived") else 0,
        "favorite": "1" if entry.get("is_starred") else "0",
    }
    if isinstance(tags, list):
        data["tags"] = [str(t.get("label")) for t in tags if isinstance(t, Mapping)]
    return data


async def client_for(ctx: Context) -> WallabagClient:
    """A client for the linked account; a renewed token goes back to the keyring."""
    creds = ctx.credentials.wallabag()
    if creds is None:
        raise NotLinked("no wallabag account is linked; the write waits for `tuckaway login`")

    async def keep(new: WallabagCredentials) -> None:
        ctx.credentials.save_wallabag(new, refreshed=True)

    return WallabagClient(await ctx.http(), creds, keep)


def create(ctx: Context) -> WallabagBackend:
    return WallabagBackend(ctx)


# -- sync ----------------------------------------------------------------------


async def sync(ctx: Context, full: bool = False, **_: Any) -> dict[str, Any]:
    """``GET /api/entries?since=`` and ``/api/entry-deletions?since=`` into the index.

    The first sync (or ``full``, or a 410 from the deletions: its cutoff is
    past) lists everything and drops from the index what wallabag no longer has.
    """
    client = await client_for(ctx)
    index = ctx.store.items(NAMESPACE)
    key = f"wallabag_since:{client.creds.base_url}|{client.creds.username}"
    raw = db.get_meta(ctx.db, key)
    since = int(raw) if raw and raw.isdigit() and not full else None
    started = int(time.time())
    counts = {"added": 0, "updated": 0, "deleted": 0}
    deleted: list[str] = []
    if since is not None:
        try:
            deleted = [str(d.get("entry_id")) for d in await client.deletions(since)]
        except ServiceError as exc:
            if exc.status != 410:
                raise
            since = None  # the server forgot deletions that old: list everything
    seen = await _list_into(client, index, since, counts)
    gone = deleted if since is not None else _absent(ctx, seen)
    for entry_id in gone:
        if index.get_item(entry_id) is not None:
            index.forget(entry_id)
            counts["deleted"] += 1
    db.set_meta(ctx.db, key, str(started))
    log.info("wallabag sync (%s): %s", "full" if since is None else f"since {since}", counts)
    return {**counts, "full": since is None, "since": started}


async def _list_into(
    client: WallabagClient, index: ItemList, since: int | None, counts: dict[str, int]
) -> set[str]:
    seen: set[str] = set()
    page = 1
    while True:
        params: dict[str, Any] = {"page": page, "sort": "updated", "order": "asc"}
        if since is not None:
            params["since"] = since
        body = await client.entries(**params)
        for entry in embedded_items(body):
            data = to_store(entry)
            known = index.get_item(data["item_id"]) is not None
            try:
                index.remember(data)
            except StoreError:
                continue
            seen.add(data["item_id"])
            counts["updated" if known else "added"] += 1
        if page >= int(body.get("pages") or 1):
            return seen
        page += 1


def _absent(ctx: Context, seen: set[str]) -> list[str]:
    rows = ctx.db.execute(
        "SELECT item_id FROM items WHERE ns = ? AND status != 2", (NAMESPACE,)
    ).fetchall()
    return [str(r[0]) for r in rows if str(r[0]) not in seen]
