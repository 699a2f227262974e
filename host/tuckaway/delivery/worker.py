"""One service's worker: claims due writes, coalesces, delivers, records the outcomes.

A coalescing service (Pocket) waits for a burst to end: ``batch_quiet_ms``
without a new write, at most ``batch_max_delay_ms`` after the burst's first
write, or ``batch_max_actions`` writes. The local list and Mastodon deliver at
once. An exact repeat inside one claim (a double click) is delivered once and
both requests are answered, unless another write that may touch the same
target lies between them: then each is sent in its own place, so the order the
user clicked in is kept.

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
from typing import Any, Protocol

from tuckaway.context import Context
from tuckaway.db import is_disk_full, transaction
from tuckaway.delivery.outbox import Entry
from tuckaway.delivery.waiters import Final, Waiters
from tuckaway.errors import Internal, TuckawayError
from tuckaway.services.base import Backend, Defer, Done, Failed, Hold, Outcome, Retry, Write

log = logging.getLogger(__name__)

#: crashes of the backend (a bug) on a write after which it is failed; the
#: service's own failures (5xx, timeouts) do not count
MAX_INTERNAL_ATTEMPTS = 5
BACKOFF_BASE_S = 1.0
POLL_S = 0.5
#: the longest pause after a worker pass failed (it doubles from POLL_S)
MAX_PAUSE_S = 30.0
SWEEP_S = 15.0


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


def shares_database(backend: Backend) -> bool:
    """Whether ``backend`` writes to the host's own database (the local list)."""
    return bool(getattr(backend, "shares_database", False))


#: the payload fields that name a write's target; a write with none (tag_rename,
#: tag_delete) touches every item
_TARGET_FIELDS = ("url", "item_id", "status_url", "status_id")


def merge_repeats(entries: Sequence[Entry]) -> list[list[Entry]]:
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


class JoinedBackend(Backend, Protocol):
    """A backend in the host's own database: it can deliver inside the caller's transaction."""

    def deliver_now(self, writes: Sequence[Write]) -> list[Outcome]: ...


def joins_commit(backend: Backend) -> bool:
    """Whether new writes for ``backend`` are delivered in the commit that records them."""
    return shares_database(backend) and callable(getattr(backend, "deliver_now", None))


@dataclass
class _RetryGroup:
    """Writes of one batch that failed the same way: one delay, so they come back together."""

    delay_s: float
    outcome: Retry
    ids: list[int] = field(default_factory=list)

    def event(self) -> dict[str, Any]:
        return {
            "event": "retrying",
            "reason": self.outcome.reason,
            "retry_after": max(1, round(self.delay_s)),
        }


@dataclass
class Settled:
    """What recording a batch's outcomes tells the callers, once committed."""

    finals: list[tuple[list[int], Final]] = field(default_factory=list)
    retries: list[_RetryGroup] = field(default_factory=list)
    #: the end of the service's rate limit the outcomes set (epoch seconds; 0: none)
    limited_until: float = 0.0


@dataclass
class Worker:
    """Delivers ``service``'s due writes for one process, answering ``waiters``."""

    ctx: Context
    waiters: Waiters
    service: str
    #: whether the process is stopping: no more waiting for a burst to end
    flushing: Callable[[], bool]
    #: tells the other host processes on the database that outcomes were committed
    announce: Callable[[], None] = lambda: None
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
    #: the writes whose delivery the last failed pass cut short
    _stalled: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    def kick(self, ids: Sequence[int]) -> None:
        """The writes ``ids`` are pending in the outbox: new, or released."""
        now = time.monotonic()
        if self._first is None:
            self._first = now
        self._last = now
        self._count += len(ids)
        if self._limited_until > time.time():
            # a limit this worker knows of: at once, but after the caller has said
            # "queued" (enqueue returns first), so a write never hears of it before
            asyncio.get_running_loop().call_soon(self._tell_limited, list(ids))
        elif self._limitable:
            self._untold.extend(ids)  # the next claim finds out
        self._wake.set()

    def _tell_limited(self, ids: Sequence[int]) -> None:
        """Writes that arrive while the service's rate limit lasts hear so."""
        left = self._limited_until - time.time()
        if left > 0:
            retry_after = max(1, round(left))
            self.waiters.tell(
                ids, {"event": "retrying", "reason": "rate_limited", "retry_after": retry_after}
            )

    def kick_elsewhere(self, count: int) -> None:
        """Another host process recorded ``count`` writes of this service: part of the burst.

        A coalescing worker counts them (the burst may reach ``batch_max_actions``
        across processes) and its quiet window starts again.
        """
        now = time.monotonic()
        if self._first is None:
            self._first = now
        self._last = now
        self._count += count
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        try:
            backend = self.ctx.backend(self.service)
        except Exception:
            log.exception("cannot start the %s backend; its writes stay queued", self.service)
            return
        self._limitable = not shares_database(backend)
        if not self._limitable:
            self._untold = []
        failures = 0
        while True:
            try:
                await self._pass(backend)
            except Exception as exc:
                # A pass that fails (the database locked past its busy timeout, the disk
                # full, a bug) must not end the worker: its writes would wait for ever.
                failures += 1
                pause = _doubled(POLL_S, failures - 1, MAX_PAUSE_S)
                if is_disk_full(exc):
                    self._tell_disk_full(pause, exc)
                else:
                    log.exception(
                        "the %s worker failed (%d in a row); it goes on in %.1fs",
                        self.service,
                        failures,
                        pause,
                    )
                await asyncio.sleep(pause)
            else:
                failures = 0
            self._stalled = set()

    def _tell_disk_full(self, pause_s: float, exc: Exception) -> None:
        """The outcomes could not be recorded: the writes wait, and their callers hear why.

        The rows stay in the outbox (the service may have them already: a
        duplicate at worst) and go again once the database can grow.
        """
        log.warning(
            "the disk is full: %d %s write(s) wait; trying again in %.1fs (%s)",
            len(self._stalled),
            self.service,
            pause_s,
            exc,
        )
        event = {"event": "retrying", "reason": "disk_full", "retry_after": max(1, round(pause_s))}
        self.waiters.tell(self._stalled, event)

    async def _pass(self, backend: Backend) -> None:
        """Wait for a burst to end, claim what is due, deliver it; or sleep until due."""
        # Read each pass: the options page may change the batching settings.
        settings = self.ctx.settings
        if backend.coalesce and self._first is not None and not self._again:
            await self._coalesce(
                settings.batch_quiet_ms / 1000,
                settings.batch_max_delay_ms / 1000,
                settings.batch_max_actions,
            )
        self._first, self._count, self._again = None, 0, False
        claimed_at = time.time()
        outbox = self.ctx.outbox
        self._answer_behind_held()
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

    def _answer_behind_held(self) -> None:
        """Writes stuck behind a held write of their url hear its reason now, not never."""
        if not self.waiters:
            return
        for entry_id, error in self.ctx.outbox.behind_held(self.service):
            self.waiters.resolve([entry_id], Final(error=TuckawayError.from_wire(error)))

    def _give_back(self, ids: set[int]) -> None:
        """Release the leases of rows whose delivery was cut short, so they are sent again soon."""
        if not ids:
            return
        try:
            self.ctx.outbox.release(ids)
        except Exception:
            log.exception("could not release %d write(s); their lease runs out", len(ids))

    async def _coalesce(self, quiet_s: float, max_delay_s: float, max_actions: int) -> None:
        while not self.flushing() and self._count < max_actions and self._first:
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
        next_due = self.ctx.outbox.next_due(self.service, rate_limited=self._limitable)
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
        groups = merge_repeats(entries)
        firsts = [g[0] for g in groups]
        writes = [Write(e.id, e.op, e.payload, e.attempts) for e in firsts]
        self.inflight = {e.id for e in entries}
        self.delivering = True
        # A backend that writes to the host's own database (the local list) delivers
        # and records the outcomes in one transaction: one commit, and never a write
        # applied but still pending after a crash.
        shared = shares_database(backend)
        joint = transaction(self.ctx.outbox.conn) if shared else contextlib.nullcontext()
        # A delivery that outlasts a part of the lease (a long Mastodon batch, a 400
        # split into many requests) keeps its lease, or another process would send
        # the rows again. Not for the joint transaction: it owns the connection.
        renewal = None if shared else asyncio.get_running_loop().create_task(self._renew())
        try:
            with joint:
                crashed = False
                try:
                    outcomes = await (
                        backend.deliver(writes) if shared else self._call(backend, firsts, writes)
                    )
                    if len(outcomes) != len(writes):
                        raise RuntimeError(f"{len(outcomes)} outcomes for {len(writes)} writes")
                except Exception as exc:
                    if is_disk_full(exc):  # marking the batch sent failed: not a crash
                        raise
                    log.exception(
                        "the %s backend failed on a batch of %d", self.service, len(writes)
                    )
                    outcomes = [self._crash_outcome(e, exc) for e in firsts]
                    crashed = True
                id_groups = [[e.id for e in g] for g in groups]
                retries = self._retry_delays([e.attempts for e in firsts], id_groups, outcomes)
                settled = self._record(id_groups, outcomes, retries, crashed=crashed)
            self.notify(settled)
            self.announce()
        except BaseException:
            # Cut short: stopping (EOF) with a request in flight, or recording the outcomes
            # failed (the database locked past its busy timeout). Give the rows back so
            # they go again at once (here or in the next host), not after lease_s; a
            # duplicate at worst. Rows already settled keep their outcome.
            self._stalled = set(self.inflight)
            self._give_back(self.inflight)
            raise
        finally:
            if renewal is not None:
                renewal.cancel()  # not awaited: a cancel of this task must not be absorbed
            self.inflight = set()
            self.delivering = False

    async def _call(
        self, backend: Backend, firsts: list[Entry], writes: list[Write]
    ) -> list[Outcome]:
        """Hand ``writes`` to the service, marked sent first; ask before sending again.

        A write an earlier attempt handed over without hearing back (the host was
        killed mid-request) may have arrived: a backend that can tell
        (``already_delivered``) is asked, and what arrived is not sent twice.
        """
        known: dict[int, Outcome] = {}
        unsure = [e for e in firsts if e.sent_at is not None]
        check = getattr(backend, "already_delivered", None)
        if unsure and check is not None:
            since = min(e.sent_at or 0.0 for e in unsure)
            ids = {e.id for e in unsure}
            try:
                known = await check([w for w in writes if w.entry_id in ids], since)
            except Exception as exc:  # only saves a duplicate: send them again
                log.warning("could not ask %s what arrived: %s", self.service, exc)
        rest = [w for w in writes if w.entry_id not in known]
        self.ctx.outbox.mark_sent(self.inflight)
        delivered = await backend.deliver(rest) if rest else []
        if len(delivered) != len(rest):
            raise RuntimeError(f"{len(delivered)} outcomes for {len(rest)} writes")
        answered = iter(delivered)
        return [known[w.entry_id] if w.entry_id in known else next(answered) for w in writes]

    async def _renew(self) -> None:
        """Every third of ``lease_s``, extend the lease of the rows in flight."""
        lease_s = self.ctx.settings.lease_s
        while True:
            await asyncio.sleep(lease_s / 3)
            try:
                self.ctx.outbox.renew(self.inflight, lease_s)
            except Exception as exc:
                log.warning("could not renew the lease of %d write(s): %s", len(self.inflight), exc)

    @staticmethod
    def _crash_outcome(entry: Entry, exc: Exception) -> Outcome:
        if entry.crashes + 1 >= MAX_INTERNAL_ATTEMPTS:
            return Failed(Internal(f"the host failed to deliver this write ({type(exc).__name__})"))
        return Retry("unavailable", f"internal error ({type(exc).__name__}); see the log")

    def _retry_delays(
        self, attempts: list[int], groups: list[list[int]], outcomes: list[Outcome]
    ) -> list[_RetryGroup]:
        """The writes to retry, grouped by how they failed, each group with its one delay.

        ``attempts``: of each group's write so far; ``groups``: the ids each outcome answers.
        """
        retry_max_s = self.ctx.settings.retry_max_s
        retries: dict[tuple[str, float | None], _RetryGroup] = {}
        for tried, group, outcome in zip(attempts, groups, outcomes, strict=True):
            if not isinstance(outcome, Retry):
                continue
            key = (outcome.reason, outcome.retry_after)
            if key not in retries:
                delay = (
                    outcome.retry_after + random.uniform(0, 0.25)
                    if outcome.retry_after is not None
                    else backoff_delay(tried, retry_max_s)
                )
                retries[key] = _RetryGroup(delay, outcome)
            retries[key].ids.extend(group)
        return list(retries.values())

    def _record(
        self,
        groups: list[list[int]],
        outcomes: list[Outcome],
        retries: list[_RetryGroup],
        *,
        crashed: bool = False,
    ) -> Settled:
        """Record the outcomes in one transaction; what to tell the callers after the commit.

        ``crashed``: the outcomes stand for a crash of the backend, counted apart.
        """
        outbox = self.ctx.outbox
        settled = Settled(retries=retries)
        with transaction(outbox.conn):
            if crashed:
                outbox.count_crash(i for g in groups for i in g)
            for ids, outcome in zip(groups, outcomes, strict=True):
                if isinstance(outcome, Done):
                    outbox.complete(ids, outcome.result)
                    settled.finals.append((ids, Final(result=outcome.result)))
                elif isinstance(outcome, Failed | Hold):
                    record = outbox.fail if isinstance(outcome, Failed) else outbox.hold
                    record(ids, outcome.error.to_wire())
                    settled.finals.append((ids, Final(error=outcome.error)))
                elif isinstance(outcome, Defer):
                    outbox.release(ids, unsent=True)
                    self._again = True
            for retry in retries:
                error = {"code": retry.outcome.reason, "message": retry.outcome.message}
                outbox.retry(retry.ids, retry.delay_s, error)
                if retry.outcome.reason == "rate_limited" and retry.outcome.retry_after is not None:
                    # the whole service waits, in every process: not only these rows
                    until = time.time() + retry.delay_s
                    settled.limited_until = max(settled.limited_until, until)
                    outbox.set_not_before(self.service, settled.limited_until)
                log.info(
                    "%s: %d write(s) retry in %.1fs: %s",
                    self.service,
                    len(retry.ids),
                    retry.delay_s,
                    retry.outcome.message,
                )
        return settled

    def deliver_now(self, backend: JoinedBackend, entries: list[Entry]) -> Settled | None:
        """Deliver writes just recorded (leased to this process) inside the open transaction.

        For a backend in the host's own database (the local list): the outbox
        rows, the change and the outcomes commit together, one commit per batch
        read from the port. If the backend fails, its changes are undone and the
        rows are given back: the worker delivers them as usual (None).
        """
        conn = self.ctx.outbox.conn
        merged = merge_repeats(entries)
        writes = [Write(g[0].id, g[0].op, g[0].payload, g[0].attempts) for g in merged]
        groups = [[e.id for e in g] for g in merged]
        conn.execute("SAVEPOINT deliver_now")
        try:
            outcomes = backend.deliver_now(writes)
            if len(outcomes) != len(writes):
                raise RuntimeError(f"{len(outcomes)} outcomes for {len(writes)} writes")
            retries = self._retry_delays([w.attempts for w in writes], groups, outcomes)
            settled = self._record(groups, outcomes, retries)
        except Exception:
            log.exception("the %s backend failed on %d new write(s)", self.service, len(writes))
            conn.execute("ROLLBACK TO deliver_now")
            conn.execute("RELEASE deliver_now")
            self.ctx.outbox.release(e.id for e in entries)
            return None
        conn.execute("RELEASE deliver_now")
        return settled

    def notify(self, settled: Settled) -> None:
        """Answer the waiting callers: only once the outcomes are committed.

        A rate limit the outcomes set is heard at once by the writes that arrive
        while it lasts.
        """
        self._limited_until = max(self._limited_until, settled.limited_until)
        for ids, final in settled.finals:
            self.waiters.resolve(ids, final)
        for retry in settled.retries:
            self.waiters.tell(retry.ids, retry.event())
