"""The seam between the protocol layer and the services that do the work.

Every write (PROTOCOL.md "W" ops) is first stored in the outbox; the batcher
claims due entries, hands them to the backend of their ``service`` in one call
to :meth:`Backend.deliver`, and applies the outcomes (reply, retry later, keep
held until the next login). A backend never touches the outbox or the port.

Backends are looked up by service name through :class:`tuckaway.context.Context`;
the protocol layer never imports one by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from tuckaway.errors import TuckawayError

JSON = dict[str, Any]


@dataclass(frozen=True)
class Write:
    """One outbox entry as a backend sees it.

    ``op`` is the PROTOCOL.md op name (``save``, ``archive``, ``tags_add``,
    ``bookmark`` ...); ``payload`` is the validated request without ``id`` and
    ``op`` (``url``/``item_id``/``tags`` (a list)/``title``/``status_url`` ...).
    """

    entry_id: int
    op: str
    payload: JSON
    attempts: int = 0


@dataclass(frozen=True)
class Done:
    """Delivered; ``result`` is the reply's ``result`` object."""

    result: JSON


@dataclass(frozen=True)
class Failed:
    """Final failure of this one write (``action_failed``, ``unknown_item``, ``not_found`` ...)."""

    error: TuckawayError


@dataclass(frozen=True)
class Retry:
    """Try again later; the caller gets a ``retrying`` event meanwhile."""

    reason: Literal["unavailable", "rate_limited"]
    message: str
    retry_after: float | None = None  # seconds; None means exponential backoff


@dataclass(frozen=True)
class Hold:
    """Keep the write queued until the account is linked again (401); reply with ``error``."""

    error: TuckawayError


@dataclass(frozen=True)
class Defer:
    """Not now: send it in the next batch (it waits for a save in this batch)."""

    why: str = "waits for a save in the same batch"


Outcome = Done | Failed | Retry | Hold | Defer


class Backend(Protocol):
    """A service that delivers writes. ``deliver`` returns one outcome per write, in order."""

    #: outbox service name: "local", "pocket" or "mastodon"
    service: str
    #: whether writes wait for quiet time / max delay / max actions (PROTOCOL.md 4)
    coalesce: bool

    async def deliver(self, writes: Sequence[Write]) -> list[Outcome]: ...

    async def aclose(self) -> None: ...


@dataclass
class BatchPolicy:
    """When a coalescing backend's batch is flushed (PROTOCOL.md section 4)."""

    quiet_s: float = 0.3
    max_delay_s: float = 1.5
    max_actions: int = 100
    extra: dict[str, Any] = field(default_factory=dict)
