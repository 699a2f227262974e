"""What the wallabag and Readeck backends share: the account check before a
batch, what a failed call means for the writes not yet answered, and the
host's index of the account (one store namespace per service), kept in step
with every delivered write.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from tuckaway.accounts.credentials import KeyringUnavailable, keyring_message
from tuckaway.articles import Articles, Stored
from tuckaway.errors import NotLinked
from tuckaway.services.base import Defer, Hold, Outcome, Retry, Write
from tuckaway.services.pocket.actions import to_action
from tuckaway.services.rest import ServiceError, outcome_of
from tuckaway.store import ItemList, StoreError

if TYPE_CHECKING:
    from tuckaway.context import Context

log = logging.getLogger(__name__)

C = TypeVar("C")


class Stop(Exception):
    """A call failed in a way that ends the batch (auth, rate limit, service down)."""

    def __init__(self, error: ServiceError) -> None:
        super().__init__(error.message)
        self.error = error


class ListBackend(Generic[C]):
    """A self-hosted list service's side of the outbox; subclasses name ``service``,
    ``label`` (for messages) and implement :meth:`client` and :meth:`run`."""

    service = ""
    label = ""
    coalesce = True

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.index: ItemList = ctx.store.items(self.service)

    async def aclose(self) -> None:
        return None

    def kept(self, url: str) -> Stored | None:
        """The page kept with the save of ``url``: its html goes instead of a fetch."""
        return Articles(self.ctx.db).get(url)

    def forget_deleted(self, item_id: str) -> None:
        """A delete the service has done: the item leaves the index, its kept copy goes."""
        item = self.index.get_item(item_id)
        self.index.forget(item_id)
        if item is not None:
            Articles(self.ctx.db).forget(item.url)

    async def client(self) -> C:
        raise NotImplementedError

    async def run(self, client: C, writes: Sequence[Write], out: list[Outcome | None]) -> None:
        """Fill ``out``; raise :class:`Stop` (or a stopping ServiceError) to end the batch."""
        raise NotImplementedError

    async def deliver(self, writes: Sequence[Write]) -> list[Outcome]:
        try:
            client = await self.client()
        except NotLinked as exc:
            return [Hold(exc)] * len(writes)
        except KeyringUnavailable as exc:  # locked, or its service is not running yet
            return [Retry("unavailable", keyring_message(self.label, exc))] * len(writes)
        outcomes: list[Outcome | None] = [None] * len(writes)
        try:
            await self.run(client, writes, outcomes)
        except (Stop, ServiceError) as exc:  # what was answered stays answered
            rest = outcome_of(exc.error if isinstance(exc, Stop) else exc)
            outcomes = [o if o is not None else rest for o in outcomes]
        return [o if o is not None else Defer() for o in outcomes]

    def mirror(self, write: Write, target: str | None) -> None:
        """Apply a delivered write to the index (``target``: the item it named, if any)."""
        payload: dict[str, Any] = dict(write.payload)
        if target is not None:
            payload = {k: v for k, v in payload.items() if k != "url"} | {"item_id": target}
        try:
            if write.op == "delete" and target is not None:
                self.forget_deleted(target)
            else:
                self.index.apply(to_action(write.op, payload))
        except StoreError:
            log.debug("the %s index could not apply %s", self.service, write.op)
