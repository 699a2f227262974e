"""Delivers list writes to a Pocket-v3-compatible service, batched.

The batcher hands :meth:`PocketBackend.deliver` up to ``batch_max_actions``
writes in arrival order. They become Pocket actions (:func:`.actions.to_action`)
and go out as ONE ``POST /v3/send``; a flush that is a single save uses
``POST /v3/add`` instead, as Pocket asks. Each write is answered from its own
``action_results``/``action_errors`` entry, so one rejected action fails alone.

Inside one batch:

* ``tags_add`` on a url that a save in the same batch adds is folded into that
  save's ``tags`` and answered with the saved item's id, as long as nothing
  else touched that item between the save and the ``tags_add`` (folding would
  move the tags ahead of it);
* any other item op on such a url is deferred to the next batch (by then the
  save has returned its ``item_id``), and so is every later write on that item
  in the batch, ``tags_add`` included: writes to one item arrive in order;
* item ops naming a ``url`` are resolved to an ``item_id`` through the host's
  index of the account (the ``pocket`` namespace of the store), which every
  successful write and every :func:`sync` keep current.

A save's result carries the service's item trimmed to its documented scalar
fields (:func:`trim_item`), never nested lists of images, videos or authors.

A save the service answers without its item (``true``, or ``/v3/add`` with no
``item``) learns its ``item_id`` from one ``/v3/get`` of what changed since the
send; one that cannot be named that way is asked again, then fails: a save is
never answered ok with an empty ``item_id``.

A batch refused whole with HTTP 400 is split in halves until the bad action is
alone: it fails, the others go through. 401 holds the writes until the next
login; rate limits, 5xx, timeouts, connection errors and a keyring that cannot
be read (locked, its service not started yet) retry later.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tuckaway.accounts.credentials import KeyringUnavailable, keyring_message
from tuckaway.errors import ActionFailed, NotLinked, UnknownItem
from tuckaway.services.base import Defer, Done, Failed, Hold, Outcome, Retry, Write
from tuckaway.services.pocket.actions import to_action
from tuckaway.store import StoreError
from tuckaway.wire.protocol import ITEM_OPS

if TYPE_CHECKING:
    from tuckaway.accounts.credentials import PocketCredentials
    from tuckaway.context import Context
    from tuckaway.services.pocket.client import PocketClient, PocketError, PocketItem

log = logging.getLogger(__name__)

NAMESPACE = "pocket"
#: /v3/get page size while syncing
SYNC_PAGE = 500
#: pages of recent changes read to find the items of saves answered without them
LOOKUP_PAGES = 4
#: seconds before the send that the listing of recent changes starts (clock differences)
CLOCK_SLACK_S = 300
#: deliveries of a save whose item id cannot be learned before it fails
UNNAMED_TRIES = 3

#: The item fields a save's result passes on (PROTOCOL.md: ``item``, what the service
#: returned about it): the scalars pocket-v3-add.txt and /v3/get document. Nested
#: objects (``images``, ``videos``, ``authors``, ``tags`` ...) are left out, and
#: every string is capped, so that a reply stays far under the browsers' 1 MiB.
_URL_FIELDS = frozenset({"given_url", "normal_url", "resolved_url", "amp_url", "top_image_url"})
_TITLE_FIELDS = frozenset({"title", "given_title", "resolved_title"})
_SCALAR_FIELDS = frozenset(
    {
        "item_id",
        "resolved_id",
        "domain_id",
        "origin_domain_id",
        "response_code",
        "mime_type",
        "content_length",
        "encoding",
        "date_resolved",
        "date_published",
        "status",
        "favorite",
        "time_added",
        "time_updated",
        "time_read",
        "time_favorited",
        "word_count",
        "has_image",
        "has_video",
        "is_index",
        "is_article",
        "lang",
        "time_to_read",
        "listen_duration_estimate",
    }
)
URL_CAP = 8192  # a longer url is left out, not cut: a cut url leads nowhere
TITLE_CAP = 2000
EXCERPT_CAP = 500
SCALAR_CAP = 200


@dataclass
class _Planned:
    """One action to send and the writes it answers (a save and the tags_add folded into it)."""

    action: dict[str, Any]
    writes: list[int] = field(default_factory=list)  # indexes into the batch


@dataclass(frozen=True)
class _Answer:
    """How the service answered one action: ``ok`` with ``result``, or ``message``."""

    ok: bool
    result: Any = None
    message: str | None = None


class PocketBackend:
    """The linked Pocket account's side of the outbox."""

    service = "pocket"
    coalesce = True

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.index = ctx.store.items(NAMESPACE)
        self._creds: PocketCredentials | None = None
        self._stamp: tuple[Any, ...] | None = None

    async def aclose(self) -> None:
        return None

    # -- delivery ----------------------------------------------------------------

    async def deliver(self, writes: Sequence[Write]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(writes)
        plan: list[_Planned] = []
        saving: dict[str, _Planned] = {}  # url -> the add of this batch
        # urls saved in this batch with no other write on them since the save: a
        # tags_add folded into the save there changes nothing about the order
        foldable: set[str] = set()
        # urls with a write held back for the next batch: every later write on
        # them is held back too, so that they reach the service in arrival order
        held: set[str] = set()
        for i, write in enumerate(writes):
            payload = write.payload
            url: str = payload.get("url") or ""
            if write.op == "save":
                if url in saving:  # another save of it (other title/tags): after this one
                    outcomes[i] = Defer("another save of this url is in the batch")
                    held.add(url)
                    foldable.discard(url)
                    continue
                planned = _Planned(to_action("save", payload), [i])
                saving[url] = planned
                foldable.add(url)
                plan.append(planned)
                continue
            if write.op in {"tag_rename", "tag_delete"}:
                foldable.clear()  # it may touch any item saved earlier in the batch
            elif write.op in ITEM_OPS and payload.get("item_id"):
                target = self._url_of(str(payload["item_id"])) if saving else None
                if target is not None and target in held:
                    outcomes[i] = Defer("an earlier write on this item waits for the next batch")
                    continue
                if target is not None:
                    foldable.discard(target)
            elif write.op in ITEM_OPS:
                if url in saving:
                    if write.op == "tags_add" and url in foldable:
                        _fold_tags(saving[url].action, payload.get("tags") or [])
                        saving[url].writes.append(i)
                    else:
                        outcomes[i] = Defer()
                        held.add(url)
                        foldable.discard(url)
                    continue
                item_id = self.index.resolve(url)
                if item_id is None:
                    outcomes[i] = Failed(UnknownItem(f"no saved item for {url}"))
                    continue
                payload = {**{k: v for k, v in payload.items() if k != "url"}, "item_id": item_id}
            plan.append(_Planned(to_action(write.op, payload), [i]))

        if plan:
            try:
                client = await self._client()
            except NotLinked as exc:
                for planned in plan:
                    for i in planned.writes:
                        outcomes[i] = Hold(exc)
                plan = []
            except KeyringUnavailable as exc:  # locked, or its service is not running yet
                wait = Retry("unavailable", keyring_message("Pocket", exc))
                for planned in plan:
                    for i in planned.writes:
                        outcomes[i] = wait
                plan = []
            if plan:
                answers = await self._submit(client, [p.action for p in plan])
                if any(isinstance(a, Hold) for a in answers):
                    self._creds = None  # read the keyring again next time
                found = await self._look_up_unnamed(client, plan, answers)
                for planned, answer in zip(plan, answers, strict=True):
                    self._answer(writes, planned, answer, outcomes, found)
        return [o if o is not None else Defer() for o in outcomes]

    async def _look_up_unnamed(
        self, client: PocketClient, plan: list[_Planned], answers: list[_Answer | Outcome]
    ) -> dict[str, PocketItem]:
        """url -> item, for the saves the service answered without describing the item.

        Some services answer an add with ``true`` (``/v3/add`` with no ``item``);
        a save's reply needs the item id, and the index needs it for every later
        edit by url. One ``/v3/get`` of what changed since the send (a little
        earlier, for the service's clock) names them all.
        """
        from tuckaway.services.pocket.client import PocketError

        unnamed = [
            p.action
            for p, a in zip(plan, answers, strict=True)
            if p.action["action"] == "add"
            and isinstance(a, _Answer)
            and a.ok
            and _item_of(a.result) is None
            and self.index.resolve(str(p.action["url"])) is None
        ]
        if not unnamed:
            return {}
        urls = {str(a["url"]) for a in unnamed}
        since = min(int(a["time"]) for a in unnamed) - CLOCK_SLACK_S
        found: dict[str, PocketItem] = {}
        offset = 0
        try:
            for _ in range(LOOKUP_PAGES):
                listing = await client.get(
                    state="all",
                    detailType="simple",
                    since=since,
                    sort="newest",
                    count=SYNC_PAGE,
                    offset=offset,
                )
                for item in listing.list.values():
                    if item.status == 2:  # deleted
                        continue
                    for url in (item.given_url, item.normal_url, item.resolved_url):
                        if url in urls:
                            found.setdefault(url, item)
                if not listing.list or urls <= found.keys():
                    break
                offset += len(listing.list)
        except PocketError as exc:
            log.info("could not list recent changes to name %d saved item(s): %s", len(urls), exc)
        return found

    def _url_of(self, item_id: str) -> str | None:
        """The url the index knows ``item_id`` by (None when it does not know it)."""
        item = self.index.get_item(item_id)
        return item.url if item is not None else None

    async def _client(self) -> PocketClient:
        from tuckaway.services.pocket.client import PocketClient

        creds = self._credentials()
        session = await self.ctx.http()
        return PocketClient.from_credentials(
            session, creds, timeout_s=self.ctx.settings.request_timeout_s
        )

    def _credentials(self) -> PocketCredentials:
        """The linked account's credentials; the keyring is read again only after a new login."""
        row = self.ctx.db.execute(
            "SELECT linked_at, instance, username FROM accounts WHERE service = 'pocket'"
        ).fetchone()
        stamp = tuple(row) if row is not None else None
        if stamp is None or self._creds is None or stamp != self._stamp:
            self._creds = self.ctx.credentials.pocket() if stamp is not None else None
            self._stamp = stamp
        if self._creds is None:
            raise NotLinked("no Pocket account is linked; the write waits for `tuckaway login`")
        return self._creds

    async def _submit(
        self, client: PocketClient, actions: list[dict[str, Any]]
    ) -> list[_Answer | Outcome]:
        """Send ``actions``: one per answer, or the outcome that ended the batch."""
        from tuckaway.services.pocket.client import BadRequest, PocketError

        if len(actions) == 1 and actions[0]["action"] == "add":
            action = actions[0]
            try:
                item = await client.add(
                    action["url"], action.get("title"), action.get("tags", ""), time=action["time"]
                )
            except BadRequest as exc:
                return [_Answer(False, message=exc.message)]
            except PocketError as exc:
                return [_outcome_of(exc)]
            return [_Answer(True, item if item is not None else True)]
        return await self._send(client, actions)

    async def _send(
        self, client: PocketClient, actions: list[dict[str, Any]]
    ) -> list[_Answer | Outcome]:
        from tuckaway.services.pocket.client import BadRequest, PocketError

        try:
            response = await client.send(actions)
        except BadRequest as exc:
            if len(actions) == 1:
                return [_Answer(False, message=exc.message)]
            half = len(actions) // 2
            log.info("pocket refused a batch of %d whole; splitting it", len(actions))
            first = await self._send(client, actions[:half])
            stop = next((a for a in first if not isinstance(a, _Answer)), None)
            if stop is not None:  # not a 400: the rest shares that fate
                return [*first, *([stop] * (len(actions) - half))]
            return [*first, *(await self._send(client, actions[half:]))]
        except PocketError as exc:
            return [_outcome_of(exc)] * len(actions)
        answers: list[_Answer | Outcome] = []
        for n in range(len(actions)):
            ok, result, message = response.outcome(n)
            if ok and n >= len(response.action_results):
                ok, message = False, "the service did not answer this action"
            answers.append(_Answer(ok, result, message))
        return answers

    def _answer(
        self,
        writes: Sequence[Write],
        planned: _Planned,
        answer: _Answer | Outcome,
        outcomes: list[Outcome | None],
        found: Mapping[str, PocketItem],
    ) -> None:
        if not isinstance(answer, _Answer):
            for i in planned.writes:
                outcomes[i] = answer
            return
        if not answer.ok:
            error = ActionFailed(answer.message or "the service rejected this action")
            for i in planned.writes:
                outcomes[i] = Failed(error)
            return
        action = planned.action
        if action["action"] == "add":
            result = self._saved(action, answer.result, found)
            if result is None:  # saved, but nobody says as which item
                outcome = _unnamed(str(action["url"]), writes[planned.writes[0]].attempts)
                for i in planned.writes:
                    outcomes[i] = outcome
                return
            outcomes[planned.writes[0]] = Done(result)
            for i in planned.writes[1:]:  # folded tags_add
                outcomes[i] = Done({"item_id": result["item_id"]})
            return
        self._mirror(action)
        write = writes[planned.writes[0]]
        if write.op in {"tag_rename", "tag_delete"}:
            outcomes[planned.writes[0]] = Done({})
        else:
            outcomes[planned.writes[0]] = Done({"item_id": str(action["item_id"])})

    def _saved(
        self, action: Mapping[str, Any], result: Any, found: Mapping[str, PocketItem]
    ) -> dict[str, Any] | None:
        """Remember a saved item in the index; the save's result (None: no item id known)."""
        url = str(action["url"])
        item = _item_of(result) or found.get(url)
        if item is None:  # `true` without the item: what the index knows, if anything
            known = self.index.lookup(url)
            if known is None:
                return None
            self._index_tags(known.item_id, action)
            return {"item_id": known.item_id, "url": url, "item": trim_item(known.to_pocket())}
        data = item.to_store()
        data["given_url"] = url  # the index answers by the url the browser saved
        if action.get("title"):
            data.setdefault("given_title", action["title"])
        data.pop("tags", None)  # an add answer lists the item's tags seldom and loosely
        try:
            self.index.remember(data)
        except StoreError as exc:
            log.warning("could not index saved item %s: %s", item.item_id, exc.message)
        self._index_tags(item.item_id, action)
        return {"item_id": item.item_id, "url": url, "item": trim_item(item.model_dump())}

    def _index_tags(self, item_id: str, action: Mapping[str, Any]) -> None:
        """The tags a save sent (its own and folded ``tags_add``) go into the index too."""
        if not action.get("tags"):
            return
        try:
            self.index.apply({"action": "tags_add", "item_id": item_id, "tags": action["tags"]})
        except StoreError as exc:
            log.warning("could not index the tags of item %s: %s", item_id, exc.message)

    def _mirror(self, action: Mapping[str, Any]) -> None:
        """Apply a delivered action to the index too (lookup answers from it)."""
        try:
            self.index.apply(action)
        except StoreError:
            log.debug("index does not know the target of %s", action.get("action"))


def trim_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """The documented scalar fields of a service's item, strings capped (see ``_URL_FIELDS``)."""
    out: dict[str, Any] = {}
    for key, value in item.items():
        if value is None or isinstance(value, Mapping | list):
            continue
        if not isinstance(value, str):
            if key in _SCALAR_FIELDS and isinstance(value, bool | int | float):
                out[key] = value
            continue
        if key in _URL_FIELDS:
            if len(value) <= URL_CAP:
                out[key] = value
        elif key in _TITLE_FIELDS:
            out[key] = _cap(value, TITLE_CAP)
        elif key == "excerpt":
            out[key] = _cap(value, EXCERPT_CAP)
        elif key in _SCALAR_FIELDS:
            out[key] = _cap(value, SCALAR_CAP)
    return out


def _cap(text: str, cap: int) -> str:
    return text if len(text) <= cap else text[: cap - 1].rstrip() + "\u2026"


def _item_of(result: Any) -> PocketItem | None:
    """The item an add's answer describes, if it describes one."""
    from pydantic import ValidationError

    from tuckaway.services.pocket.client import PocketItem

    if isinstance(result, PocketItem):
        return result
    if isinstance(result, Mapping) and result.get("item_id") not in (None, ""):
        try:
            return PocketItem.model_validate(result)
        except ValidationError:
            return None
    return None


def _unnamed(url: str, attempts: int) -> Outcome:
    """A save the service accepted without ever saying which item it is.

    Never answered ok with an empty ``item_id``: asked again a few times (an
    add is safe to repeat, and a listing may lag behind), then failed with what
    to do.
    """
    said = f"the service saved {url} but did not say its item id, and its list does not show it"
    if attempts + 1 < UNNAMED_TRIES:
        return Retry("unavailable", f"{said} yet; asking again")
    return Failed(
        ActionFailed(f"{said}: run `tuckaway sync`, then look the page up or edit it again")
    )


def _fold_tags(action: dict[str, Any], tags: Sequence[str]) -> None:
    have = [t for t in str(action.get("tags") or "").split(",") if t]
    for tag in tags:
        if tag not in have:
            have.append(tag)
    if have:
        action["tags"] = ",".join(have)


def _outcome_of(exc: PocketError) -> Outcome:
    """What a whole-request error means for the writes in it."""
    from tuckaway.services.pocket.client import (
        BadRequest,
        PermissionDenied,
        PocketAuthFailed,
        PocketRateLimited,
    )

    if isinstance(exc, PocketAuthFailed | PermissionDenied):
        return Hold(exc)
    if isinstance(exc, PocketRateLimited):
        return Retry("rate_limited", exc.message, exc.retry_after)
    if isinstance(exc, BadRequest):
        return Failed(exc)
    return Retry("unavailable", exc.message)


def create(ctx: Context) -> PocketBackend:
    return PocketBackend(ctx)


# -- sync ----------------------------------------------------------------------


def _since_key(creds: PocketCredentials) -> str:
    return f"pocket_since:{creds.base_url}|{creds.username}"


async def sync(ctx: Context, full: bool = False, **_: Any) -> dict[str, Any]:
    """``/v3/get?since=`` into the index: what changed since the last sync (all, the first time).

    ``full`` lists everything again (and drops from the index what the
    service no longer has).

    Returns counts: ``added``, ``updated``, ``deleted``, and ``full`` (whether
    this was a full listing) and ``since`` (the service's clock, kept for next time).
    """
    from tuckaway import db
    from tuckaway.services.pocket.client import PocketClient

    creds = ctx.credentials.pocket()
    if creds is None:
        raise NotLinked("no Pocket account is linked")
    client = PocketClient.from_credentials(
        await ctx.http(), creds, timeout_s=ctx.settings.request_timeout_s
    )
    index = ctx.store.items(NAMESPACE)
    key = _since_key(creds)
    raw_since = db.get_meta(ctx.db, key)
    since = int(raw_since) if raw_since and raw_since.isdigit() and not full else None
    counts = {"added": 0, "updated": 0, "deleted": 0}
    seen: set[str] = set()
    new_since: int | None = None
    offset = 0
    while True:
        answer = await client.get(
            state="all",
            detailType="complete",
            since=since,
            count=SYNC_PAGE,
            offset=offset,
            sort="oldest",
        )
        if new_since is None:
            new_since = answer.since
        fresh = [i for i in answer.list.values() if i.item_id not in seen]
        for item in fresh:
            seen.add(item.item_id)
            _index_one(index, item, counts)
        # services cap ``count`` (Pocket itself at 30): page on until a page brings nothing new
        if not fresh:
            break
        offset += len(answer.list)
    if since is None:  # a full listing: what it lacks is gone from the service
        for row in ctx.db.execute(
            "SELECT item_id FROM items WHERE ns = ? AND status != 2", (NAMESPACE,)
        ).fetchall():
            if str(row[0]) not in seen:
                index.forget(str(row[0]))
                counts["deleted"] += 1
    if new_since is not None:
        db.set_meta(ctx.db, key, str(new_since))
    log.info("pocket sync (%s): %s", "full" if since is None else f"since {since}", counts)
    return {**counts, "full": since is None, "since": new_since}


def _index_one(index: Any, item: PocketItem, counts: dict[str, int]) -> None:
    known = index.get_item(item.item_id)
    if item.status == 2:
        if known is not None:
            index.forget(item.item_id)
            counts["deleted"] += 1
        return
    try:
        index.remember(item.to_store())
    except StoreError as exc:  # no url: nothing to index it by
        log.debug("sync skipped item %s: %s", item.item_id, exc.message)
        return
    counts["updated" if known is not None else "added"] += 1
