"""The single owner of writes in a process: records them, wakes the workers, answers.

``enqueue`` records writes in the outbox (one commit for all of them) and
wakes the worker of each write's service; ``release_held`` lets the writes
held for want of a sign-in go again. Nothing else adds rows to the outbox or
wakes a worker. One :class:`~tuckaway.delivery.worker.Worker` per service
delivers; the waiting callers are answered once outcomes are committed, here
or (polled) by another host process that shares the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from tuckaway.articles import Articles
from tuckaway.context import BACKENDS, Context
from tuckaway.db import transaction
from tuckaway.delivery.outbox import Entry
from tuckaway.delivery.waiters import EventSink, Final, Waiters
from tuckaway.delivery.wake import WakeChannel
from tuckaway.delivery.worker import (
    MAX_INTERNAL_ATTEMPTS,
    POLL_S,
    JoinedBackend,
    Settled,
    Worker,
    backoff_delay,
    joins_commit,
)
from tuckaway.errors import ActionFailed, TuckawayError

__all__ = [
    "MAX_INTERNAL_ATTEMPTS",
    "Batcher",
    "Final",
    "NewWrite",
    "Queued",
    "backoff_delay",
    "submit",
]

#: every service with a backend: their writes left by earlier processes are drained at start
SERVICES = tuple(BACKENDS)


@dataclass(frozen=True)
class NewWrite:
    """A write to record: its op, its payload as stored, and who hears its events."""

    op: str
    payload: dict[str, Any]
    on_event: EventSink | None = None
    #: a save's copy of the page: kept in the same commit, never in the outbox row
    article: dict[str, Any] | None = None


@dataclass(frozen=True)
class Queued:
    """A recorded write: its outbox row, and the future its outcome settles."""

    entry_id: int
    future: asyncio.Future[Final]


class Batcher:
    """The delivery side of the outbox for one process."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.outbox = ctx.outbox
        self.waiters = Waiters()
        self._workers: dict[str, Worker] = {}
        self._poll_task: asyncio.Task[None] | None = None
        self.flush_now = False
        self._wake: WakeChannel | None = None

    # -- writes --------------------------------------------------------------

    def enqueue(self, writes: Sequence[NewWrite]) -> list[Queued]:
        """Record ``writes`` durably in one commit, then wake their services' workers.

        Writes to the local list are delivered in that same commit (the outbox
        rows, the list's change and the outcomes together) unless older local
        writes still wait: then the worker keeps their order. Raises what the
        database raised if the writes could not be recorded: then none of them
        is. Each returned future settles with the write's outcome.
        """
        # one look at the linked accounts per op, not per write
        service_of = {op: self.ctx.service_for(op) for op in {w.op for w in writes}}
        rows = [(service_of[w.op], w.op, w.payload) for w in writes]
        joined = {s for s, _, _ in rows if self._joins_commit(s)}
        settled: list[tuple[Worker, Settled]] = []
        by_service: dict[str, list[int]] = {}
        with transaction(self.outbox.conn):
            for write in writes:
                if write.article is not None:
                    Articles(self.outbox.conn).put(write.payload["url"], write.article)
            ids = self.outbox.add_many(rows, leased=joined, lease_s=self.ctx.settings.lease_s)
            for (service, _, _), entry_id in zip(rows, ids, strict=True):
                by_service.setdefault(service, []).append(entry_id)
            for service in joined:
                done = self._deliver_now(service, by_service[service], rows, ids)
                if done is not None:
                    settled.append(done)
                    del by_service[service]
        queued = [
            Queued(entry_id, self.waiters.add(entry_id, write.on_event))
            for write, entry_id in zip(writes, ids, strict=True)
        ]
        for worker, outcome in settled:
            worker.notify(outcome)
        for service, kicked in by_service.items():
            self._worker(service).kick(kicked)
        if by_service:
            self._ensure_poll()
            self._tell_others({"new": {s: len(i) for s, i in by_service.items()}})
        return queued

    def _joins_commit(self, service: str) -> bool:
        try:
            return joins_commit(self.ctx.backend(service))
        except Exception:  # the worker logs why the backend cannot start
            return False

    def _deliver_now(
        self,
        service: str,
        entry_ids: list[int],
        rows: list[tuple[str, str, dict[str, Any]]],
        ids: list[int],
    ) -> tuple[Worker, Settled] | None:
        """Deliver ``service``'s new rows in the open transaction, if nothing older waits."""
        if self.outbox.undelivered_before(service, entry_ids[0]):
            self.outbox.release(entry_ids)  # the worker delivers them after the older ones
            return None
        backend = cast("JoinedBackend", self.ctx.backend(service))
        worker = self._worker(service)
        mine = set(entry_ids)
        entries = [
            Entry.new(entry_id, *row)
            for row, entry_id in zip(rows, ids, strict=True)
            if entry_id in mine
        ]
        outcome = worker.deliver_now(backend, entries)
        return None if outcome is None else (worker, outcome)

    def release_held(self, service: str) -> int:
        """After a sign-in: ``service``'s held writes are due again and go; how many."""
        released = self.outbox.release_held(service)
        if released:
            self._worker(service).kick(released)
            self._tell_others({"new": {service: len(released)}})
        return len(released)

    def wait(self, entry_id: int, on_event: EventSink | None = None) -> asyncio.Future[Final]:
        """A future for the outcome of a row already in the outbox (this process's or not)."""
        future = self.waiters.add(entry_id, on_event)
        self._ensure_poll()
        return future

    def start(self, services: Sequence[str] = SERVICES) -> None:
        """Drain what earlier processes left (entries due now) for ``services``; listen."""
        self.listen()
        for service in services:
            if self.outbox.next_due(service) is not None:
                self._worker(service).wake()

    def _worker(self, service: str) -> Worker:
        worker = self._workers.get(service)
        if worker is None or worker.task.done():
            worker = Worker(
                self.ctx,
                self.waiters,
                service,
                lambda: self.flush_now,
                lambda: self._tell_others({"settled": True}),
            )
            self._workers[service] = worker
        return worker

    # -- other host processes on the database --------------------------------

    def _tell_others(self, message: dict[str, Any]) -> None:
        self.listen()
        assert self._wake is not None
        self._wake.send(message)

    def listen(self) -> None:
        """Hear the other host processes at once (their new writes, their outcomes)."""
        if self._wake is None:
            self._wake = WakeChannel(
                self.ctx.settings.paths.data_dir / "wake", self.ctx.owner, self._heard
            )
            self._wake.open()

    def _heard(self, message: dict[str, Any]) -> None:
        new = message.get("new")
        if isinstance(new, dict):
            for service, count in new.items():
                if service in SERVICES and isinstance(count, int) and count > 0:
                    self._worker(service).kick_elsewhere(count)
        if message.get("settled") and self.waiters:
            self._answer_settled_elsewhere()

    # -- outcomes settled elsewhere ------------------------------------------

    def _ensure_poll(self) -> None:
        if self._poll_task is None or self._poll_task.done():
            self._poll_task = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        """Answer waiters whose writes another host process settled, or a user dropped.

        The other process says so at once (``_heard``); this poll is for a
        wake-up that did not arrive, and for ``tuckaway queue drop``.
        """
        while self.waiters:
            await asyncio.sleep(POLL_S)
            self._answer_settled_elsewhere()

    def _answer_settled_elsewhere(self) -> None:
        busy = {i for w in self._workers.values() for i in w.inflight}
        ids = [i for i in self.waiters.ids() if i not in busy]
        found = self.outbox.get(ids)
        for entry_id in ids:
            entry = found.get(entry_id)
            final = _dropped() if entry is None else _final_of(entry)
            if final is not None:
                self.waiters.resolve([entry_id], final)

    # -- shutdown ------------------------------------------------------------

    async def finish(self, timeout_s: float) -> None:
        """EOF: flush at once, wait (bounded) for in-flight and due writes, then stop."""
        self.flush_now = True
        deadline = time.monotonic() + timeout_s
        for worker in list(self._workers.values()):
            worker.wake()
        while time.monotonic() < deadline:
            now = time.time()
            busy = any(w.delivering for w in self._workers.values())
            due = any(
                (nd := self.outbox.next_due(s)) is not None and nd <= now for s in self._workers
            )
            if not busy and not due:
                break
            await asyncio.sleep(0.02)
        await self.aclose()

    async def aclose(self) -> None:
        tasks = [w.task for w in self._workers.values()]
        if self._poll_task is not None:
            tasks.append(self._poll_task)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._workers.clear()
        if self._wake is not None:
            self._wake.close()
            self._wake = None


def _dropped() -> Final:
    """The answer to a write that ``tuckaway queue drop`` removed while its caller waited."""
    return Final(error=ActionFailed("the write was dropped from the queue (tuckaway queue drop)"))


def _final_of(entry: Entry) -> Final | None:
    if entry.state == "done":
        return Final(result=entry.result or {})
    if entry.state in {"failed", "held"} and entry.last_error:
        return Final(error=TuckawayError.from_wire(entry.last_error))
    return None


async def submit(
    ctx: Context, writes: list[tuple[str, dict[str, Any]]], timeout_s: float
) -> list[Final | None]:
    """Record ``(op, payload)`` writes and deliver them through the normal path.

    For command-line use: the writes coalesce like a burst from the browser.
    Returns one :class:`Final` per write, or ``None`` for a write still queued
    (being retried) when ``timeout_s`` ran out; it stays in the outbox.
    """
    batcher = Batcher(ctx)
    futures = [q.future for q in batcher.enqueue([NewWrite(op, p) for op, p in writes])]
    try:
        await asyncio.wait(futures, timeout=timeout_s)
    finally:
        await batcher.aclose()
    return [f.result() if f.done() else None for f in futures]
