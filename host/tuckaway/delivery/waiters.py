"""The callers waiting for their writes: one future (and an event sink) per outbox row.

The batcher registers a waiter when it records a write; the workers settle it
(``resolve``) or tell it of a delay (``tell``) once the outcome is committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tuckaway.errors import TuckawayError

EventSink = Callable[[dict[str, Any]], None]


@dataclass
class Final:
    """How a waiting request ends: a result or an error."""

    result: dict[str, Any] | None = None
    error: TuckawayError | None = None


@dataclass
class _Waiter:
    future: asyncio.Future[Final]
    on_event: EventSink | None = None


class Waiters:
    """Entry id -> the callers waiting for it, in this process."""

    def __init__(self) -> None:
        self._by_id: dict[int, list[_Waiter]] = {}

    def __bool__(self) -> bool:
        return bool(self._by_id)

    def ids(self) -> list[int]:
        return list(self._by_id)

    def add(self, entry_id: int, on_event: EventSink | None = None) -> asyncio.Future[Final]:
        future: asyncio.Future[Final] = asyncio.get_running_loop().create_future()
        self._by_id.setdefault(entry_id, []).append(_Waiter(future, on_event))
        return future

    def resolve(self, entry_ids: Iterable[int], final: Final) -> None:
        """The writes ``entry_ids`` are settled: answer and forget their callers."""
        for entry_id in entry_ids:
            for waiter in self._by_id.pop(entry_id, []):
                if not waiter.future.done():
                    waiter.future.set_result(final)

    def tell(self, entry_ids: Iterable[int], event: dict[str, Any]) -> None:
        """Send ``event`` (``retrying``) to the callers of ``entry_ids``; they keep waiting."""
        for entry_id in entry_ids:
            for waiter in self._by_id.get(entry_id, []):
                if waiter.on_event is not None:
                    waiter.on_event(event)
