"""Protocol writes as Pocket ``/v3/send`` actions.

The one mapping from a PROTOCOL.md op and its payload to Pocket's action
object (parameter names, comma-joined tags); the local backend applies these
to the store and the Pocket backend sends them.
"""

from __future__ import annotations

import time
from typing import Any

from tuckaway.wire.protocol import ITEM_OPS, LIST_OPS

#: Pocket's ``/v3/send`` action names for the reading list's writes: the op names, but ``add``
ACTIONS = frozenset("add" if op == "save" else op for op in LIST_OPS)
#: the actions on one item (named by item_id or url)
ITEM_ACTIONS = ITEM_OPS


def to_action(op: str, payload: dict[str, Any], now: int | None = None) -> dict[str, Any]:
    """The Pocket action for one write; ``url`` stays when no ``item_id`` is known."""
    action: dict[str, Any] = {"action": "add" if op == "save" else op}
    for key in ("item_id", "url", "old_tag", "new_tag", "tag"):
        if payload.get(key) is not None:
            action[key] = payload[key]
    title = payload.get("title")
    if title and title.strip():  # Pocket refuses a whole batch for one empty title
        action["title"] = title
    tags = [t for t in payload.get("tags") or () if t.strip()]  # nor may a tag be empty
    if tags:
        action["tags"] = ",".join(tags)
    action["time"] = str(now if now is not None else int(time.time()))
    return action
