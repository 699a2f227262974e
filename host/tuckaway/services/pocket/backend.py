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
  successful write and every :func:`sync` keep current; a url the index does
  not know yet (its save went out in another batch) is sent as it is, since
  Pocket takes ``url`` on item actions;
* a ``tag_rename``/``tag_delete`` after a write that waits for the next batch
  waits too, with every write after it: the rename must not overtake an
  earlier tag change on an item.

A save's result carries the service's item trimmed to its documented scalar
fields (:func:`trim_item`), never nested lists of images, videos or authors.

A save the service answers without its item (``true``, or ``/v3/add`` with no
``item``) learns its ``item_id`` from one ``/v3/get`` of what changed since the
send; one that cannot be named that way is asked again, then fails: a save is
never answered ok with an empty ``item_id``.

A batch refused whole with HTTP 400 because of one action (``X-Error-Code``
130, as Pocket's validators said, or no code) is split in halves until the bad
action is alone: it fails, the others go through. A 400 about the request
itself (a missing consumer key, 138, and the like) fails the batch at once:
halving it would only repeat the error, call after call. 401 holds the writes until the next
login; rate limits, 5xx, timeouts, connection errors and a keyring that cannot
be read (locked, its service not started yet) retry later.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tuckaway import db
from tuckaway.accounts.credentials import KeyringUnavailable, keyring_message
from tuckaway.errors import ActionFailed, NotLinked, TuckawayError, UnknownItem
from tuckaway.services.base import Defer, Done, Failed, Hold, Outcome, Retry, Write
from tuckaway.services.pocket.actions import to_action
from tuckaway.services.pocket.items import item_of, trim_item
from tuckaway.store import StoreError
from tuckaway.urls import url_key

# The client (its pydantic models, aiohttp) is imported where it is used, not here:
# this module loads when the first write arrives, inside that write's batching
# window, and a slow import there would send the burst in pieces.
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

_ITEM_OPS = ITEM_OPS
#: X-Error-Code values of a 400 that blames one action (Pocket's validators said 130),
#: and None: a service that sends no code may mean either, so the batch is split
_ACTION_LEVEL_CODES = frozenset({"130", None})


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
        plan = self._plan(writes, outcomes)
        if plan:
            await self._submit(writes, plan, outcomes)
        return [o if o is not None else Defer() for o in outcomes]

    def _plan(self, writes: Sequence[Write], outcomes: list[Outcome | None]) -> list[_Planned]:
        """The actions to send for ``writes``; what is settled without sending (deferred,
        failed) goes into ``outcomes``."""
        plan: list[_Planned] = []
        saving: dict[str, _Planned] = {}  # url -> the add of this batch
        # urls saved in this batch with no other write on them since the save: a
        # tags_add folded into the save there changes nothing about the order
        foldable: set[str] = set()
        # urls with a write held back for the next batch: every later write on
        # them is held back too, so that they reach the service in arrival order
        held: set[str] = set()
        # a tag_rename/tag_delete held back (behind a held item write it may touch):
        # every later write waits too, since any of them may touch that tag
        barrier = False
        for i, write in enumerate(writes):
            payload = write.payload
            url: str = payload.get("url") or ""
            if barrier:
                outcomes[i] = Defer("an earlier tag rename or delete waits for the next batch")
                continue
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
                if held:
                    outcomes[i] = Defer(
                        "an earlier write on a tagged item waits for the next batch"
                    )
                    barrier = True
                    continue
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
                if item_id is not None:
                    payload = {**{k: v for k, v in payload.items() if k != "url"}}
                    payload["item_id"] = item_id
                # else the index does not know it yet (its save went in another batch
                # that has not answered): Pocket takes the url on item actions too
            plan.append(_Planned(to_action(write.op, payload), [i]))
        return plan

    async def _submit(
        self, writes: Sequence[Write], plan: list[_Planned], outcomes: list[Outcome | None]
    ) -> None:
        """Send the planned actions and put each write's outcome into ``outcomes``."""
        try:
            client = await self._client()
        except NotLinked as exc:
            _settle(plan, outcomes, Hold(exc))
            return
        except KeyringUnavailable as exc:  # locked, or its service is not running yet
            _settle(plan, outcomes, Retry("unavailable", keyring_message("Pocket", exc)))
            return
        answers = await self._call(client, [p.action for p in plan])
        if any(isinstance(a, Hold) for a in answers):
            self._creds = None  # read the keyring again next time
        found = await self._look_up_unnamed(client, plan, answers)
        for planned, answer in zip(plan, answers, strict=True):
            self._answer(writes, planned, answer, outcomes, found)

    async def _look_up_unnamed(
        self, client: PocketClient, plan: list[_Planned], answers: list[_Answer | Outcome]
    ) -> dict[str, PocketItem]:
        """url -> item, for the saves the service answered without describing the item
        (and the item actions sent by url, whose answer is only ``true``).

        Some services answer an add with ``true`` (``/v3/add`` with no ``item``);
        a save's reply needs the item id, and the index needs it for every later
        edit by url. One ``/v3/get`` of what changed since the send (a little
        earlier, for the service's clock) names them all.
        """
        unnamed = [
            p.action
            for p, a in zip(plan, answers, strict=True)
            if "url" in p.action
            and "item_id" not in p.action
            and isinstance(a, _Answer)
            and a.ok
            and item_of(a.result) is None
            and self.index.resolve(str(p.action["url"])) is None
        ]
        if not unnamed:
            return {}
        urls = {str(a["url"]) for a in unnamed}
        since = min(int(a["time"]) for a in unnamed) - CLOCK_SLACK_S
        return await _recently_saved(client, urls, since)

    async def already_delivered(self, writes: Sequence[Write], since: float) -> dict[int, Outcome]:
        """The saves among ``writes`` that the service has although their answer was lost.

        An earlier attempt handed them to the service at ``since`` and the host
        died (or gave up) before the answer: those the service lists among its
        changes since then are done, with the item it has, and not sent again.
        """
        saves = {
            str(w.payload["url"]): w for w in writes if w.op == "save" and w.payload.get("url")
        }
        if not saves:
            return {}
        found = await _recently_saved(await self._client(), set(saves), int(since) - CLOCK_SLACK_S)
        done: dict[int, Outcome] = {}
        for url, item in found.items():
            write = saves[url]
            if not set(write.payload.get("tags") or []) <= set(item.tag_names):
                continue  # another save of the url changed it, not this one: send this one
            action = {k: write.payload.get(k) for k in ("title", "tags")} | {"url": url}
            result = self._saved(action, None, {url: item})
            if result is not None:
                done[write.entry_id] = Done(result)
        log.info("pocket: %d of %d save(s) sent before had arrived", len(done), len(saves))
        return done

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

    async def _call(
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
            if len(actions) == 1 or exc.error_code not in _ACTION_LEVEL_CODES:
                # about the request itself (key, token, body): halving would only repeat it
                return [_Answer(False, message=exc.message)] * len(actions)
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
            message = answer.message or "the service rejected this action"
            error: TuckawayError = ActionFailed(message)
            if _by_url_only(planned.action):  # neither the index nor the service knows it
                error = UnknownItem(f"no saved item for {planned.action['url']}: {message}")
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
        write = writes[planned.writes[0]]
        if write.op in {"tag_rename", "tag_delete"}:
            self._mirror(action)
            outcomes[planned.writes[0]] = Done({})
            return
        item_id = action.get("item_id")
        if item_id is None:  # sent by url: the listing or the index names it
            listed = found.get(str(action["url"]))
            item_id = listed.item_id if listed is not None else self.index.resolve(action["url"])
        if item_id is not None:
            self._mirror({**{k: v for k, v in action.items() if k != "url"}, "item_id": item_id})
        outcomes[planned.writes[0]] = Done({"item_id": str(item_id or "")})

    def _saved(
        self, action: Mapping[str, Any], result: Any, found: Mapping[str, PocketItem]
    ) -> dict[str, Any] | None:
        """Remember a saved item in the index; the save's result (None: no item id known)."""
        url = str(action["url"])
        item = item_of(result) or found.get(url)
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


async def _recently_saved(
    client: PocketClient, urls: set[str], since: int
) -> dict[str, PocketItem]:
    """url -> the live item the service saved under it (in any spelling) since ``since``.

    One ``/v3/get`` of what changed since then, newest first, at most
    ``LOOKUP_PAGES`` pages; a failure finds nothing (the caller sends again).
    """
    from tuckaway.services.pocket.client import PocketError

    wanted = {url_key(url): url for url in urls}
    found: dict[str, PocketItem] = {}
    offset = 0
    try:
        for _ in range(LOOKUP_PAGES):
            listing = await client.get(
                state="all",
                detailType="complete",  # with tags: whether they are a save's
                since=since,
                sort="newest",
                count=SYNC_PAGE,
                offset=offset,
            )
            for item in listing.list.values():
                if item.status == 2:  # deleted
                    continue
                for url in (item.given_url, item.normal_url, item.resolved_url):
                    key = url_key(url) if url else ""
                    if key in wanted:
                        found.setdefault(wanted[key], item)
            if not listing.list or len(found) == len(wanted):
                break
            offset += len(listing.list)
    except PocketError as exc:
        log.info("could not list recent changes to find %d saved item(s): %s", len(urls), exc)
    return found


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


def _by_url_only(action: Mapping[str, Any]) -> bool:
    """An item action sent by ``url`` because the index had no ``item_id`` for it."""
    return action["action"] in _ITEM_OPS and "item_id" not in action


def _settle(plan: Sequence[_Planned], outcomes: list[Outcome | None], outcome: Outcome) -> None:
    """The same outcome for every write of every planned action."""
    for planned in plan:
        for i in planned.writes:
            outcomes[i] = outcome


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
        if answer.since:  # the newest of all pages; 0 or none says nothing
            new_since = max(new_since or 0, answer.since)
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
