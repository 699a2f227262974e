"""A bounded soak: thousands of writes through two real hosts under random faults.

Two host processes share one TUCKAWAY_HOME (two browsers) and talk to a real
``tuckaway serve`` through the fault proxy in seeded random-fault mode: 5xx,
403/429 rate limits, slow answers, dropped connections and answers lost after
the service applied the batch. Midway one host is killed with SIGKILL and a new
one takes its place. In the end every write must be on the service, every
request that was still connected must have had exactly one successful reply,
and the outbox must be empty. Counts are printed (``pytest -s`` shows them).

``TUCKAWAY_SOAK_SEED`` picks the fault sequence (default 20261122) and
``TUCKAWAY_SOAK_WRITES`` the number of writes (default 3000).
"""

from __future__ import annotations

import collections
import os
import queue
import signal
import threading
import time
from pathlib import Path
from typing import Any

from support.faultproxy import CHAOS_FAULTS, PocketService
from support.hostproc import HostProcess, frame
from test_faults import outbox_states, pocket_env, wait_until

SEED = int(os.environ.get("TUCKAWAY_SOAK_SEED", "20261122"))
WRITES = int(os.environ.get("TUCKAWAY_SOAK_WRITES", "3000"))
FAULT_RATE = 0.3


class Collector:
    """Reads one host's frames in a thread: events and final replies per request id."""

    def __init__(self, host: HostProcess) -> None:
        self.host = host
        self.finals: dict[Any, list[dict[str, Any]]] = collections.defaultdict(list)
        self.events: collections.Counter[str] = collections.Counter()
        self.retrying: collections.Counter[str] = collections.Counter()
        self.queued: set[Any] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                kind, msg = self.host.frames.get(timeout=0.2)
            except queue.Empty:
                continue
            if kind != "frame":
                return
            if "event" in msg:
                self.events[msg["event"]] += 1
                if msg["event"] == "queued":
                    self.queued.add(msg["id"])
                if msg["event"] == "retrying":
                    self.retrying[msg["reason"]] += 1
            else:
                self.finals[msg["id"]].append(msg)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def plan(n: int) -> list[dict[str, Any]]:
    """Half saves, a quarter tags_add and a quarter archive of saved urls, interleaved."""
    saves = n // 2
    requests: list[dict[str, Any]] = []
    for i in range(saves):
        url = f"https://soak.example/{i}"
        requests.append({"id": f"s{i}", "op": "save", "url": url, "tags": ["soak"]})
        if i % 2 == 1:
            j = i - 1  # an item op on the url saved just before (its save may be in flight)
            other = f"https://soak.example/{j}"
            requests.append({"id": f"t{j}", "op": "tags_add", "url": other, "tags": [f"k{j % 7}"]})
            requests.append({"id": f"a{j}", "op": "archive", "url": other})
    return requests[:n]


def test_soak_thousands_of_writes_under_random_faults_all_delivered(tmp_path: Path) -> None:
    started = time.monotonic()
    with PocketService(tmp_path / "svc") as svc:
        home = tmp_path / "home"
        # a short lease: the killed host's claim runs out quickly
        env = pocket_env(home, svc, TUCKAWAY_LEASE_S="3", TUCKAWAY_BATCH_MAX_ACTIONS="50")
        svc.chaos(FAULT_RATE, seed=SEED, faults=CHAOS_FAULTS)
        requests = plan(WRITES)
        chunks = [requests[i : i + 150] for i in range(0, len(requests), 150)]
        hosts = [HostProcess(env), HostProcess(env)]
        collectors = [Collector(h) for h in hosts]
        sent_to: dict[Any, int] = {}
        killed_at = len(chunks) // 2
        replaced: list[HostProcess] = []
        try:
            for n, chunk in enumerate(chunks):
                which = n % 2
                if n == killed_at:
                    # a browser crashes with accepted writes in its queue; another starts
                    mine = [rid for rid, w in sent_to.items() if w == -1]
                    first = collectors[0]
                    wait_until(lambda: first.queued >= set(mine), what="host 0 accepted")
                    hosts[0].proc.send_signal(signal.SIGKILL)
                    hosts[0].wait()
                    replaced.append(hosts[0])
                    collectors[0].stop()
                    hosts[0] = HostProcess(env)
                    collectors[0] = Collector(hosts[0])
                hosts[which].send_raw(b"".join(frame(r) for r in chunk))
                for r in chunk:
                    sent_to[r["id"]] = which if n >= killed_at or which == 1 else -1
                # the next burst (perhaps tags for these saves, from the other browser)
                # comes after the host has accepted this one, as a user's would
                ids = {r["id"] for r in chunk}
                taker = collectors[which]
                wait_until(lambda: taker.queued >= ids, what=f"burst {n} accepted")
            try:
                wait_until(
                    lambda: not outbox_states(home).keys() & {"pending", "held"},
                    timeout=50,
                    what="outbox drained",
                )
            except AssertionError:
                print(diagnose(home, svc))
                raise
            # the live hosts answer every request they still hold
            live = [rid for rid, w in sent_to.items() if w >= 0]
            wait_until(
                lambda: all(rid in collectors[sent_to[rid]].finals for rid in live),
                timeout=10,
                what="final replies",
            )
        finally:
            for h in hosts:
                h.close_stdin()
            for h in hosts:
                assert h.wait(timeout=20) == 0
            for c in collectors:
                c.stop()
            for h in replaced:
                h.kill()
        elapsed = time.monotonic() - started

        finals = {rid: f for c in collectors for rid, f in c.finals.items()}
        bad = {rid: f for rid, f in finals.items() if len(f) != 1 or not f[0]["ok"]}
        assert not bad, list(bad.items())[:5]
        assert outbox_states(home) == {"done": len(requests)}

        saves = [r for r in requests if r["op"] == "save"]
        assert_on_service_once_or_more(svc, [r["url"] for r in saves])
        items = svc.items()
        for r in requests:
            item = items[r["url"]]
            if r["op"] == "tags_add":
                assert r["tags"][0] in (item.get("tags") or {}), (r, item.get("tags"))
            elif r["op"] == "archive":
                assert item["status"] == "1", (r, item["status"])
            else:
                assert "soak" in (item.get("tags") or {})

        records = svc.records()
        delivered = svc.delivered_actions()
        adds = svc.adds_per_url()
        retries = sum(c.retrying.total() for c in collectors)
        faults = svc.proxy.faults()
        print(
            f"\nsoak (seed {SEED}): {len(requests)} writes ({len(saves)} saves) through "
            f"3 host processes (one killed with SIGKILL), {elapsed:.1f}s\n"
            f"  service calls: {len(records)} ({dict(collections.Counter(r.path for r in records))})\n"
            f"  faults injected: {sum(faults.values())} {dict(faults)}\n"
            f"  retrying events: {retries} "
            f"{dict(sum((c.retrying for c in collectors), collections.Counter()))}\n"
            f"  actions applied by the service: {len(delivered)} (tags_add of a url saved in "
            f"the same batch is folded into its add); duplicate adds: "
            f"{sum(v - 1 for v in adds.values())} over {sum(1 for v in adds.values() if v > 1)} "
            f"url(s), all the same item"
        )


def diagnose(home: Path, svc: PocketService) -> str:
    import sqlite3

    conn = sqlite3.connect(home / "data" / "tuckaway.db")
    rows = conn.execute(
        "SELECT state, op, attempts, last_error, next_at - strftime('%s','now'), lease_until "
        "FROM outbox WHERE state != 'done' ORDER BY id LIMIT 15"
    ).fetchall()
    states = conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall()
    conn.close()
    recs = svc.records()
    return (
        f"outbox {states}; first undelivered {rows}; {len(recs)} calls, "
        f"last: {[(r.path, r.status, r.fault, len(r.actions)) for r in recs[-8:]]}"
    )


def assert_on_service_once_or_more(svc: PocketService, urls: list[str]) -> None:
    items = svc.items()
    missing = [u for u in urls if u not in items]
    assert not missing, f"{len(missing)} save(s) never reached the service: {missing[:5]}"
    assert len(items) == len(urls), "a repeated add made a second item"
