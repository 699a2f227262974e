"""Claims due writes from the outbox, coalesces them, delivers, applies outcomes.

One worker per service. A coalescing service (Pocket) waits for a burst to
end: ``batch_quiet_ms`` without a new write, at most ``batch_max_delay_ms``
after the burst's first write, or ``batch_max_actions`` writes. The local list
and Mastodon deliver at once. An exact repeat inside one claim (a double
click) is delivered once and both requests are answered, unless another write
that may touch the same target lies between them: then each is sent in its own
place, so the order the user clicked in is kept.

Failures never drop a write: ``Retry`` reschedules it with exponential backoff
and "equal" jitter (or the service's reset time) and tells the waiting callers
with a ``retrying`` event; ``Hold`` parks it until the account is linked again.
A rate limit with a reset time holds back the whole service, for every process
on the database, until the reset; writes that arrive meanwhile hear
``retrying`` (at once if this process hit the limit, else when the worker's
claim comes back empty because of it) and go out after it. The local list is
never rate limited: its worker does not look.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tuckaway.delivery.outbox import Entry
from tuckaway.errors import ActionFailed, Internal, TuckawayError
from tuckaway.services.base import Defer, Done, Failed, Hold, Outcome, Retry, Write
from tuckaway.db import transaction

if TYPE_CHECKING:
    from tuckaway.context import Context
    from tuckaway.services.base import Backend
    from tuckaway.settings import Settings

log = logging.getLogger(__name__)

EventSink = Callable[[dict[str, Any]], None]
#: crashes of the backend (a bug) on a write after which it is failed; the
#: service's own failures (5xx, timeouts) do not count
MAX_INTERNAL_ATTEMPTS = 5
BACKOFF_BASE_S = 1.0
POLL_S = 0.5
#: the longest pause after a worker pass failed (it doubles from POLL_S)
MAX_PAUSE_S = 30.0
SWEEP_S = 15.0


@dataclass
class Final:
    """How a waiting request ends: a result or an error."""

    result: dict[str, Any] | None = None
    error: TuckawayError | None = None


@dataclass
class _Waiter:
    future: asyncio.Future[Final]
    on_event: EventSink | None = None


def backoff_delay(attempts: int, cap_s: float) -> float:
    """Exponential backoff with equal jitter: between c/2 and c, c = min(cap_s, base * 2**attempts).

    Half the wait is fixed (the backoff really grows), half is random (writes
    that failed together, in several hosts, do not all come back together).
    """
    ceiling = _doubled(BACKOFF_BASE_S, attempts, cap_s)
    return random.uniform(ceiling / 2, ceiling)


def _doubled(first_s: float, times: int, cap_s: float) -> float:
    """``first_s`` doubled ``times`` times, at most ``cap_s``: the one exponential backoff."""
    return min(cap_s, first_s * 2.0 ** min(times, 20))


class Batcher:
    """The delivery side of the outbox for one process."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.outbox = ctx.outbox
        self._waiters: dict[int, list[_Waiter]] = {}
        self._workers: dict[str, _Worker] = {}
        self._poll_task: asyncio.Task[None] | None = None
        self.flush_now = False

    # -- requests ----------------------------------------------------------

    def wait(self, entry_id: int, on_event: EventSink | None = None) -> asyncio.Future[Final]:
        future: asyncio.Future[Final] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(entry_id, []).append(_Waiter(future, on_event))
        self._ensure_poll()
        return future

    def kick(self, service: str, ids: Sequence[int]) -> None:
        """The writes ``ids`` of ``service`` are pending in the outbox: new, or released."""
        self._worker(service).kick(ids)

    def start(self, services: tuple[str, ...] = ("local", "pocket", "mastodon")) -> None:
        """Drain what earlier processes left (entries due now) for ``services``."""
        for service in services:
            if self.outbox.next_due(service) is not None:
                self._worker(service).wake()

    def _worker(self, service: str) -> _Worker:
        worker = self._workers.get(service)
        if worker is None or worker.task.done():
            worker = _Worker(self, service)
            self._workers[service] = worker
        return worker

    # -- outcomes ------------------------------------------------------------

    def _resolve(self, entry_id: int, final: Final) -> None:
        for waiter in self._waiters.pop(entry_id, []):
            if not waiter.future.done():
                waiter.future.set_result(final)

    def _event(self, entry_id: int, event: dict[str, Any]) -> None:
        for waiter in self._waiters.get(entry_id, []):
            if waiter.on_event is not None:
                waiter.on_event(event)

    def _ensure_poll(self) -> None:
        if self._poll_task is None or self._poll_task.done():
            self._poll_task = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        """Answer waiters whose writes another host process settled, or a user dropped."""
        while self._waiters:
            await asyncio.sleep(POLL_S)
            busy = {i for w in self._workers.values() for i in w.inflight}
            ids = [i for i in self._waiters if i not in busy]
            found = self.outbox.get(ids)
            for entry_id in ids:
                entry = found.get(entry_id)
                final = _dropped() if entry is None else _final_of(entry)
                if final is not None:
                    self._resolve(entry_id, final)

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


#: the payload fields that name a write's target; a write with none (tag_rename,
#: tag_delete) touches every item
_TARGET_FIELDS = ("url", "item_id", "status_url", "status_id")


def _merge_repeats(entries: list[Entry]) -> list[list[Entry]]:
    """Group a claim into what is sent: each group is one write and the repeats it answers.

    A write joins the group of an identical earlier write (a double click) only
    if nothing that could touch the same target lies between them: no other
    write to the same url or id, no write naming its target another way (an
    ``item_id`` may be the item of a ``url``), no ``tag_rename``/``tag_delete``
    (and for those, no write at all). Otherwise it is sent at its own place, so
    favorite, unfavorite, favorite ends favorite.
    """
    groups: list[list[Entry]] = []
    latest: dict[tuple[str, str], int] = {}  # (field, value) -> last group that names it
    latest_by_field: dict[str, int] = {}  # field -> last group that names a target by it
    latest_global = -1  # last group that touches every target
    for entry in entries:
        target = _target_of(entry)
        if target is None:
            at = len(groups) - 1
        else:
            at = latest.get(target, -1)
            others = max((i for f, i in latest_by_field.items() if f != target[0]), default=-1)
            if at <= max(latest_global, others):
                at = -1
        if at >= 0 and groups[at][0].dedupe_key == entry.dedupe_key:
            groups[at].append(entry)
            continue
        groups.append([entry])
        if target is None:
            latest_global = len(groups) - 1
        else:
            latest[target] = latest_by_field[target[0]] = len(groups) - 1
    return groups


def _target_of(entry: Entry) -> tuple[str, str] | None:
    for name in _TARGET_FIELDS:
        value = entry.payload.get(name)
        if value:
            return name, str(value)
    return None


def _dropped() -> Final:
    """The answer to a write that ``tuckaway queue drop`` removed while its caller waited."""
    return Final(error=ActionFailed("the write was dropped from the queue (tuckaway queue drop)"))


def _final_of(entry: Entry) -> Final | None:
    if entry.state == "done":
        return Final(result=entry.result or {})
    if entry.state in {"failed", "held"} and entry.last_error:
        return Final(error=_error_from_wire(entry.last_error))
    return None


def _error_from_wire(wire: dict[str, Any]) -> TuckawayError:
    from tuckaway import errors

    for cls in vars(errors).values():
        if (
            isinstance(cls, type)
            and issubclass(cls, TuckawayError)
            and cls.code == wire.get("code")
            and cls not in (errors.ConfigError,)
        ):
            error = TuckawayError.__new__(cls)
            TuckawayError.__init__(error, str(wire.get("message", "")))
            for key in ("fields", "retry_after"):
                if key in wire:
                    setattr(error, key, wire[key])
            return error
    return Internal(str(wire.get("message", "")))


@dataclass
class _Worker:
    batcher: Batcher
    service: str
    task: asyncio.Task[None] = field(init=False)
    inflight: set[int] = field(default_factory=set)
    delivering: bool = False
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _first: float | None = None
    _last: float = 0.0
    _count: int = 0
    _again: bool = False
    #: whether the service may be rate limited: not a backend in the host's database
    _limitable: bool = True
    #: the end of the service's rate limit as this worker last learnt it (epoch seconds)
    _limited_until: float = 0.0
    #: writes kicked since the last claim that have not heard of a rate limit
    _untold: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    def kick(self, ids: Sequence[int]) -> None:
        now = time.monotonic()
        if self._first is None:
            self._first = now
        self._last = now
        self._count += len(ids)
        if self._limited_until > time.time():
            self._tell_limited(ids)  # a limit this worker knows of: at once
        elif self._limitable:
            self._untold.extend(ids)  # the next claim finds out
        self._wake.set()

    def _tell_limited(self, ids: Sequence[int]) -> None:
        """Writes that arrive while the service's rate limit lasts hear so."""
        left = self._limited_until - time.time()
        if left <= 0:
            return
        event = {"event": "retrying", "reason": "rate_limited", "retry_after": max(1, round(left))}
        for entry_id in ids:
            self.batcher._event(entry_id, event)

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        try:
            backend = self.batcher.ctx.backend(self.service)
        except Exception:
            log.exception("cannot start the %s backend; its writes stay queued", self.service)
            return
        self._limitable = not getattr(backend, "shares_database", False)
        if not self._limitable:
            self._untold = []
        failures = 0
        while True:
            try:
                # Read each pass: the options page may change the batching settings.
                await self._pass(backend, self.batcher.ctx.settings)
            except Exception:
                # A pass that fails (the database locked past its busy timeout, a bug)
                # must not end the worker: its writes would wait for ever.
                failures += 1
                pause = _doubled(POLL_S, failures - 1, MAX_PAUSE_S)
                log.exception(
                    "the %s worker failed (%d in a row); it goes on in %.1fs",
                    self.service,
                    failures,
                    pause,
                )
                await asyncio.sleep(pause)
            else:
                failures = 0

    async def _pass(self, backend: Backend, settings: Settings) -> None:
        """Wait for a burst to end, claim what is due, deliver it; or sleep until due."""
        if backend.coalesce and self._first is not None and not self._again:
            await self._coalesce(
                settings.batch_quiet_ms / 1000,
                settings.batch_max_delay_ms / 1000,
                settings.batch_max_actions,
            )
        self._first, self._count, self._again = None, 0, False
        claimed_at = time.time()
        outbox = self.batcher.outbox
        entries = outbox.claim(
            self.service,
            max(1, settings.batch_max_actions),
            settings.lease_s,
            rate_limited=self._limitable,
        )
        if not entries and self._untold:
            # New writes the claim left: if a rate limit that another process (or an
            # earlier host) hit holds them back, they hear so now.
            self._limited_until = outbox.not_before(self.service)
            self._tell_limited(self._untold)
        self._untold = []
        if entries:
            await self._deliver(backend, entries)
            return
        await self._idle(claimed_at)

    def _give_back(self, ids: set[int]) -> None:
        """Release the leases of rows whose delivery was cut short, so they are sent again soon."""
        if not ids:
            return
        try:
            self.batcher.outbox.release(ids)
        except Exception:
            log.exception("could not release %d write(s); their lease runs out", len(ids))

    async def _coalesce(self, quiet_s: float, max_delay_s: float, max_actions: int) -> None:
        while not self.batcher.flush_now and self._count < max_actions and self._first:
            now = time.monotonic()
            deadline = min(self._last + quiet_s, self._first + max_delay_s)
            if now >= deadline:
                return
            self._wake.clear()
            await self._sleep(deadline - now)

    async def _idle(self, claimed_at: float) -> None:
        """Sleep until the next row comes due (or a kick); never a busy loop.

        A row that ``next_due`` calls due although the claim at ``claimed_at``
        got nothing (another process took it just then) is looked at again
        after ``POLL_S``, not at once.
        """
        self._wake.clear()
        if self._first is not None:
            return
        next_due = self.batcher.outbox.next_due(self.service, rate_limited=self._limitable)
        if next_due is None:
            timeout = SWEEP_S
        elif next_due <= claimed_at:
            timeout = POLL_S
        else:
            timeout = max(0.0, min(SWEEP_S, next_due - time.time()))
        if timeout > 0:
            await self._sleep(timeout)

    async def _sleep(self, seconds: float) -> None:
        """Until woken by a kick, or ``timeout`` seconds."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    async def _deliver(self, backend: Backend, entries: list[Entry]) -> None:
        groups = _merge_repeats(entries)
        firsts = [g[0] for g in groups]
        writes = [Write(e.id, e.op, e.payload, e.attempts) for e in firsts]
        self.inflight = {e.id for e in entries}
        self.delivering = True
        # A backend that writes to the host's own database (the local list) delivers
        # and records the outcomes in one transaction: one commit, and never a write
        # applied but still pending after a crash.
        shared = getattr(backend, "shares_database", False)
        joint = transaction(self.batcher.outbox.conn) if shared else contextlib.nullcontext()
        # A delivery that outlasts a part of the lease (a long Mastodon batch, a 400
        # split into many requests) keeps its lease, or another process would send
        # the rows again. Not for the joint transaction: it owns the connection.
        renewal = None if shared else asyncio.get_running_loop().create_task(self._renew())
        try:
            with joint:
                crashed = False
                try:
                    outcomes = await backend.deliver(writes)
                    if len(outcomes) != len(writes):
                        raise RuntimeError(f"{len(outcomes)} outcomes for {len(writes)} writes")
                except Exception as exc:
                    log.exception(
                        "the %s backend failed on a batch of %d", self.service, len(writes)
                    )
                    outcomes = [self._crash_outcome(e, exc) for e in firsts]
                    crashed = True
                notify = self._apply(firsts, groups, outcomes, crashed=crashed)
            notify()
        except BaseException:
            # Cut short: stopping (EOF) with a request in flight, or recording the outcomes
            # failed (the database locked past its busy timeout). Give the rows back so
            # they go again at once (here or in the next host), not after lease_s; a
            # duplicate at worst. Rows already settled keep their outcome.
            self._give_back(self.inflight)
            raise
        finally:
            if renewal is not None:
                renewal.cancel()  # not awaited: a cancel of this task must not be absorbed
            self.inflight = set()
            self.delivering = False

    async def _renew(self) -> None:
        """Every third of ``lease_s``, extend the lease of the rows in flight."""
        lease_s = self.batcher.ctx.settings.lease_s
        while True:
            await asyncio.sleep(lease_s / 3)
            try:
                self.batcher.outbox.renew(self.inflight, lease_s)
            except Exception as exc:
                log.warning("could not renew the lease of %d write(s): %s", len(self.inflight), exc)

    @staticmethod
    def _crash_outcome(entry: Entry, exc: Exception) -> Outcome:
        if entry.crashes + 1 >= MAX_INTERNAL_ATTEMPTS:
            return Failed(Internal(f"the host failed to deliver this write ({type(exc).__name__})"))
        return Retry("unavailable", f"internal error ({type(exc).__name__}); see the log")

    def _apply(
        self,
        firsts: list[Entry],
        groups: list[list[Entry]],
        outcomes: list[Outcome],
        *,
        crashed: bool = False,
    ) -> Callable[[], None]:
        """Record the outcomes; returns what tells the callers, to run after the commit.

        ``crashed``: the outcomes stand for a crash of the backend, counted apart.
        """
        b = self.batcher
        settings = b.ctx.settings
        finals: list[tuple[list[int], Final]] = []
        events: list[tuple[list[int], dict[str, Any]]] = []
        retries: dict[tuple[str, float | None], tuple[float, Retry, list[int]]] = {}
        limited_until = 0.0
        with transaction(b.outbox.conn):
            if crashed:
                b.outbox.count_crash(e.id for g in groups for e in g)
            for first, group, outcome in zip(firsts, groups, outcomes, strict=True):
                ids = [e.id for e in group]
                if isinstance(outcome, Done):
                    b.outbox.complete(ids, outcome.result)
                    finals.append((ids, Final(result=outcome.result)))
                elif isinstance(outcome, Failed):
                    b.outbox.fail(ids, outcome.error.to_wire())
                    finals.append((ids, Final(error=outcome.error)))
                elif isinstance(outcome, Hold):
                    b.outbox.hold(ids, outcome.error.to_wire())
                    finals.append((ids, Final(error=outcome.error)))
                elif isinstance(outcome, Retry):
                    # One delay for every write of the batch that failed the same way, so
                    # that they come due together and are resent as one batch again.
                    key = (outcome.reason, outcome.retry_after)
                    if key not in retries:
                        delay = (
                            outcome.retry_after + random.uniform(0, 0.25)
                            if outcome.retry_after is not None
                            else backoff_delay(first.attempts, settings.retry_max_s)
                        )
                        retries[key] = (delay, outcome, [])
                    retries[key][2].extend(ids)
                elif isinstance(outcome, Defer):
                    b.outbox.release(ids)
                    self._again = True
            for delay, outcome, ids in retries.values():
                b.outbox.retry(ids, delay, {"code": outcome.reason, "message": outcome.message})
                if outcome.reason == "rate_limited" and outcome.retry_after is not None:
                    # the whole service waits, in every process: not only these rows
                    limited_until = max(limited_until, time.time() + delay)
                    b.outbox.set_not_before(self.service, limited_until)
                event = {
                    "event": "retrying",
                    "reason": outcome.reason,
                    "retry_after": max(1, round(delay)),
                }
                events.append((ids, event))
                log.info(
                    "%s: %d write(s) retry in %.1fs: %s",
                    self.service,
                    len(ids),
                    delay,
                    outcome.message,
                )
        return lambda: self._notify(finals, events, limited_until)

    def _notify(
        self,
        finals: list[tuple[list[int], Final]],
        events: list[tuple[list[int], dict[str, Any]]],
        limited_until: float = 0.0,
    ) -> None:
        """Answer the waiting callers: only once the outcomes are committed.

        ``limited_until``: the service's rate limit the outcomes set, which new
        writes then hear of at once.
        """
        b = self.batcher
        self._limited_until = max(self._limited_until, limited_until)
        for ids, final in finals:
            for entry_id in ids:
                b._resolve(entry_id, final)
        for ids, event in events:
            for entry_id in ids:
                b._event(entry_id, event)


async def submit(
    ctx: Context, writes: list[tuple[str, dict[str, Any]]], timeout_s: float
) -> list[Final | None]:
    """Record ``(op, payload)`` writes and deliver them through the normal path.

    For command-line use: the writes coalesce like a burst from the browser.
    Returns one :class:`Final` per write, or ``None`` for a write still queued
    (being retried) when ``timeout_s`` ran out; it stays in the outbox.
    """
    rows = [(ctx.service_for(op), op, payload) for op, payload in writes]
    ids = ctx.outbox.add_many(rows)
    batcher = Batcher(ctx)
    futures = [batcher.wait(i) for i in ids]
    kicks: dict[str, list[int]] = {}
    for (service, _, _), entry_id in zip(rows, ids, strict=True):
        kicks.setdefault(service, []).append(entry_id)
    for service, kicked in kicks.items():
        batcher.kick(service, kicked)
    try:
        await asyncio.wait(futures, timeout=timeout_s)
    finally:
        await batcher.aclose()
    return [f.result() if f.done() else None for f in futures]
