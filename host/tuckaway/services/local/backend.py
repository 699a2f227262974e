"""The embedded local list: writes applied to SQLite at once, no account needed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tuckaway.db import transaction
from tuckaway.errors import ActionFailed, UnknownItem
from tuckaway.services.base import Done, Failed, Outcome, Write
from tuckaway.services.pocket.actions import to_action
from tuckaway.store import StoreError
from tuckaway.urls import url_key

if TYPE_CHECKING:
    from tuckaway.context import Context

NAMESPACE = "local"


class LocalBackend:
    """Delivers to the ``local`` namespace of the store, all writes of a batch in one commit."""

    service = "local"
    coalesce = False
    #: writes go to the host's own database: the batcher records outcomes in the same commit
    shares_database = True

    def __init__(self, ctx: Context) -> None:
        self._items = ctx.store.items(NAMESPACE)
        self._conn = ctx.db

    async def deliver(self, writes: Sequence[Write]) -> list[Outcome]:
        return self.deliver_now(writes)

    def deliver_now(self, writes: Sequence[Write]) -> list[Outcome]:
        """Apply ``writes`` at once, inside the caller's transaction if one is open.

        The batcher records a local write, applies it and records its outcome
        in one commit this way.
        """
        outcomes: list[Outcome] = []
        with transaction(self._conn):
            for write in writes:
                outcomes.append(self._one(write))
        return outcomes

    def _one(self, write: Write) -> Outcome:
        action = to_action(write.op, write.payload)
        self._conn.execute("SAVEPOINT one")
        try:
            result = self._items.apply(action)
        except StoreError as exc:
            self._conn.execute("ROLLBACK TO one")
            self._conn.execute("RELEASE one")
            if exc.code == 404:
                target = write.payload.get("url") or write.payload.get("item_id")
                return Failed(UnknownItem(f"no saved item for {target}"))
            return Failed(ActionFailed(exc.message))
        self._conn.execute("RELEASE one")
        if write.op == "save":
            assert isinstance(result, dict)
            return Done({"item_id": result["item_id"], "url": write.payload["url"], "item": result})
        if write.op in {"tag_rename", "tag_delete"}:
            return Done({})
        item_id = write.payload.get("item_id") or self._items.resolve(write.payload["url"])
        if item_id is None:  # deleted by this very action: report the id it had
            row = self._conn.execute(
                "SELECT item_id FROM items WHERE ns = ? AND url_key = ?",
                (NAMESPACE, url_key(write.payload["url"])),
            ).fetchone()
            item_id = row[0] if row else ""
        return Done({"item_id": str(item_id)})

    async def aclose(self) -> None:
        return None


def create(ctx: Context) -> LocalBackend:
    return LocalBackend(ctx)
