"""Faults between the host and the service: nothing is lost, every write arrives.

The real host process (``python -m tuckaway.wire.host``) talks to a real
``tuckaway serve`` through a fault-injecting proxy (tests/support/faultproxy.py)
on 127.0.0.1. The first tests check the proxy itself.
"""

from __future__ import annotations

import asyncio
import html.parser
import json
import queue
import signal
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import aiohttp
import pytest

from support.faultproxy import Fault, PocketService
from support.hostproc import HostProcess, frame, host_env, run_cli
from support.mastodon_standin import MastodonStandIn


def post(url: str, body: dict[str, Any], timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[PocketService]:
    with PocketService(tmp_path) as svc:
        yield svc


def add(svc: PocketService, url: str) -> tuple[int, dict[str, str], bytes]:
    return post(svc.url + "/v3/add", {"consumer_key": "k", "access_token": svc.token, "url": url})


# -- the proxy itself -------------------------------------------------------------------


def test_proxy_forwards_and_records_actions_without_credentials(service: PocketService) -> None:
    status, _, body = add(service, "https://a.example/1")
    assert status == 200 and json.loads(body)["item"]["given_url"] == "https://a.example/1"
    sent = post(
        service.url + "/v3/send",
        {
            "consumer_key": "k",
            "access_token": service.token,
            "actions": [{"action": "archive", "url": "https://a.example/1"}],
        },
    )
    assert sent[0] == 200
    records = service.records()
    assert [r.path for r in records] == ["/v3/add", "/v3/send"]
    assert records[0].actions == [{"action": "add", "url": "https://a.example/1"}]
    assert records[1].actions == [{"action": "archive", "url": "https://a.example/1"}]
    assert "https://a.example/1" in service.items()
    assert service.adds_per_url() == {"https://a.example/1": 1}


def test_proxy_answers_scripted_faults_in_order_then_forwards(service: PocketService) -> None:
    service.script(Fault.error(503), Fault.limit_403(7), Fault.limit_429(3))
    s1, _, _ = add(service, "https://b.example/")
    s2, h2, _ = add(service, "https://b.example/")
    s3, h3, _ = add(service, "https://b.example/")
    s4, _, _ = add(service, "https://b.example/")
    assert (s1, s2, s3, s4) == (503, 403, 429, 200)
    assert h2["X-Limit-User-Remaining"] == "0" and h2["X-Limit-User-Reset"] == "7"
    assert h3["Retry-After"] == "3"
    assert service.adds_per_url() == {"https://b.example/": 1}
    assert [r.fault for r in service.records()] == ["status:503", "limit_403", "limit_429", None]


def test_proxy_refuses_connections_then_listens_again_on_the_same_port(
    service: PocketService,
) -> None:
    port = service.proxy.port
    service.refuse()
    with pytest.raises(urllib.error.URLError) as info:
        add(service, "https://c.example/")
    assert isinstance(info.value.reason, ConnectionRefusedError)
    service.accept()
    assert service.proxy.port == port
    assert add(service, "https://c.example/")[0] == 200


def test_a_lost_reply_reaches_the_service_but_not_the_client(service: PocketService) -> None:
    service.script(Fault.lost_reply(), Fault.drop())
    assert add(service, "https://d.example/")[0] == 502
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        add(service, "https://e.example/")
    assert service.adds_per_url() == {"https://d.example/": 1}
    assert "https://e.example/" not in service.items()


def test_a_held_request_waits_for_release(service: PocketService) -> None:
    service.script(Fault.hold())
    answers: list[int] = []
    worker = threading.Thread(target=lambda: answers.append(add(service, "https://f.example/")[0]))
    worker.start()
    held = service.wait_held()
    assert [r.actions[0]["url"] for r in held] == ["https://f.example/"]
    assert answers == [] and "https://f.example/" not in service.items()
    assert service.release() == 1
    worker.join(10)
    assert answers == [200] and "https://f.example/" in service.items()


def test_chaos_with_a_seed_repeats_the_same_faults(tmp_path: Path) -> None:
    runs = []
    for n in range(2):
        with PocketService(tmp_path / str(n)) as svc:
            svc.chaos(0.5, seed=42, faults=[Fault.error(503), Fault.limit_429(1)])
            for i in range(20):
                add(svc, f"https://g.example/{i}")
            runs.append([r.fault for r in svc.records()])
    assert runs[0] == runs[1]
    assert 3 <= sum(1 for f in runs[0] if f) <= 17


# -- the real host, a real service, faults between them ---------------------------------

CONSUMER_KEY = "1234-faults"
#: small timings so the suite is quick; every one is a documented setting
FAST = {
    "TUCKAWAY_BATCH_QUIET_MS": "50",
    "TUCKAWAY_BATCH_MAX_DELAY_MS": "300",
    "TUCKAWAY_RETRY_MAX_S": "0.5",
    "TUCKAWAY_LEASE_S": "10",
    "TUCKAWAY_REQUEST_TIMEOUT_S": "5",
}


def pocket_env(
    home: Path, svc: PocketService, token: str | None = None, **extra: str
) -> dict[str, str]:
    """A host environment linked to ``svc`` (through its proxy) as a user would link it."""
    pytest.importorskip("tuckaway.services.pocket.backend")
    home.mkdir(parents=True, exist_ok=True)
    env = host_env(
        home,
        TUCKAWAY_POCKET_URL=svc.url,
        TUCKAWAY_POCKET_CONSUMER_KEY=CONSUMER_KEY,
        **{**FAST, **extra},
    )
    link = run_cli(
        env,
        "login",
        "pocket",
        "--access-token-stdin",
        "--consumer-key",
        CONSUMER_KEY,
        input=(token or svc.token) + "\n",
    )
    assert link.returncode == 0, link.stderr
    return env


def outbox_states(home: Path) -> dict[str, int]:
    """Rows of the host's outbox per state, read straight from its database."""
    conn = sqlite3.connect(home / "data" / "tuckaway.db", timeout=10)
    try:
        rows = conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall()
    finally:
        conn.close()
    return {str(state): int(n) for state, n in rows}


def wait_until(check: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.05)


class Frames:
    """Every frame a host wrote, read on demand."""

    def __init__(self, host: HostProcess) -> None:
        self.host = host
        self.seen: list[dict[str, Any]] = []

    def until(
        self, check: Callable[[list[dict[str, Any]]], bool], timeout: float = 30.0, what: str = ""
    ) -> None:
        deadline = time.monotonic() + timeout
        while not check(self.seen):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what}")
            try:
                self.seen.append(self.host.recv(timeout=min(left, 0.5)))
            except queue.Empty:
                continue

    def of(self, rid: Any) -> Settled:
        mine = [m for m in self.seen if m.get("id") == rid]
        finals = [m for m in mine if "ok" in m]
        assert len(finals) <= 1, f"{rid!r} got {len(finals)} final replies"
        return Settled([m for m in mine if "event" in m], finals[0] if finals else None)

    def settle(self, rids: list[Any], timeout: float = 30.0) -> dict[Any, Settled]:
        """Read until every request in ``rids`` has its final reply."""
        wanted = set(rids)

        def done(seen: list[dict[str, Any]]) -> bool:
            return wanted <= {m.get("id") for m in seen if "ok" in m}

        self.until(done, timeout, f"final replies for {len(wanted)} request(s)")
        return {rid: self.of(rid) for rid in rids}

    def request(self, message: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        self.host.send(message)
        rid = message["id"]
        self.until(
            lambda seen: any(m.get("id") == rid and "ok" in m for m in seen),
            timeout,
            f"reply to {rid!r}",
        )
        final = self.of(rid).final
        assert final is not None
        return final


@dataclass
class Settled:
    events: list[dict[str, Any]] = field(default_factory=list)
    final: dict[str, Any] | None = None

    @property
    def kinds(self) -> list[str]:
        return [e["event"] for e in self.events]

    @property
    def ok(self) -> bool:
        return self.final is not None and self.final["ok"] is True


def saves(prefix: str, n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"id": f"{prefix}{i}", "op": "save", "url": f"https://{prefix}.example/{i}", "tags": ["t"]}
        for i in range(start, start + n)
    ]


def send_all(host: HostProcess, requests: list[dict[str, Any]]) -> None:
    host.send_raw(b"".join(frame(r) for r in requests))


def assert_on_service_once(svc: PocketService, urls: list[str]) -> None:
    items = svc.items()
    missing = [u for u in urls if u not in items]
    assert not missing, f"{len(missing)} write(s) never reached the service: {missing[:5]}"
    adds = svc.adds_per_url()
    assert all(adds[u] == 1 for u in urls), {u: adds[u] for u in urls if adds[u] != 1}


def test_503_then_500_then_success_delivers_every_write_once(tmp_path: Path) -> None:
    with PocketService(tmp_path / "svc") as svc:
        home = tmp_path / "home"
        env = pocket_env(home, svc)
        svc.script(Fault.error(503), Fault.error(500))
        requests = saves("a", 5)
        with HostProcess(env) as host:
            frames = Frames(host)
            send_all(host, requests)
            settled = frames.settle([r["id"] for r in requests])
            pending = frames.request({"id": "h", "op": "hello"})["result"]["pending"]
        # the batch stays one batch through its retries
        assert [(r.path, r.status, len(r.actions)) for r in svc.records()] == [
            ("/v3/send", 503, 5),
            ("/v3/send", 500, 5),
            ("/v3/send", 200, 5),
        ]
        for r in requests:
            s = settled[r["id"]]
            assert s.kinds == ["queued", "retrying", "retrying"], s.events
            assert [(e["reason"], e["retry_after"]) for e in s.events[1:]] == [
                ("unavailable", 1),
                ("unavailable", 1),
            ]
            assert s.ok and s.final is not None, s.final
            assert s.final["result"]["url"] == r["url"] and s.final["result"]["item_id"]
        assert_on_service_once(svc, [r["url"] for r in requests])
        assert pending == 0 and outbox_states(home) == {"done": 5}


def test_a_batch_that_failed_whole_is_retried_as_one_request(tmp_path: Path) -> None:
    with PocketService(tmp_path / "svc") as svc:
        env = pocket_env(tmp_path / "home", svc)
        svc.script(Fault.error(503))
        requests = saves("r", 10)
        with HostProcess(env) as host:
            frames = Frames(host)
            send_all(host, requests)
            assert all(s.ok for s in frames.settle([r["id"] for r in requests]).values())
        assert [(r.path, r.status, len(r.actions)) for r in svc.records()] == [
            ("/v3/send", 503, 10),
            ("/v3/send", 200, 10),
        ]


@pytest.mark.parametrize(
    "fault",
    [
        Fault.limit_403(2),
        Fault.limit_403(2, window="Key"),
        Fault.limit_429(2),
        Fault.limit_429(2, header="X-RateLimit-Reset"),
    ],
    ids=["403-user", "403-key", "429-retry-after", "429-x-ratelimit-reset"],
)
def test_a_rate_limit_is_waited_out_then_every_write_is_delivered(
    tmp_path: Path, fault: Fault
) -> None:
    with PocketService(tmp_path / "svc") as svc:
        home = tmp_path / "home"
        env = pocket_env(home, svc)
        svc.script(fault)
        requests = saves("b", 3)
        with HostProcess(env) as host:
            frames = Frames(host)
            send_all(host, requests)
            settled = frames.settle([r["id"] for r in requests], timeout=12)
        for r in requests:
            s = settled[r["id"]]
            assert s.kinds == ["queued", "retrying"], s.events
            assert (s.events[1]["reason"], s.events[1]["retry_after"]) == ("rate_limited", 2)
            assert s.ok, s.final
        first, second = svc.records()
        assert (first.status, second.status, len(second.actions)) == (fault.status, 200, 3)
        # the host honoured the reset: it did not ask again before it
        assert second.at - first.at >= 2.0
        assert_on_service_once(svc, [r["url"] for r in requests])


def test_a_write_arriving_during_a_rate_limit_is_sent_only_after_the_reset(
    tmp_path: Path,
) -> None:
    with PocketService(tmp_path / "svc") as svc:
        env = pocket_env(tmp_path / "home", svc)
        svc.script(Fault.limit_403(3))
        first, later = "https://window.example/a", "https://window.example/b"
        with HostProcess(env) as host:
            frames = Frames(host)
            host.send({"id": "a", "op": "save", "url": first})
            frames.until(
                lambda seen: any(m.get("event") == "retrying" for m in seen), what="a retrying"
            )
            host.send({"id": "b", "op": "save", "url": later})
            frames.until(
                lambda seen: any(m.get("id") == "b" and m.get("event") == "retrying" for m in seen),
                timeout=1.5,
                what="b told of the rate limit at once",
            )
            assert len(svc.records()) == 1  # without asking the service
            # `tuckaway queue` tells when the new write is tried: after the reset, not now.
            queued = run_cli(env, "queue", "--json")
            assert queued.returncode == 0, queued.stderr
            waiting = {e["payload"]["url"]: e for e in json.loads(queued.stdout)}
            assert waiting[later]["next_attempt"] >= time.time() + 0.5
            settled = frames.settle(["a", "b"], timeout=10)
        b = settled["b"]
        assert b.kinds == ["queued", "retrying"] and b.ok, b.events
        assert b.events[1]["reason"] == "rate_limited" and 1 <= b.events[1]["retry_after"] <= 3
        limited, sent = svc.records()
        assert (limited.status, sent.status) == (403, 200)
        assert sent.at - limited.at >= 3.0  # the reset held back the new write too
        assert [a["url"] for a in sent.actions] == [first, later]
        assert_on_service_once(svc, [first, later])


def test_service_down_for_a_while_then_up_delivers_every_write(tmp_path: Path) -> None:
    with PocketService(tmp_path / "svc") as svc:
        home = tmp_path / "home"
        env = pocket_env(home, svc)
        svc.refuse()
        requests = saves("c", 4)
        with HostProcess(env) as host:
            frames = Frames(host)
            send_all(host, requests)

            def retries(seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
                return [m for m in seen if m.get("id") == "c0" and m.get("event") == "retrying"]

            frames.until(lambda seen: len(retries(seen)) >= 2, what="two retries while down")
            assert {e["reason"] for e in retries(frames.seen)} == {"unavailable"}
            assert outbox_states(home).get("pending") == 4
            assert not svc.records()
            svc.accept()
            settled = frames.settle([r["id"] for r in requests])
        assert all(s.ok for s in settled.values())
        assert_on_service_once(svc, [r["url"] for r in requests])
        assert outbox_states(home) == {"done": 4}


def queue_json(env: dict[str, str]) -> list[dict[str, Any]]:
    """``tuckaway queue --json``, as a user runs it."""
    proc = run_cli(env, "queue", "--json")
    assert proc.returncode == 0, proc.stderr
    entries: list[dict[str, Any]] = json.loads(proc.stdout)
    return entries


def lookups(frames: Frames, urls: list[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for n, url in enumerate(urls):
        reply = frames.request({"id": f"lookup-{n}-{time.monotonic()}", "op": "lookup", "url": url})
        assert reply["ok"], reply
        out[url] = reply["result"]
    return out


def queued_all(rids: list[Any]) -> Callable[[list[dict[str, Any]]], bool]:
    def check(seen: list[dict[str, Any]]) -> bool:
        return set(rids) <= {m.get("id") for m in seen if m.get("event") == "queued"}

    return check


@pytest.mark.parametrize("arrived", [False, True], ids=["request-lost", "request-applied"])
def test_a_host_killed_mid_batch_leaves_it_for_the_next_host_to_deliver(
    tmp_path: Path, arrived: bool
) -> None:
    with PocketService(tmp_path / "svc") as svc:
        home = tmp_path / "home"
        env = pocket_env(home, svc, TUCKAWAY_LEASE_S="2")
        svc.script(Fault.hold())
        requests = saves("k", 6)
        urls = [r["url"] for r in requests]
        first = HostProcess(env)
        try:
            frames = Frames(first)
            send_all(first, requests)
            frames.until(queued_all([r["id"] for r in requests]), what="queued")
            (held,) = svc.wait_held()
            assert [a["url"] for a in held.actions] == urls
            first.proc.send_signal(signal.SIGKILL)
            assert first.wait() == -signal.SIGKILL
        finally:
            first.kill()
        # the request the dead host sent either never arrives or arrives after its death
        svc.release(forward=arrived)
        left = queue_json(env)
        assert [(e["payload"]["url"], e["state"]) for e in left] == [(u, "pending") for u in urls]
        with HostProcess(env) as second:
            frames = Frames(second)
            assert frames.request({"id": "h", "op": "hello"})["result"]["pending"] == 6
            wait_until(lambda: outbox_states(home) == {"done": 6}, what="the second host drains")
            assert all(v["saved"] and v["pending"] == 0 for v in lookups(frames, urls).values())
        items = svc.items()
        assert all(u in items for u in urls)
        # the batch was marked sent before the call: the second host asks the service
        # (/v3/get since then) before sending it again, and sends only what is missing
        assert svc.adds_per_url() == {u: 1 for u in urls}
        assert queue_json(env) == []


def test_two_hosts_on_one_database_deliver_200_writes_once_or_harmlessly_twice(
    tmp_path: Path,
) -> None:
    with PocketService(tmp_path / "svc") as svc:
        home = tmp_path / "home"
        env = pocket_env(home, svc, TUCKAWAY_BATCH_MAX_ACTIONS="15")
        svc.chaos(0.3, seed=11, faults=[Fault.delay(0.3), Fault.error(503)])
        requests = saves("two", 200)
        with HostProcess(env) as one, HostProcess(env) as two:
            hosts = [Frames(one), Frames(two)]
            mine: list[list[Any]] = [[], []]
            for chunk in range(20):  # interleaved bursts of ten, alternating hosts
                part = requests[chunk * 10 : chunk * 10 + 10]
                send_all(hosts[chunk % 2].host, part)
                mine[chunk % 2].extend(r["id"] for r in part)
                time.sleep(0.01)
            settled = [f.settle(ids, timeout=60) for f, ids in zip(hosts, mine, strict=True)]
        answers = {rid: s for per_host in settled for rid, s in per_host.items()}
        assert len(answers) == 200 and all(s.ok for s in answers.values())
        urls = [r["url"] for r in requests]
        assert all(answers[r["id"]].final["result"]["url"] == r["url"] for r in requests)  # type: ignore[index]
        items = svc.items()
        assert [u for u in urls if u not in items] == []
        adds = svc.adds_per_url()
        assert all(adds[u] in (1, 2) for u in urls), {u: adds[u] for u in urls if adds[u] > 2}
        assert len(items) == 200  # a second add of a url is the same item
        assert outbox_states(home) == {"done": 200}
        print(
            f"\ntwo hosts: 200 writes, {len(svc.records())} service calls, "
            f"{sum(adds.values()) - 200} duplicate add(s), faults {dict(svc.proxy.faults())}"
        )


def test_eof_while_a_burst_is_coalescing_delivers_it_then_exits_0(tmp_path: Path) -> None:
    with PocketService(tmp_path / "svc") as svc:
        home = tmp_path / "home"
        env = pocket_env(
            home, svc, TUCKAWAY_BATCH_QUIET_MS="20000", TUCKAWAY_BATCH_MAX_DELAY_MS="60000"
        )
        requests = saves("eof", 5)
        host = HostProcess(env)
        frames = Frames(host)
        send_all(host, requests)
        frames.until(queued_all([r["id"] for r in requests]), what="queued")
        host.close_stdin()
        assert host.wait(timeout=20) == 0
        assert [(r.path, len(r.actions)) for r in svc.records()] == [("/v3/send", 5)]
        assert_on_service_once(svc, [r["url"] for r in requests])
        assert outbox_states(home) == {"done": 5}


def test_eof_with_a_batch_stuck_in_flight_exits_0_and_a_later_host_delivers_it(
    tmp_path: Path,
) -> None:
    with PocketService(tmp_path / "svc") as svc:
        home = tmp_path / "home"
        env = pocket_env(home, svc, TUCKAWAY_REQUEST_TIMEOUT_S="1.5")
        urls = eof_while_a_request_hangs(svc, env, saves("stuck", 4))
        left = queue_json(env)
        assert [(e["payload"]["url"], e["state"]) for e in left] == [(u, "pending") for u in urls]
        assert all(e["last_error"]["code"] == "unavailable" for e in left)
        a_later_host_delivers(svc, env, home, urls)
        assert queue_json(env) == []


def eof_while_a_request_hangs(
    svc: PocketService, env: dict[str, str], requests: list[dict[str, Any]]
) -> list[str]:
    """Send ``requests``, hold the service's answer, close the port: the host exits 0."""
    svc.script(Fault.hold())
    host = HostProcess(env)
    frames = Frames(host)
    send_all(host, requests)
    frames.until(queued_all([r["id"] for r in requests]), what="queued")
    svc.wait_held()
    host.close_stdin()
    assert host.wait(timeout=20) == 0
    return [r["url"] for r in requests]


def a_later_host_delivers(
    svc: PocketService, env: dict[str, str], home: Path, urls: list[str], timeout: float = 30
) -> None:
    """The held request is dropped unanswered; the next host sends every write, once."""
    svc.release(forward=False)
    with HostProcess(env) as later:
        Frames(later).request({"id": "h", "op": "hello"})
        wait_until(
            lambda: outbox_states(home) == {"done": len(urls)},
            timeout=timeout,
            what="the later host drains",
        )
    assert_on_service_once(svc, urls)


def leases(home: Path) -> list[tuple[str | None, float]]:
    """(lease_owner, lease_until) of every undelivered row, read straight from the database."""
    conn = sqlite3.connect(home / "data" / "tuckaway.db", timeout=10)
    try:
        rows = conn.execute(
            "SELECT lease_owner, lease_until FROM outbox WHERE state != 'done' ORDER BY id"
        ).fetchall()
    finally:
        conn.close()
    return [(owner, float(until)) for owner, until in rows]


def test_eof_with_a_request_in_flight_gives_its_lease_back_for_the_next_host(
    tmp_path: Path,
) -> None:
    with PocketService(tmp_path / "svc") as svc:
        home = tmp_path / "home"
        # the request outlasts the EOF grace (10 s) and the lease is long: only a
        # lease given back lets the next host send the writes at once
        env = pocket_env(home, svc, TUCKAWAY_REQUEST_TIMEOUT_S="30", TUCKAWAY_LEASE_S="120")
        urls = eof_while_a_request_hangs(svc, env, saves("cut", 3))
        assert leases(home) == [(None, 0.0)] * 3
        a_later_host_delivers(svc, env, home, urls, timeout=5)


def test_a_request_longer_than_the_lease_is_not_sent_again_by_another_host(
    tmp_path: Path,
) -> None:
    with PocketService(tmp_path / "svc") as svc:
        home = tmp_path / "home"
        env = pocket_env(home, svc, TUCKAWAY_LEASE_S="1")
        svc.script(Fault.delay(3))
        requests = saves("long", 3)
        with HostProcess(env) as one:
            frames = Frames(one)
            send_all(one, requests)
            frames.until(lambda seen: len(svc.records()) == 1, what="the batch sent")
            with HostProcess(env) as two:
                Frames(two).request({"id": "h", "op": "hello"})
                settled = frames.settle([r["id"] for r in requests], timeout=15)
                time.sleep(1.5)  # another lease_s: the second host still sends nothing
        assert all(s.ok for s in settled.values())
        assert len(svc.records()) == 1, [(r.path, r.fault, r.actions) for r in svc.records()]
        assert_on_service_once(svc, [r["url"] for r in requests])
        assert outbox_states(home) == {"done": 3}


class _Form(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")


def approve(url: str) -> str:
    """Open the service's approval page and press Approve, as a user would; the final page."""

    async def run() -> str:
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as resp:
                page, where = await resp.text(), str(resp.url)
            form = _Form()
            form.feed(page)
            assert form.action is not None, page[:500]
            data = {**form.fields, "decision": "approve"}
            async with http.post(urljoin(where, form.action), data=data) as resp:
                return await resp.text()

    return asyncio.run(run())


def test_401_holds_writes_until_a_new_login_and_answers_auth_failed(tmp_path: Path) -> None:
    with PocketService(tmp_path / "svc") as svc:
        home = tmp_path / "home"
        env = pocket_env(home, svc, token="revoked-or-never-valid")
        requests = saves("auth", 3)
        urls = [r["url"] for r in requests]
        with HostProcess(env) as host:
            frames = Frames(host)
            send_all(host, requests)
            settled = frames.settle([r["id"] for r in requests])
            assert all(
                s.final and s.final["error"]["code"] == "auth_failed" for s in settled.values()
            )
            assert "revoked-or-never-valid" not in json.dumps([s.final for s in settled.values()])
            assert frames.request({"id": "h1", "op": "hello"})["result"]["pending"] == 3
            held = queue_json(env)
            assert [(e["payload"]["url"], e["state"]) for e in held] == [(u, "held") for u in urls]
            assert all(e["last_error"]["code"] == "auth_failed" for e in held)
            listing = run_cli(env, "queue")
            assert listing.returncode == 0 and listing.stdout.count("held") == 3
            calls = len(svc.records())
            time.sleep(1.0)  # held writes are not retried on their own
            assert len(svc.records()) == calls
            # a new sign-in through the extension releases them
            host.send({"id": "login", "op": "login", "service": "pocket"})
            frames.until(
                lambda seen: any(m.get("event") == "authorize" for m in seen), what="authorize"
            )
            (event,) = [m for m in frames.seen if m.get("event") == "authorize"]
            assert "close this tab" in approve(event["url"])
            frames.settle(["login"])
            wait_until(lambda: outbox_states(home) == {"done": 3}, what="held writes delivered")
            assert frames.request({"id": "h2", "op": "hello"})["result"]["pending"] == 0
        assert_on_service_once(svc, urls)


def test_hello_lookup_and_tags_answer_while_the_service_is_down(tmp_path: Path) -> None:
    with PocketService(tmp_path / "svc") as svc:
        home = tmp_path / "home"
        env = pocket_env(home, svc)
        known = "https://read.example/known"
        new = "https://read.example/new"
        with HostProcess(env) as host:
            frames = Frames(host)
            saved = frames.request(
                {"id": "s0", "op": "save", "url": known, "tags": ["alpha", "beta"]}
            )
            assert saved["ok"], saved

            def reads_answer() -> None:
                t0 = time.monotonic()
                hello = frames.request({"id": f"h{t0}", "op": "hello"}, timeout=3)
                assert hello["result"]["pending"] == 1 and hello["result"]["backend"] == "pocket"
                got = lookups(frames, [known, new])
                assert got[known]["saved"] and got[known]["tags"] == ["alpha", "beta"]
                assert got[new] == {**got[new], "saved": False, "pending": 1}
                tags = frames.request({"id": f"t{t0}", "op": "tags", "prefix": "al"}, timeout=3)
                assert tags["result"]["tags"] == ["alpha"]

            # a request hangs at the service
            svc.script(Fault.hold())
            host.send({"id": "s1", "op": "save", "url": new})
            svc.wait_held()
            reads_answer()
            # the service refuses connections
            svc.refuse()
            svc.release(forward=False)
            frames.until(
                lambda seen: any(
                    m.get("id") == "s1" and m.get("event") == "retrying" for m in seen
                ),
                what="s1 retrying",
            )
            reads_answer()
            svc.accept()
            final = frames.settle(["s1"])["s1"]
            assert final.ok, final
        assert_on_service_once(svc, [known, new])


@pytest.mark.parametrize("fault", [Fault.error(503), Fault.lost_reply()], ids=["503", "lost"])
def test_a_retried_write_does_not_overtake_a_later_write_to_the_same_item(
    tmp_path: Path, fault: Fault
) -> None:
    with PocketService(tmp_path / "svc") as svc:
        env = pocket_env(tmp_path / "home", svc, TUCKAWAY_RETRY_MAX_S="3")
        url = "https://order.example/"
        with HostProcess(env) as host:
            frames = Frames(host)
            assert frames.request({"id": "s", "op": "save", "url": url})["ok"]
            svc.script(fault)
            host.send({"id": "fav", "op": "favorite", "url": url})
            frames.until(
                lambda seen: any(
                    m.get("id") == "fav" and m.get("event") == "retrying" for m in seen
                ),
                what="favorite retrying",
            )
            host.send({"id": "unfav", "op": "unfavorite", "url": url})
            frames.settle(["fav", "unfav"])
        # the user's last word was "unfavorite"
        assert svc.items()[url]["favorite"] == "0", [
            (r.status, r.fault, r.actions) for r in svc.records()
        ]


def test_repeats_in_one_burst_keep_their_order_on_the_service(tmp_path: Path) -> None:
    with PocketService(tmp_path / "svc") as svc:
        env = pocket_env(tmp_path / "home", svc)
        toggled, readded = "https://toggle.example/", "https://readd.example/"
        with HostProcess(env) as host:
            frames = Frames(host)
            assert frames.request({"id": "s", "op": "save", "url": toggled})["ok"]
            burst = [
                {"id": "f1", "op": "favorite", "url": toggled},
                {"id": "u", "op": "unfavorite", "url": toggled},
                {"id": "f2", "op": "favorite", "url": toggled},
            ]
            send_all(host, burst)
            assert all(s.ok for s in frames.settle([r["id"] for r in burst]).values())
            toggles = svc.records()[-1].actions
            burst = [
                {"id": "s1", "op": "save", "url": readded},
                {"id": "a", "op": "archive", "url": readded},
                {"id": "s2", "op": "save", "url": readded},
            ]
            send_all(host, burst)
            assert all(s.ok for s in frames.settle([r["id"] for r in burst]).values())
        assert [a["action"] for a in toggles] == ["favorite", "unfavorite", "favorite"]
        sent = [a["action"] for r in svc.records()[2:] for a in r.actions]
        assert sent == ["add", "archive", "add"]
        items = svc.items()
        assert items[toggled]["favorite"] == "1"  # the user's last word was "favorite"
        assert items[readded]["status"] == "0"  # ... and here "save" again: unread


def test_bookmark_unbookmark_bookmark_sent_together_ends_bookmarked(
    home: Path, standin: MastodonStandIn
) -> None:
    env = host_env(home)
    post = standin.add_status()
    with HostProcess(env) as host:
        frames = Frames(host)
        for rid, op in [("b1", "bookmark"), ("u", "unbookmark"), ("b2", "bookmark")]:
            host.send({"id": rid, "op": op, "status_id": post.id})
            final = frames.settle([rid])[rid].final  # no account yet: kept, in order
            assert final is not None and final["error"]["code"] == "not_linked", final
    standin.link(env)  # signing in sends what waited, in order
    sent = [r.path.rsplit("/", 1)[-1] for r in standin.requests_to("/api/v1/statuses")]
    assert sent == ["bookmark", "unbookmark", "bookmark"]
    assert standin.bookmarked_ids() == [post.id]


@pytest.mark.parametrize("blocker", ["held", "rate_limited"])
def test_reads_and_eof_answer_at_once_while_a_write_waits_behind_an_earlier_one_to_its_url(
    tmp_path: Path, blocker: str
) -> None:
    with PocketService(tmp_path / "svc") as svc:
        home = tmp_path / "home"
        if blocker == "held":
            env = pocket_env(home, svc, token="revoked-or-never-valid")
        else:
            env = pocket_env(home, svc, TUCKAWAY_RETRY_MAX_S="600")
            svc.script(Fault.limit_429(30))
        url = "https://behind.example/"
        host = HostProcess(env)
        try:
            frames = Frames(host)
            host.send({"id": "s", "op": "save", "url": url})
            if blocker == "held":
                final = frames.settle(["s"])["s"].final
                assert final is not None and final["error"]["code"] == "auth_failed"
            else:
                frames.until(
                    lambda seen: any(m.get("event") == "retrying" for m in seen), what="retrying"
                )
            host.send({"id": "a", "op": "archive", "url": url})
            frames.until(queued_all(["a"]), what="archive queued")
            time.sleep(0.3)  # the worker has looked at the archive that waits for the save
            started = time.monotonic()
            hello = frames.request({"id": "h", "op": "hello"}, timeout=3)
            lookup = frames.request({"id": "l", "op": "lookup", "url": url}, timeout=3)
            assert time.monotonic() - started < 2
            assert hello["result"]["pending"] == 2 and lookup["result"]["pending"] == 2
            host.close_stdin()
            started = time.monotonic()
            assert host.wait(timeout=10) == 0
            assert time.monotonic() - started < 3
        finally:
            host.kill()
        left = queue_json(env)
        assert [(e["op"], e["state"]) for e in left] == [
            ("save", "held" if blocker == "held" else "pending"),
            ("archive", "pending"),
        ]
        assert len(svc.records()) == 1  # the save's; the archive was never sent


def test_a_login_from_the_command_line_delivers_held_writes_but_not_dropped_ones(
    tmp_path: Path,
) -> None:
    with PocketService(tmp_path / "svc") as svc:
        home = tmp_path / "home"
        env = pocket_env(home, svc, token="not-a-token")
        requests = saves("cli", 3)
        with HostProcess(env) as host:
            frames = Frames(host)
            send_all(host, requests)
            frames.settle([r["id"] for r in requests])
        held = queue_json(env)
        assert [e["state"] for e in held] == ["held"] * 3
        dropped = run_cli(env, "queue", "drop", str(held[2]["id"]))
        assert dropped.returncode == 0, dropped.stderr
        assert run_cli(env, "queue", "drop", str(held[2]["id"])).returncode == 1
        relink = run_cli(
            env,
            "login",
            "pocket",
            "--access-token-stdin",
            "--consumer-key",
            CONSUMER_KEY,
            input=svc.token + "\n",
        )
        assert relink.returncode == 0, relink.stderr
        wait_until(lambda: outbox_states(home) == {"done": 2}, timeout=10, what="delivered")
        assert queue_json(env) == []
        assert_on_service_once(svc, [r["url"] for r in requests[:2]])
        assert requests[2]["url"] not in svc.items()


def test_a_write_dropped_from_the_queue_while_its_port_waits_is_answered(
    tmp_path: Path,
) -> None:
    with PocketService(tmp_path / "svc") as svc:
        home = tmp_path / "home"
        env = pocket_env(home, svc, TUCKAWAY_RETRY_MAX_S="30")
        svc.refuse()
        with HostProcess(env) as host:
            frames = Frames(host)
            host.send({"id": "x", "op": "save", "url": "https://dropped.example/"})
            frames.until(
                lambda seen: any(m.get("event") == "retrying" for m in seen), what="retrying"
            )
            [entry] = queue_json(env)
            dropped = run_cli(env, "queue", "drop", str(entry["id"]))
            assert dropped.returncode == 0, dropped.stderr
            frames.settle(["x"], timeout=5)
            final = frames.of("x").final
            assert final is not None and final["ok"] is False
            assert final["error"]["code"] == "action_failed"
            assert "tuckaway queue drop" in final["error"]["message"]
            assert frames.request({"id": "h", "op": "hello"})["result"]["pending"] == 0
        svc.accept()
        assert svc.records() == [] and queue_json(env) == []


def test_queue_retry_sends_what_a_closed_port_left_and_exits_0(tmp_path: Path) -> None:
    with PocketService(tmp_path / "svc") as svc:
        home = tmp_path / "home"
        env = pocket_env(home, svc, TUCKAWAY_RETRY_MAX_S="30")
        svc.refuse()
        with HostProcess(env) as host:
            frames = Frames(host)
            host.send({"id": "x", "op": "save", "url": "https://left.example/"})
            frames.until(
                lambda seen: any(m.get("event") == "retrying" for m in seen), what="retrying"
            )
        assert [e["state"] for e in queue_json(env)] == ["pending"]
        svc.accept()
        retried = run_cli(env, "queue", "retry")
        assert retried.returncode == 0, retried.stderr
        assert retried.stdout.splitlines() == [
            "retrying 1 write(s)",
            "0 write(s) still waiting or failed",
        ]
        assert_on_service_once(svc, ["https://left.example/"])


def test_a_timeout_is_retried_and_the_late_answer_makes_at_most_a_harmless_duplicate(
    tmp_path: Path,
) -> None:
    with PocketService(tmp_path / "svc") as svc:
        home = tmp_path / "home"
        env = pocket_env(home, svc, TUCKAWAY_REQUEST_TIMEOUT_S="1")
        svc.script(Fault.delay(2.5))  # the service gets it late, the host has given up
        requests = saves("slow", 4)
        urls = [r["url"] for r in requests]
        with HostProcess(env) as host:
            frames = Frames(host)
            send_all(host, requests)
            settled = frames.settle([r["id"] for r in requests])
        for s in settled.values():
            assert s.kinds[:2] == ["queued", "retrying"] and s.events[1]["reason"] == "unavailable"
            assert s.ok, s.final
        wait_until(lambda: len(svc.delivered_actions()) >= 8, timeout=5, what="the late batch")
        items = svc.items()
        assert all(u in items for u in urls) and len(items) == 4
        assert svc.adds_per_url() == {u: 2 for u in urls}
        assert outbox_states(home) == {"done": 4}


def test_a_new_host_delivers_waiting_writes_without_a_message(tmp_path: Path) -> None:
    with PocketService(tmp_path / "svc") as svc:
        home = tmp_path / "home"
        env = pocket_env(home, svc)
        svc.refuse()
        requests = saves("w", 3)
        with HostProcess(env) as host:
            frames = Frames(host)
            send_all(host, requests)
            frames.until(
                lambda seen: any(m.get("event") == "retrying" for m in seen), what="a retry"
            )
        assert outbox_states(home).get("pending") == 3  # the browser closed while down
        svc.accept()
        with HostProcess(env):  # connected at browser start; it sends nothing
            wait_until(lambda: outbox_states(home) == {"done": 3}, what="drained at start")
        assert_on_service_once(svc, [r["url"] for r in requests])
