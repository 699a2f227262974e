"""Pocket rows: the host's Pocket backend against ``tuckaway serve``, service calls counted.

Set-up: ``tuckaway serve`` in its own home (it plays the service), a counting
proxy in front of it (bench/proxy.py: the calls are counted on the wire), and
a host home linked to it with ``tuckaway login pocket --access-token-stdin``.
The baseline is bench/naive_client.py: one ``POST /v3/add`` per click, through
the same proxy. The host runs with its default batching settings (300 ms quiet
window, 1.5 s at most, 100 actions), so its latency includes the wait that
lets a burst become one call: that is the trade being measured.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.client import HOST_DIR, TUCKAWAY_HOST, Port, frame, host_env
from bench.naive_client import NaiveClient
from bench.proxy import CountingProxy

if TYPE_CHECKING:
    from bench.run import Config, Row

POCKET_BACKEND = HOST_DIR / "tuckaway" / "services" / "pocket" / "backend.py"
SKIPPED = "pocket backend not available"
CONSUMER_KEY = "1234-bench"

ROWS = (
    ("pocket_rt_p50", "save round trip p50, Pocket (serve)", "ms"),
    ("pocket_rt_p99", "save round trip p99, Pocket (serve)", "ms"),
    ("pocket_throughput", "throughput into Pocket (serve)", "saves/s"),
    ("pocket_calls_per_1000", "service calls per 1,000 saves", "calls"),
    ("burst_one_port_calls", "100-save burst, one port: service calls", "calls"),
    ("burst_one_port_latency", "100-save burst, one port: latency p50", "ms"),
    ("burst_two_hosts_calls", "100-save burst, two hosts: service calls", "calls"),
    ("burst_two_hosts_latency", "100-save burst, two hosts: latency p50", "ms"),
)


class Serve:
    """``tuckaway serve --port 0 --issue-token`` as a subprocess."""

    def __init__(self, home: Path, work: Path) -> None:
        ready = work / "serve.url"
        self.stderr = (work / "serve.stderr").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tuckaway.cli", "serve", "--port", "0", "--ready-file",
             str(ready), "--issue-token", "--rate-limit", "1000000",
             "--key-rate-limit", "10000000"],
            env=host_env(home), stdout=subprocess.PIPE, stderr=self.stderr,
        )
        assert self.proc.stdout is not None
        self.token = self.proc.stdout.readline().decode().strip()
        deadline = time.monotonic() + 30
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("tuckaway serve did not start; see serve.stderr")
            time.sleep(0.02)
        self.url = ready.read_text("utf-8").strip()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr.close()


def link(env: dict[str, str], token: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tuckaway.cli", "login", "pocket", "--access-token-stdin",
         "--consumer-key", CONSUMER_KEY],
        env=env, input=token + "\n", capture_output=True, text=True, timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"tuckaway login failed: {done.stderr.strip()}")


class Listener:
    """Reads one port's frames on a thread, timestamping each final reply on arrival."""

    def __init__(self, port: Port, expected: int) -> None:
        self.port = port
        self.expected = expected
        self.finished: dict[Any, float] = {}
        self.failed: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while len(self.finished) < self.expected:
                message = self.port.recv()
                if "ok" in message:
                    self.finished[message["id"]] = time.monotonic()
                    if not message["ok"]:
                        self.failed.append(message)
        except BaseException as exc:  # reported by join()
            self.error = exc

    def join(self, timeout: float = 60.0) -> dict[Any, float]:
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise RuntimeError(f"{self.expected - len(self.finished)} saves never answered")
        if self.error is not None:
            raise RuntimeError(f"port failed: {self.error}")
        if self.failed:
            raise RuntimeError(f"{len(self.failed)} saves failed, e.g. {self.failed[0]}")
        return self.finished


def burst(ports: list[Port], count: int, tag: str, first_id: int) -> list[float]:
    """``count`` saves sent back to back, spread over ``ports`` in turn; each one's latency."""
    per_port = [count // len(ports) + (i < count % len(ports)) for i in range(len(ports))]
    listeners = [Listener(port, n) for port, n in zip(ports, per_port, strict=True)]
    sent: dict[Any, float] = {}
    for i in range(count):
        rid = first_id + i
        data = frame({"id": rid, "op": "save", "url": f"https://example.com/{tag}/{rid}",
                      "title": f"Bench page {rid}"})
        sent[rid] = time.monotonic()
        ports[i % len(ports)].send_raw(data)
    finished: dict[Any, float] = {}
    for listener in listeners:
        finished.update(listener.join())
    return [finished[rid] - start for rid, start in sent.items()]


def naive_clicks(client: NaiveClient, count: int, tag: str) -> list[float]:
    out = []
    for i in range(count):
        start = time.monotonic()
        client.save(f"https://example.com/{tag}/{i}", f"Naive page {i}")
        out.append(time.monotonic() - start)
    return out


def ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


def pocket_rows(cfg: Config) -> list[Row]:
    from bench.run import Row, percentile

    if not POCKET_BACKEND.exists():
        return [Row(key, label, unit, skipped=SKIPPED) for key, label, unit in ROWS]
    trips_n = 3 if cfg.quick else 12
    through_n = 300 if cfg.quick else 1000
    serve = Serve(cfg.home("serve"), cfg.work)
    proxy = CountingProxy(serve.url)
    ports: list[Port] = []
    try:
        env = host_env(cfg.home("pocket"), TUCKAWAY_POCKET_URL=proxy.url,
                       TUCKAWAY_POCKET_CONSUMER_KEY=CONSUMER_KEY)
        link(env, serve.token)
        naive = NaiveClient(proxy.url, CONSUMER_KEY, serve.token)
        naive_clicks(naive, 20, "naive-warmup")

        port = Port(TUCKAWAY_HOST, env, cfg.stderr("pocket"))
        ports.append(port)
        hello = port.request({"id": 1, "op": "hello"})
        if hello.get("result", {}).get("backend") != "pocket":
            raise RuntimeError(f"the host is not using the Pocket backend: {hello}")
        burst([port], 5, "warmup", 10)  # models, client session, connection warm

        # sequential saves: each waits out the quiet window, then one call
        trips = [burst([port], 1, "rt", 100 + i)[0] for i in range(trips_n)]
        naive_trips = naive_clicks(naive, max(trips_n, 50), "naive-rt")

        # pipelined saves over one port, calls counted
        proxy.reset()
        start = time.monotonic()
        burst([port], through_n, "tp", 10_000)
        host_elapsed = time.monotonic() - start
        host_rate = through_n / host_elapsed
        host_calls = proxy.count()
        service_share = proxy.service_seconds() / host_elapsed
        start = time.monotonic()
        naive_clicks(naive, through_n, "naive-tp")
        naive_rate = through_n / (time.monotonic() - start)

        # a burst of 100 from one port
        naive_burst = naive_clicks(naive, cfg.burst, "naive-burst")
        proxy.reset()
        one = burst([port], cfg.burst, "burst1", 50_000)
        one_calls = proxy.count()

        # a burst of 100 from two host processes sharing the home
        second = Port(TUCKAWAY_HOST, env, cfg.stderr("pocket-2"))
        ports.append(second)
        second.request({"id": 1, "op": "hello"})
        burst([second], 3, "warmup2", 20)
        proxy.reset()
        two = burst([port, second], cfg.burst, "burst2", 60_000)
        two_calls = proxy.count()
        naive.close()
    finally:
        for p in ports:
            p.close()
        proxy.close()
        serve.close()

    def latency_row(key: str, label: str, host: list[float]) -> Row:
        p50, naive_p50 = statistics.median(host), statistics.median(naive_burst)
        return Row(key, label, "ms", ms(p50), ms(naive_p50), "naive client",
                   "", f"adds {ms(p50 - naive_p50):.0f} ms at p50; last answer "
                   f"{ms(max(host)):.0f} ms")

    naive_rt50 = statistics.median(naive_trips)
    return [
        Row("pocket_rt_p50", "save round trip p50, Pocket (serve)", "ms",
            ms(percentile(trips, 50)), ms(naive_rt50), "naive client", "",
            f"{trips_n} lone saves; includes the {300} ms quiet window"),
        Row("pocket_rt_p99", "save round trip p99, Pocket (serve)", "ms",
            ms(percentile(trips, 99)), ms(percentile(naive_trips, 99)), "naive client", "",
            f"{trips_n} lone saves"),
        Row("pocket_throughput", "throughput into Pocket (serve)", "saves/s",
            round(host_rate, 1), round(naive_rate, 1), "naive client", "",
            f"{through_n} pipelined saves over one port; the service was busy "
            f"{service_share:.0%} of the time"),
        Row("pocket_calls_per_1000", "service calls per 1,000 saves", "calls",
            round(host_calls * 1000 / through_n, 1), 1000.0, "naive client", "",
            f"{host_calls} calls for {through_n} saves, counted by the proxy"),
        Row("burst_one_port_calls", "100-save burst, one port: service calls", "calls",
            float(one_calls), float(cfg.burst), "naive client", "1"),
        latency_row("burst_one_port_latency", "100-save burst, one port: latency p50", one),
        Row("burst_two_hosts_calls", "100-save burst, two hosts: service calls", "calls",
            float(two_calls), float(cfg.burst), "naive client", "",
            "50 saves from each of two host processes, one home"),
        latency_row("burst_two_hosts_latency", "100-save burst, two hosts: latency p50", two),
    ]
