"""Delivers list writes to a Readeck account, one call per bookmark per batch.

Readeck has no batch endpoint and no lookup by url, so:

* each save is one ``POST /api/bookmarks`` (url, title, labels); Readeck
  answers 202 with ``Bookmark-Id`` and extracts the page on its own time;
* every change a batch makes to one bookmark (archive, favorite, labels added,
  removed or replaced, a clear) is ONE ``PATCH /api/bookmarks/{id}``
  (``is_archived``, ``is_marked``, ``labels``, ``add_labels``,
  ``remove_labels``); a delete is ``DELETE /api/bookmarks/{id}``;
* a url is turned into an id through the host's index of the account, which
  saves and :func:`sync` keep; a url it does not know fails with
  ``unknown_item`` (``tuckaway sync`` then learns it);
* ``tag_rename`` and ``tag_delete`` are Readeck's own label rename and delete
  (``/api/bookmarks/labels?name=``); item writes after one of them in the same
  batch wait for the next batch.

401 holds the writes until the next sign-in; 429, 5xx and timeouts retry the
writes not yet answered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tuckaway import db
from tuckaway.errors import NotLinked, UnknownItem
from tuckaway.services.base import Defer, Done, Failed, Outcome, Write
from tuckaway.services.fold import Folded
from tuckaway.services.listbackend import ListBackend
from tuckaway.services.pocket.items import trim_item
from tuckaway.services.readeck.client import ReadeckClient
from tuckaway.services.rest import ServiceError, ServiceNotFound, outcome_of
from tuckaway.store import StoreError

if TYPE_CHECKING:
    from tuckaway.context import Context

log = logging.getLogger(__name__)

NAMESPACE = "readeck"
_FLAGS = {"archived": "is_archived", "favorite": "is_marked"}
#: seconds before a sync's start that the next sync starts from (clock differences)
CLOCK_SLACK_S = 60


class ReadeckBackend(ListBackend[ReadeckClient]):
    """The linked Readeck account's side of the outbox."""

    service = NAMESPACE
    label = "Readeck"

    async def client(self) -> ReadeckClient:
        return await client_for(self.ctx)

    async def run(
        self, client: ReadeckClient, writes: Sequence[Write], out: list[Outcome | None]
    ) -> None:
        plans: dict[str, Folded] = {}
        saved: set[str] = set()
        tag_wide = False
        for i, write in enumerate(writes):
            if write.op in {"tag_rename", "tag_delete"}:
                await self._flush(client, writes, plans, out)
                plans.clear()
                tag_wide = True
                out[i] = await _final(self._tag_wide(client, write))
            elif tag_wide:
                out[i] = Defer("a label rename or delete earlier in the batch goes first")
            elif write.op == "save":
                url = str(write.payload["url"])
                if url in saved:
                    out[i] = Defer("another save of this url is in the batch")
                    continue
                saved.add(url)
                out[i] = await _final(self._save(client, write))
            else:
                self._plan(writes, i, plans, out)
        await self._flush(client, writes, plans, out)

    async def _save(self, client: ReadeckClient, write: Write) -> Outcome:
        payload = write.payload
        url = str(payload["url"])
        labels = list(payload.get("tags") or [])
        kept = self.kept(url)
        html = None if kept is None else kept.html()
        bookmark_id = await client.add(url, payload.get("title"), labels, html)
        data = {
            "item_id": bookmark_id,
            "given_url": url,
            "given_title": payload.get("title") or "",
            "status": 0,
            "tags": labels,
        }
        try:
            item = self.index.remember(data)
        except StoreError as exc:
            log.warning("could not index bookmark %s: %s", bookmark_id, exc.message)
            return Done({"item_id": bookmark_id, "url": url, "item": {}})
        return Done({"item_id": bookmark_id, "url": url, "item": trim_item(item.to_pocket())})

    def _plan(
        self, writes: Sequence[Write], i: int, plans: dict[str, Folded], out: list[Outcome | None]
    ) -> None:
        payload = writes[i].payload
        target = payload.get("item_id") or self.index.resolve(str(payload.get("url")))
        if target is None:
            out[i] = Failed(
                UnknownItem(f"no saved item for {payload.get('url')} (`tuckaway sync` learns it)")
            )
            return
        plan = plans.setdefault(str(target), Folded(str(target), str(payload.get("url") or "")))
        if plan.delete:
            out[i] = Defer("the bookmark is deleted earlier in this batch")
            return
        plan.fold(writes[i].op, payload.get("tags") or [])
        plan.writes.append(i)

    async def _flush(
        self,
        client: ReadeckClient,
        writes: Sequence[Write],
        plans: Mapping[str, Folded],
        out: list[Outcome | None],
    ) -> None:
        for plan in plans.values():
            outcome = await _final(self._one(client, plan))
            for i in plan.writes:
                out[i] = outcome
                if isinstance(outcome, Done):
                    self.mirror(writes[i], plan.target_id)

    async def _one(self, client: ReadeckClient, plan: Folded) -> Outcome:
        try:
            if plan.delete:
                await client.delete(plan.target_id)
            else:
                changes: dict[str, Any] = {_FLAGS[k]: v for k, v in plan.flags.items()}
                if plan.replace is not None:
                    changes["labels"] = plan.replace
                if plan.adds:
                    changes["add_labels"] = plan.adds
                if plan.removes:
                    changes["remove_labels"] = plan.removes
                await client.patch(plan.target_id, changes)
        except ServiceNotFound:
            self.index.forget(plan.target_id)
            return Failed(UnknownItem(f"Readeck has no bookmark {plan.target_id} any more"))
        return Done({"item_id": plan.target_id})

    async def _tag_wide(self, client: ReadeckClient, write: Write) -> Outcome:
        payload = write.payload
        try:
            if write.op == "tag_rename":
                await client.rename_label(str(payload["old_tag"]), str(payload["new_tag"]))
            else:
                await client.delete_label(str(payload["tag"]))
        except ServiceNotFound:
            pass  # no bookmark has that label: nothing to change
        self.mirror(write, None)
        return Done({})


async def _final(awaitable: Any) -> Outcome:
    """The outcome of one step; a refusal (400, 403, 422) fails that step alone, anything
    that should stop the batch (401, 429, 5xx) is raised."""
    try:
        outcome: Outcome = await awaitable
    except ServiceError as exc:
        result = outcome_of(exc)
        if not isinstance(result, Failed):
            raise
        return result
    return outcome


async def client_for(ctx: Context) -> ReadeckClient:
    creds = ctx.credentials.readeck()
    if creds is None:
        raise NotLinked("no Readeck account is linked; the write waits for `tuckaway login`")
    return ReadeckClient(await ctx.http(), creds)


def create(ctx: Context) -> ReadeckBackend:
    return ReadeckBackend(ctx)


# -- sync ----------------------------------------------------------------------


def to_store(bookmark: Mapping[str, Any]) -> dict[str, Any]:
    """A Readeck bookmark as the store's ``remember`` takes it (Pocket's field names)."""
    return {
        "item_id": str(bookmark.get("id")),
        "given_url": bookmark.get("url") or "",
        "given_title": bookmark.get("title") or "",
        "status": 1 if bookmark.get("is_archived") else 0,
        "favorite": "1" if bookmark.get("is_marked") else "0",
        "tags": [str(x) for x in bookmark.get("labels") or []],
    }


async def sync(ctx: Context, full: bool = False, **_: Any) -> dict[str, Any]:
    """``GET /api/bookmarks/sync?since=`` into the index (everything the first time, or
    with ``full``, dropping what Readeck no longer lists)."""
    client = await client_for(ctx)
    index = ctx.store.items(NAMESPACE)
    key = f"readeck_since:{client.creds.base_url}|{client.creds.username}"
    since = None if full else db.get_meta(ctx.db, key)
    started = datetime.fromtimestamp(time.time() - CLOCK_SLACK_S, UTC).isoformat()
    changes = await client.changes(since)
    updated = [str(c["id"]) for c in changes if c.get("type") != "delete" and c.get("id")]
    deleted = [str(c["id"]) for c in changes if c.get("type") == "delete" and c.get("id")]
    counts = {"added": 0, "updated": 0, "deleted": 0}
    seen: set[str] = set()
    for bookmark in await client.bookmarks(updated):
        data = to_store(bookmark)
        if bookmark.get("is_deleted"):  # scheduled for deletion: gone for the list
            deleted.append(data["item_id"])
            continue
        known = index.get_item(data["item_id"]) is not None
        try:
            index.remember(data)
        except StoreError:
            continue
        seen.add(data["item_id"])
        counts["updated" if known else "added"] += 1
    if since is None:
        rows = ctx.db.execute(
            "SELECT item_id FROM items WHERE ns = ? AND status != 2", (NAMESPACE,)
        ).fetchall()
        deleted += [str(r[0]) for r in rows if str(r[0]) not in seen]
    for bookmark_id in dict.fromkeys(deleted):
        if index.get_item(bookmark_id) is not None:
            index.forget(bookmark_id)
            counts["deleted"] += 1
    db.set_meta(ctx.db, key, started)
    log.info("readeck sync (%s): %s", "full" if since is None else f"since {since}", counts)
    return {**counts, "full": since is None, "since": started}
