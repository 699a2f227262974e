"""The outbox and the batcher: durable, leased, retried, coalesced, never lost."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tuckaway import context as context_module
from tuckaway.context import Context
from tuckaway.delivery.batcher import Batcher, NewWrite, backoff_delay, submit
from tuckaway.delivery.outbox import Outbox
from tuckaway.errors import ActionFailed, AuthFailed
from tuckaway.services.base import Defer, Done, Failed, Hold, Outcome, Retry, Write
from tuckaway.settings import Settings


class Scripted:
    """A backend whose outcomes the test decides; records every deliver() call."""

    service = "pocket"
    coalesce = True

    def __init__(self) -> None:
        self.calls: list[list[Write]] = []
        self.script: list[Any] = []  # per call: an outcome for all, or a callable(write)->outcome

    async def deliver(self, writes: Sequence[Write]) -> list[Outcome]:
        self.calls.append(list(writes))
        step = self.script.pop(0) if self.script else None
        out: list[Outcome] = []
        for w in writes:
            if step is None:
                out.append(Done({"item_id": str(w.entry_id), "url": w.payload.get("url", "")}))
            elif callable(step):
                out.append(step(w))
            else:
                out.append(step)
        return out

    async def aclose(self) -> None:
        return None


def scripted_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: Scripted) -> Context:
    """A Context whose every write goes to ``backend`` (as the Pocket service)."""
    settings = Settings.load({"TUCKAWAY_HOME": str(tmp_path)})
    settings = replace(settings, batch_quiet_ms=50, batch_max_delay_ms=400, retry_max_s=0.2)
    monkeypatch.setattr(Context, "service_for", lambda self, op: "pocket")
    return Context(settings, backends={"pocket": lambda _ctx: backend})


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    return scripted_context(tmp_path, monkeypatch, Scripted())


def backend_of(ctx: Context) -> Scripted:
    backend = ctx.backend("pocket")
    assert isinstance(backend, Scripted)
    return backend


async def until(check: Callable[[], bool], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


def enqueue(
    batcher: Batcher, url: str, on_event: Callable[[dict[str, Any]], None] | None = None
) -> list[tuple[int, asyncio.Future[Any]]]:
    """A save of ``url`` recorded through the batcher: its entry id and the future it settles."""
    return [
        (q.entry_id, q.future) for q in batcher.enqueue([NewWrite("save", {"url": url}, on_event)])
    ]


def saves(n: int) -> list[tuple[str, dict[str, Any]]]:
    return [("save", {"url": f"https://e.org/{i}", "tags": []}) for i in range(n)]


async def test_a_burst_is_delivered_in_one_call_in_arrival_order(ctx: Context) -> None:
    finals = await submit(ctx, saves(20), timeout_s=5)
    calls = backend_of(ctx).calls
    assert len(calls) == 1
    assert [w.payload["url"] for w in calls[0]] == [f"https://e.org/{i}" for i in range(20)]
    assert all(f is not None and f.result for f in finals)


async def test_max_actions_splits_a_burst(ctx: Context) -> None:
    ctx.settings = replace(ctx.settings, batch_max_actions=7)
    await submit(ctx, saves(20), timeout_s=5)
    assert [len(c) for c in backend_of(ctx).calls] == [7, 7, 6]


async def test_exact_repeats_are_delivered_once_and_answered_twice(ctx: Context) -> None:
    finals = await submit(ctx, saves(1) + saves(1), timeout_s=5)
    assert len(backend_of(ctx).calls[0]) == 1
    assert finals[0] is not None and finals[1] is not None
    assert finals[0].result == finals[1].result


@pytest.fixture
def local_ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Context:
    """The embedded local list, its deliver() calls recorded in ``ctx.sent``."""
    c = Context(Settings.load({"TUCKAWAY_HOME": str(tmp_path / "local")}))
    backend = c.backend("local")
    sent: list[list[str]] = []

    async def recording(writes: Sequence[Write]) -> list[Outcome]:
        sent.append([w.op for w in writes])
        return deliver_now(writes)  # not await deliver(): it calls the recording deliver_now

    def recording_now(writes: Sequence[Write]) -> list[Outcome]:
        sent.append([w.op for w in writes])
        return deliver_now(writes)

    deliver_now = backend.deliver_now  # type: ignore[attr-defined]
    monkeypatch.setattr(backend, "deliver", recording)
    monkeypatch.setattr(backend, "deliver_now", recording_now)
    c.sent = sent  # type: ignore[attr-defined]
    return c


async def test_a_toggle_repeated_across_its_opposite_is_sent_in_order(local_ctx: Context) -> None:
    url = "https://e.org/toggle"
    await submit(local_ctx, [("save", {"url": url})], timeout_s=5)
    finals = await submit(
        local_ctx,
        [("favorite", {"url": url}), ("unfavorite", {"url": url}), ("favorite", {"url": url})],
        timeout_s=5,
    )
    assert all(f is not None and f.error is None for f in finals)
    assert local_ctx.sent[-1] == ["favorite", "unfavorite", "favorite"]  # type: ignore[attr-defined]
    item = local_ctx.store.items("local").lookup(url)
    assert item is not None and item.favorite


async def test_save_archive_save_ends_unread(local_ctx: Context) -> None:
    url = "https://e.org/readd"
    writes = [("save", {"url": url}), ("archive", {"url": url}), ("save", {"url": url})]
    finals = await submit(local_ctx, writes, timeout_s=5)
    assert all(f is not None and f.error is None for f in finals)
    assert local_ctx.sent == [["save", "archive", "save"]]  # type: ignore[attr-defined]
    item = local_ctx.store.items("local").lookup(url)
    assert item is not None and item.to_lookup()["status"] == "unread"


async def test_a_double_click_is_sent_once_among_other_writes(local_ctx: Context) -> None:
    a, b = "https://e.org/a", "https://e.org/b"
    await submit(local_ctx, [("save", {"url": a}), ("save", {"url": b})], timeout_s=5)
    finals = await submit(
        local_ctx,
        [("favorite", {"url": a}), ("archive", {"url": b}), ("favorite", {"url": a})],
        timeout_s=5,
    )
    assert local_ctx.sent[-1] == ["favorite", "archive"]  # type: ignore[attr-defined]
    assert finals[0] is not None and finals[2] is not None
    assert finals[0].result == finals[2].result


async def test_a_repeat_is_not_merged_across_a_write_that_may_name_the_same_item(
    ctx: Context,
) -> None:
    url = "https://e.org/same"
    await submit(
        ctx,
        [
            ("tags_add", {"url": url, "tags": ["a"]}),
            ("tags_remove", {"item_id": "7", "tags": ["a"]}),  # perhaps the item of that url
            ("tags_add", {"url": url, "tags": ["a"]}),
            ("tag_rename", {"old_tag": "a", "new_tag": "b"}),
            ("tags_add", {"url": url, "tags": ["a"]}),
            ("tag_delete", {"tag": "b"}),
            ("tag_delete", {"tag": "b"}),
        ],
        timeout_s=5,
    )
    assert [w.op for w in backend_of(ctx).calls[0]] == [
        "tags_add",
        "tags_remove",
        "tags_add",
        "tag_rename",
        "tags_add",
        "tag_delete",
    ]


async def test_retry_keeps_the_write_and_reports_retrying(ctx: Context) -> None:
    backend_of(ctx).script = [
        Retry("unavailable", "HTTP 503", None),
        Retry("unavailable", "HTTP 500", None),
    ]
    batcher = Batcher(ctx)
    events: list[dict[str, Any]] = []
    [(entry_id, future)] = enqueue(batcher, "https://e.org/r", events.append)
    final = await asyncio.wait_for(future, 10)
    await batcher.aclose()
    assert final.result is not None
    assert len(backend_of(ctx).calls) == 3
    assert [e["reason"] for e in events] == ["unavailable", "unavailable"]
    assert ctx.outbox.get([entry_id])[entry_id].attempts == 3


async def test_rate_limit_waits_the_services_reset_time(ctx: Context) -> None:
    backend_of(ctx).script = [Retry("rate_limited", "limit", retry_after=1.0)]
    batcher = Batcher(ctx)
    events: list[dict[str, Any]] = []
    started = time.monotonic()
    [(_, future)] = enqueue(batcher, "https://e.org/l", events.append)
    await asyncio.wait_for(future, 10)
    await batcher.aclose()
    assert time.monotonic() - started >= 1.0
    assert events == [{"event": "retrying", "reason": "rate_limited", "retry_after": 1}]


async def test_a_write_arriving_during_a_rate_limit_waits_for_its_reset(ctx: Context) -> None:
    backend_of(ctx).script = [Retry("rate_limited", "limit", retry_after=1.0)]
    batcher = Batcher(ctx)
    started = time.monotonic()
    [(first, done_first)] = enqueue(batcher, "https://e.org/l1")
    await asyncio.sleep(0.3)  # the limit was hit
    assert len(backend_of(ctx).calls) == 1
    events: list[dict[str, Any]] = []
    [(later, done_later)] = enqueue(batcher, "https://e.org/l2", events.append)
    assert events == []  # not before the caller has acknowledged it ("queued")
    await asyncio.sleep(0)  # ... and then at once, in the next turn of the loop
    assert events == [{"event": "retrying", "reason": "rate_limited", "retry_after": 1}]
    final = await asyncio.wait_for(done_later, 10)
    await done_first
    await batcher.aclose()
    assert final.result is not None
    assert time.monotonic() - started >= 1.0
    calls = backend_of(ctx).calls
    assert [[w.entry_id for w in c] for c in calls] == [[first], [first, later]]


async def test_a_login_after_a_burst_does_not_tell_an_already_told_write_again(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tuckaway.accounts import signin as accounts
    from tuckaway.wire.dispatch import Dispatcher

    async def login(*args: Any) -> dict[str, Any]:
        return {"service": "pocket", "username": "u"}

    monkeypatch.setattr(accounts, "login", login)
    [held] = ctx.outbox.add_many([("pocket", "save", {"url": "https://e.org/held"})])
    ctx.outbox.claim("pocket", 10, 30)
    ctx.outbox.hold([held], {"code": "auth_failed", "message": "401"})
    backend_of(ctx).script = [Retry("rate_limited", "limit", retry_after=1.0)]
    frames: list[dict[str, Any]] = []
    dispatcher = Dispatcher(ctx, frames.append)
    dispatcher.handle_many([{"id": "w", "op": "save", "url": "https://e.org/told"}])
    await until(lambda: any(f.get("event") == "retrying" for f in frames))  # told once
    dispatcher.handle_many([{"id": "login", "op": "login", "service": "pocket"}])
    await until(lambda: any(f.get("id") == "login" and "ok" in f for f in frames))
    await until(lambda: any(f.get("id") == "w" and "ok" in f for f in frames))
    await dispatcher.finish(5)
    told = [f for f in frames if f.get("id") == "w" and f.get("event") == "retrying"]
    assert told == [{"id": "w", "event": "retrying", "reason": "rate_limited", "retry_after": 1}]
    assert ctx.outbox.counts() == {"done": 2}


async def test_a_write_arriving_during_another_processs_rate_limit_hears_so_and_waits(
    ctx: Context,
) -> None:
    from tuckaway import db

    other = Outbox(db.connect(ctx.settings.paths.db_path), "other-process")
    started = time.monotonic()  # before the reset is set: it counts from then
    other.set_not_before("pocket", time.time() + 1.0)
    batcher = Batcher(ctx)
    events: list[dict[str, Any]] = []
    [(_, future)] = enqueue(batcher, "https://e.org/other", events.append)
    await until(lambda: bool(events), timeout=0.9)  # before the reset, without a call
    assert backend_of(ctx).calls == []
    assert events == [{"event": "retrying", "reason": "rate_limited", "retry_after": 1}]
    final = await asyncio.wait_for(future, 10)
    await batcher.aclose()
    assert final.result is not None and time.monotonic() - started >= 1.0
    assert len(events) == 1 and len(backend_of(ctx).calls) == 1


async def test_local_saves_do_not_look_for_a_rate_limit(local_ctx: Context) -> None:
    statements: list[str] = []
    local_ctx.outbox.conn.set_trace_callback(statements.append)
    finals = await submit(local_ctx, [("save", {"url": f"https://e.org/{i}"}) for i in range(3)], 5)
    local_ctx.outbox.conn.set_trace_callback(None)
    assert all(f is not None and f.error is None for f in finals)
    assert any("FROM outbox" in s for s in statements)
    assert not [s for s in statements if "meta" in s]  # the local list has no rate limit


def test_no_row_is_claimed_before_the_services_reset_in_any_process(tmp_path: Path) -> None:
    from tuckaway import db

    path = tmp_path / "t.db"
    a, b = Outbox(db.connect(path), "a"), Outbox(db.connect(path), "b")
    b.add_many([("pocket", "save", {"url": "https://e.org/nb"})])
    until = time.time() + 60
    a.set_not_before("pocket", until)
    a.set_not_before("pocket", until - 30)  # an earlier reset does not shorten it
    assert b.claim("pocket", 10, 30) == []
    assert b.next_due("pocket") == pytest.approx(until)
    b.add_many([("local", "save", {"url": "https://e.org/other-service"})])
    assert len(b.claim("local", 10, 30)) == 1  # another service is not held back
    a.set_not_before("pocket", 0)
    assert b.not_before("pocket") == pytest.approx(until)


async def test_one_failed_write_fails_alone(ctx: Context) -> None:
    bad = "https://e.org/1"
    backend_of(ctx).script = [
        lambda w: (
            Failed(ActionFailed("nope"))
            if w.payload["url"] == bad
            else Done({"item_id": "x", "url": w.payload["url"]})
        )
    ]
    finals = await submit(ctx, saves(3), timeout_s=5)
    assert [f.error is None for f in finals if f] == [True, False, True]
    assert ctx.outbox.counts() == {"done": 2, "failed": 1}


async def test_hold_keeps_writes_until_login_releases_them(ctx: Context) -> None:
    backend_of(ctx).script = [Hold(AuthFailed("401"))]
    finals = await submit(ctx, saves(2), timeout_s=5)
    assert all(
        f is not None and f.error is not None and f.error.code == "auth_failed" for f in finals
    )
    assert ctx.outbox.counts() == {"held": 2}
    assert ctx.outbox.pending_count() == 2
    batcher = Batcher(ctx)
    assert batcher.release_held("pocket") == 2
    await batcher.finish(5)
    assert ctx.outbox.counts() == {"done": 2}


async def test_deferred_writes_go_in_the_next_batch(ctx: Context) -> None:
    backend_of(ctx).script = [
        lambda w: Defer() if w.op == "archive" else Done({"item_id": "1", "url": ""})
    ]
    await submit(
        ctx,
        [("save", {"url": "https://e.org/d"}), ("archive", {"url": "https://e.org/d"})],
        timeout_s=5,
    )
    calls = backend_of(ctx).calls
    assert [[w.op for w in c] for c in calls] == [["save", "archive"], ["archive"]]


async def test_a_crashing_backend_does_not_lose_the_write(ctx: Context) -> None:
    def boom(w: Write) -> Outcome:
        raise RuntimeError("bug")

    backend_of(ctx).script = [boom]
    finals = await submit(ctx, saves(1), timeout_s=10)
    assert finals[0] is not None and finals[0].result is not None
    assert len(backend_of(ctx).calls) == 2


async def test_a_crash_after_service_failures_is_retried_not_failed(ctx: Context) -> None:
    def boom(w: Write) -> Outcome:
        raise RuntimeError("bug")

    backend_of(ctx).script = [Retry("unavailable", "HTTP 503", None)] * 4 + [boom]
    finals = await submit(ctx, saves(1), timeout_s=20)
    assert finals[0] is not None and finals[0].result is not None, finals[0]
    assert len(backend_of(ctx).calls) == 6
    [entry] = ctx.outbox.entries(("done",))
    assert (entry.attempts, entry.crashes) == (6, 1)


async def test_a_write_that_keeps_crashing_the_backend_fails_after_max_crashes(
    ctx: Context,
) -> None:
    from tuckaway.delivery.worker import MAX_INTERNAL_ATTEMPTS

    def boom(w: Write) -> Outcome:
        raise RuntimeError("bug")

    backend_of(ctx).script = [boom] * 10
    finals = await submit(ctx, saves(1), timeout_s=20)
    assert finals[0] is not None and finals[0].error is not None
    assert finals[0].error.code == "internal"
    assert len(backend_of(ctx).calls) == MAX_INTERNAL_ATTEMPTS


def _fail_once(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[int]:
    """``owner.name`` raises "database is locked" on its first call only; the calls made."""
    real = getattr(owner, name)
    calls: list[int] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise sqlite3.OperationalError("database is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, flaky)
    return calls


@pytest.mark.parametrize("where", ["claim", "apply"])
async def test_a_failed_worker_pass_is_logged_and_the_write_still_answered(
    ctx: Context, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, where: str
) -> None:
    from tuckaway.delivery.worker import Worker

    if where == "claim":
        calls = _fail_once(monkeypatch, Outbox, "claim")
    else:
        calls = _fail_once(monkeypatch, Worker, "_record")
    batcher = Batcher(ctx)
    [(_, future)] = enqueue(batcher, "https://e.org/locked")
    final = await asyncio.wait_for(future, 10)
    await batcher.aclose()
    assert final.result is not None and len(calls) >= 2
    assert ctx.outbox.counts() == {"done": 1}
    failed = [r for r in caplog.records if "worker failed" in r.getMessage()]
    assert failed and failed[0].exc_info is not None  # with the traceback


def test_an_item_op_by_url_waits_for_an_undelivered_save_of_that_url(tmp_path: Path) -> None:
    from tuckaway import db

    box = Outbox(db.connect(tmp_path / "t.db"), "me")
    url = "https://e.org/x"
    [save_id] = box.add_many([("pocket", "save", {"url": url})])
    box.claim("pocket", 100, 30)
    box.retry([save_id], 60, {"code": "unavailable", "message": "down"})
    box.add_many([("pocket", "archive", {"url": url})])
    assert box.claim("pocket", 100, 30) == []


def test_next_due_ignores_a_write_behind_a_held_write_to_its_url(tmp_path: Path) -> None:
    from tuckaway import db

    box = Outbox(db.connect(tmp_path / "t.db"), "me")
    url = "https://e.org/held"
    [save_id] = box.add_many([("pocket", "save", {"url": url})])
    box.claim("pocket", 100, 30)
    box.hold([save_id], {"code": "auth_failed", "message": "401"})
    box.add_many([("pocket", "archive", {"url": url})])
    assert box.claim("pocket", 100, 30) == []
    assert box.next_due("pocket") is None  # nothing comes due until a login


def test_next_due_of_a_write_behind_a_backoff_is_the_backoffs_end(tmp_path: Path) -> None:
    from tuckaway import db

    box = Outbox(db.connect(tmp_path / "t.db"), "me")
    url = "https://e.org/wait"
    [save_id] = box.add_many([("pocket", "save", {"url": url})])
    box.claim("pocket", 100, 30)
    box.retry([save_id], 60, {"code": "rate_limited", "message": "429"})
    box.add_many([("pocket", "archive", {"url": url})])
    due = box.next_due("pocket")
    assert due is not None and due >= time.time() + 59


def test_next_due_of_a_write_behind_another_processs_lease_is_the_leases_end(
    tmp_path: Path,
) -> None:
    from tuckaway import db

    path = tmp_path / "t.db"
    a, b = Outbox(db.connect(path), "a"), Outbox(db.connect(path), "b")
    url = "https://e.org/leased"
    a.add_many([("pocket", "save", {"url": url})])
    assert len(a.claim("pocket", 100, 30)) == 1
    b.add_many([("pocket", "archive", {"url": url})])
    assert b.claim("pocket", 100, 30) == []
    due = b.next_due("pocket")
    assert due is not None and due >= time.time() + 29


def test_blocked_writes_do_not_crowd_a_due_write_out_of_the_claim(tmp_path: Path) -> None:
    from tuckaway import db

    box = Outbox(db.connect(tmp_path / "t.db"), "me")
    url = "https://e.org/blocker"
    [save_id] = box.add_many([("pocket", "save", {"url": url})])
    box.claim("pocket", 100, 30)
    box.hold([save_id], {"code": "auth_failed", "message": "401"})
    box.add_many([("pocket", "archive", {"url": url})] * 5)
    box.add_many([("pocket", "save", {"url": "https://e.org/free"})])
    assert [e.payload["url"] for e in box.claim("pocket", 3, 30)] == ["https://e.org/free"]


async def test_the_worker_does_not_spin_while_its_only_write_is_blocked(ctx: Context) -> None:
    url = "https://e.org/spin"
    [save_id] = ctx.outbox.add_many([("pocket", "save", {"url": url})])
    ctx.outbox.claim("pocket", 100, 30)
    ctx.outbox.hold([save_id], {"code": "auth_failed", "message": "401"})
    batcher = Batcher(ctx)
    batcher.enqueue([NewWrite("archive", {"url": url})])
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.get_running_loop().create_task(tick())
    await asyncio.sleep(0.5)
    ticker.cancel()
    started = time.monotonic()
    await batcher.finish(5)
    assert time.monotonic() - started < 1
    assert ticks >= 20  # the loop kept running other work
    assert backend_of(ctx).calls == []


def test_a_lease_keeps_other_processes_off_until_it_expires(tmp_path: Path) -> None:
    from tuckaway import db

    path = tmp_path / "t.db"
    a, b = Outbox(db.connect(path), "a"), Outbox(db.connect(path), "b")
    a.add_many([("local", "save", {"url": "https://e.org/1"})])
    assert len(a.claim("local", 10, lease_s=0.3)) == 1
    assert b.claim("local", 10, lease_s=30) == []
    time.sleep(0.35)
    assert len(b.claim("local", 10, lease_s=30)) == 1


def test_a_process_whose_lease_ran_out_cannot_overwrite_the_new_holders_outcome(
    tmp_path: Path,
) -> None:
    from tuckaway import db

    path = tmp_path / "t.db"
    a, b = Outbox(db.connect(path), "a"), Outbox(db.connect(path), "b")
    [entry_id] = a.add_many([("pocket", "save", {"url": "https://e.org/late"})])
    assert len(a.claim("pocket", 10, lease_s=0.1)) == 1
    time.sleep(0.15)
    assert len(b.claim("pocket", 10, lease_s=30)) == 1
    a.release([entry_id])  # a late Defer does not take b's lease away
    assert len(a.claim("pocket", 10, lease_s=30)) == 0
    b.complete([entry_id], {"item_id": "1"})
    a.retry([entry_id], 0, {"code": "unavailable", "message": "a's request timed out"})
    a.fail([entry_id], {"code": "action_failed", "message": "late"})
    a.hold([entry_id], {"code": "auth_failed", "message": "late"})
    entry = b.get([entry_id])[entry_id]
    assert (entry.state, entry.result, entry.attempts) == ("done", {"item_id": "1"}, 1)


class Slow(Scripted):
    """Each deliver() takes ``seconds``; ``started`` is set when one begins."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.started = asyncio.Event()

    async def deliver(self, writes: Sequence[Write]) -> list[Outcome]:
        self.started.set()
        await asyncio.sleep(self.seconds)
        return await super().deliver(writes)


async def test_a_delivery_longer_than_its_lease_keeps_the_lease(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tuckaway import db

    slow = Slow(1.8)
    ctx = scripted_context(tmp_path, monkeypatch, slow)
    ctx.settings = replace(ctx.settings, lease_s=0.6)
    other = Outbox(db.connect(ctx.settings.paths.db_path), "other-process")
    batcher = Batcher(ctx)
    [(_, future)] = enqueue(batcher, "https://e.org/long")
    await asyncio.wait_for(slow.started.wait(), 5)
    taken = []
    while not future.done():
        taken += other.claim("pocket", 10, 30)
        await asyncio.sleep(0.1)
    await batcher.aclose()
    assert taken == []  # no other process sent it again meanwhile
    assert (await future).result is not None
    assert ctx.outbox.counts() == {"done": 1}


async def test_stopping_with_a_request_in_flight_gives_its_lease_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tuckaway import db

    slow = Slow(3600)
    ctx = scripted_context(tmp_path, monkeypatch, slow)
    batcher = Batcher(ctx)
    [(entry_id, _)] = enqueue(batcher, "https://e.org/eof")
    await asyncio.wait_for(slow.started.wait(), 5)
    await batcher.aclose()
    other = Outbox(db.connect(ctx.settings.paths.db_path), "next-host")
    assert [e.id for e in other.claim("pocket", 10, 30)] == [entry_id]


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    assert 0.5 <= backoff_delay(0, 600) <= 1
    assert 4 <= backoff_delay(3, 600) <= 8
    assert backoff_delay(30, 600) <= 600
    draws = [backoff_delay(3, 600) for _ in range(20)]
    assert all(4 <= d <= 8 for d in draws)
    assert len(set(draws)) > 1  # jittered: not the same wait every time
    assert all(300 <= backoff_delay(30, 600) <= 600 for _ in range(20))


def test_the_backend_registry_names_every_service() -> None:
    assert set(context_module.BACKENDS) == {"local", "pocket", "mastodon", "wallabag", "readeck"}


async def test_local_writes_their_list_change_and_outcomes_are_one_transaction(
    local_ctx: Context,
) -> None:
    statements: list[str] = []
    local_ctx.outbox.conn.set_trace_callback(statements.append)
    urls = [f"https://e.org/one-commit/{i}" for i in range(3)]
    finals = await submit(local_ctx, [("save", {"url": url}) for url in urls], 5)
    local_ctx.outbox.conn.set_trace_callback(None)
    assert all(f is not None and f.error is None for f in finals)
    first = next(i for i, s in enumerate(statements) if s.startswith("INSERT INTO outbox"))
    last = max(i for i, s in enumerate(statements) if s.startswith("UPDATE outbox SET state"))
    between = statements[first:last]
    # (the trace repeats a statement once per trigger it fires: look for each url)
    assert all(any(s.startswith("INSERT INTO items (") and u in s for s in between) for u in urls)
    assert "COMMIT" not in between and "COMMIT" in statements[last:]
    assert local_ctx.outbox.counts() == {"done": 3}


async def test_a_local_write_behind_an_older_waiting_one_goes_after_it(
    local_ctx: Context,
) -> None:
    url = "https://e.org/older"
    [older] = local_ctx.outbox.add_many([("local", "save", {"url": url})])
    finals = await submit(local_ctx, [("favorite", {"url": url})], 5)
    assert finals[0] is not None and finals[0].error is None
    assert local_ctx.sent == [["save", "favorite"]]  # type: ignore[attr-defined]
    assert local_ctx.outbox.get([older])[older].state == "done"
    assert local_ctx.outbox.counts() == {"done": 2}


async def test_two_processes_count_one_burst_and_answer_each_other_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tuckaway.delivery import batcher as batcher_module

    # Only a wake-up can answer the other process's callers in time, and only the
    # burst counted across both processes reaches batch_max_actions before max delay.
    monkeypatch.setattr(batcher_module, "POLL_S", 3600)
    monkeypatch.setattr(Context, "service_for", lambda self, op: "pocket")
    settings = Settings.load({"TUCKAWAY_HOME": str(tmp_path)})
    settings = replace(settings, batch_quiet_ms=60_000, batch_max_delay_ms=60_000,
                       batch_max_actions=10)
    contexts = [Context(settings), Context(settings)]
    for c in contexts:
        c._backends["pocket"] = Scripted()  # type: ignore[assignment]
    batchers = [Batcher(c) for c in contexts]
    for b in batchers:
        b.start(("pocket",))
    futures = [
        q.future
        for n, b in enumerate(batchers)
        for q in b.enqueue([NewWrite("save", {"url": f"https://e.org/{n}/{i}"}) for i in range(5)])
    ]
    finals = await asyncio.wait_for(asyncio.gather(*futures), 20)
    for b in batchers:
        await b.aclose()
    assert all(f.result is not None for f in finals)
    calls = [call for c in contexts for call in backend_of(c).calls]
    assert [len(call) for call in calls] == [10]
