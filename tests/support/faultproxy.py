"""A fault-injecting reverse proxy in front of a real ``tuckaway serve``.

The proxy and the service run in a background thread with their own event
loop, so a test can drive the real host process synchronously (HostProcess)
while the proxy answers. Everything on 127.0.0.1.

    with PocketService(tmp_path) as svc:          # serve + proxy, a token issued
        svc.proxy.script(Fault.error(503), Fault.error(500))
        ... point the host at svc.url (the proxy), link svc.token ...
        svc.adds_per_url()                        # what reached the service

Faults apply to the write endpoints (``/v3/add``, ``/v3/send``) by default:

- ``Fault.error(503)``: answer that status, forward nothing
- ``Fault.limit_403(reset)``: 403 with ``X-Limit-User-Remaining: 0`` and
  ``X-Limit-User-Reset: reset`` (Pocket's user rate limit)
- ``Fault.limit_429(retry_after)``: 429 with ``Retry-After``
- ``Fault.delay(seconds)``: wait, then forward
- ``Fault.drop()``: close the connection without an answer
- ``Fault.lost_reply()``: forward (the service applies it), then answer 502,
  as if the answer were lost on the way back: the writer must retry and the
  service sees the write twice
- ``Fault.hold()``: keep the request until :meth:`FaultProxy.release`

``refuse()`` stops listening (connection refused, open connections closed)
and ``accept()`` listens again on the same port. ``chaos(rate, seed)`` draws a
random fault for each write request. Every request is recorded
(:class:`Record`) with the actions it carried (credentials left out).
"""

from __future__ import annotations

import asyncio
import collections
import json
import random
import sqlite3
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from aiohttp import ClientSession, ClientTimeout, web

T = TypeVar("T")
WRITE_PATHS = frozenset({"/v3/add", "/v3/send"})
SECRET_FIELDS = frozenset({"consumer_key", "access_token"})
HOP_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "keep-alive"})


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour (see the module docstring)."""

    kind: str
    status: int = 503
    seconds: float = 0.0

    @classmethod
    def error(cls, status: int) -> Fault:
        return cls("status", status=status)

    @classmethod
    def limit_403(cls, reset: int, window: str = "User") -> Fault:
        """Pocket's rate limit: ``window`` is ``User`` or ``Key`` (X-Limit-Key-*)."""
        return cls("limit_403" if window == "User" else "limit_403_key", status=403, seconds=reset)

    @classmethod
    def limit_429(cls, retry_after: int, header: str = "Retry-After") -> Fault:
        """429 with ``Retry-After`` (or ``header``, e.g. ``X-RateLimit-Reset``) in seconds."""
        kind = "limit_429" if header == "Retry-After" else f"limit_429:{header}"
        return cls(kind, status=429, seconds=retry_after)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        return cls("delay", seconds=seconds)

    @classmethod
    def drop(cls) -> Fault:
        return cls("drop")

    @classmethod
    def lost_reply(cls) -> Fault:
        return cls("lost_reply", status=502)

    @classmethod
    def hold(cls) -> Fault:
        return cls("hold")

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.status}" if self.kind == "status" else self.kind


@dataclass
class Record:
    """One request the proxy saw."""

    path: str
    fault: str | None
    #: the status the service answered (None: not forwarded, or no answer)
    upstream_status: int | None = None
    #: the status the client got (None: connection dropped)
    status: int | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)
    #: when it arrived (time.monotonic())
    at: float = field(default_factory=time.monotonic)

    @property
    def delivered(self) -> bool:
        """The service applied it (it answered 200)."""
        return self.upstream_status == 200


def actions_of(path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The write actions a request carries, without credentials."""
    if path == "/v3/add":
        return [{"action": "add", **{k: v for k, v in params.items() if k not in SECRET_FIELDS}}]
    if path == "/v3/send":
        raw = params.get("actions", [])
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                return []
        return [a for a in raw if isinstance(a, dict)] if isinstance(raw, list) else []
    return []


def _params(body: bytes, content_type: str, query: dict[str, str]) -> dict[str, Any]:
    params: dict[str, Any] = dict(query)
    if not body:
        return params
    if content_type == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            return params
        if isinstance(data, dict):
            params.update(data)
    else:
        params.update(parse_qsl(body.decode("utf-8", "replace")))
    return params


class FaultProxy:
    """The proxy itself; runs on the loop it is started on (see :class:`LoopThread`)."""

    def __init__(self, upstream: str, *, fault_paths: Sequence[str] = tuple(WRITE_PATHS)) -> None:
        self.upstream = upstream.rstrip("/")
        self.fault_paths = frozenset(fault_paths)
        self.records: list[Record] = []
        self.port = 0
        self._script: collections.deque[Fault] = collections.deque()
        self._chaos: tuple[float, random.Random, tuple[Fault, ...]] | None = None
        self._runner: web.AppRunner | None = None
        self._http: ClientSession | None = None
        self._held: list[tuple[Record, asyncio.Future[bool]]] = []
        self._held_cond: asyncio.Condition | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- what to do ----------------------------------------------------------

    def script(self, *faults: Fault) -> None:
        """The next write requests get these faults, one each, in order."""
        with self._lock:
            self._script.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self._script.clear()
            self._chaos = None

    def chaos(self, rate: float, seed: int, faults: Sequence[Fault] | None = None) -> None:
        """Each write request gets, with probability ``rate``, a fault drawn from ``faults``."""
        choices = tuple(faults) if faults else CHAOS_FAULTS
        with self._lock:
            self._chaos = (rate, random.Random(seed), choices)

    def scripted_left(self) -> int:
        with self._lock:
            return len(self._script)

    def _next_fault(self, path: str) -> Fault | None:
        if path not in self.fault_paths:
            return None
        with self._lock:
            if self._script:
                return self._script.popleft()
            if self._chaos is not None:
                rate, rng, choices = self._chaos
                if rng.random() < rate:
                    return rng.choice(choices)
        return None

    # -- running -------------------------------------------------------------

    async def start(self) -> None:
        self._http = ClientSession(timeout=ClientTimeout(total=60), auto_decompress=False)
        self._held_cond = asyncio.Condition()
        await self._listen()

    async def _listen(self) -> None:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = int(runner.addresses[0][1])
        self._runner = runner

    async def refuse(self) -> None:
        """Stop listening and close open connections: clients get connection refused."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def accept(self) -> None:
        """Listen again, on the same port."""
        if self._runner is None:
            await self._listen()

    @property
    def listening(self) -> bool:
        return self._runner is not None

    async def close(self) -> None:
        await self.release_all(forward=False)
        await self.refuse()
        if self._http is not None:
            await self._http.close()

    # -- holding -------------------------------------------------------------

    async def wait_held(self, count: int = 1, timeout: float = 15.0) -> list[Record]:
        """Until ``count`` requests are being held; their records."""
        assert self._held_cond is not None
        async with asyncio.timeout(timeout):
            async with self._held_cond:
                await self._held_cond.wait_for(lambda: len(self._held) >= count)
                return [r for r, _ in self._held]

    async def release_all(self, *, forward: bool = True) -> int:
        """Let held requests go on (``forward``) or drop their connections."""
        held, self._held = self._held, []
        for _, future in held:
            if not future.done():
                future.set_result(forward)
        return len(held)

    # -- the handler ---------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        path = request.path
        params = _params(body, request.content_type, dict(request.query))
        fault = self._next_fault(path)
        record = Record(path, fault.label if fault else None, actions=actions_of(path, params))
        self.records.append(record)
        if fault is not None:
            answer = await self._apply(fault, record)
            if isinstance(answer, web.StreamResponse):
                record.status = answer.status
                return answer
            if answer == "drop":
                return self._drop(request)
        response = await self._forward(request, body, record)
        if fault is not None and fault.kind == "lost_reply":
            record.status = fault.status
            return _fault_response(fault.status, "the answer was lost on its way back")
        record.status = response.status
        return response

    async def _apply(self, fault: Fault, record: Record) -> web.StreamResponse | str:
        """An answer that replaces forwarding, or "forward", or "drop"."""
        if fault.kind == "status":
            return _fault_response(fault.status, f"injected {fault.status}")
        if fault.kind in {"limit_403", "limit_403_key"}:
            window = "User" if fault.kind == "limit_403" else "Key"
            resp = _fault_response(403, f"{window} rate limit exceeded")
            resp.headers.update(
                {
                    "X-Error-Code": "5100" if window == "User" else "5101",
                    f"X-Limit-{window}-Limit": "320",
                    f"X-Limit-{window}-Remaining": "0",
                    f"X-Limit-{window}-Reset": str(int(fault.seconds)),
                }
            )
            return resp
        if fault.kind.startswith("limit_429"):
            resp = _fault_response(429, "Too many requests")
            header = fault.kind.partition(":")[2] or "Retry-After"
            resp.headers[header] = str(int(fault.seconds))
            return resp
        if fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
            return "forward"
        if fault.kind == "hold":
            assert self._held_cond is not None
            future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            async with self._held_cond:
                self._held.append((record, future))
                self._held_cond.notify_all()
            forward = await future
            record.fault = "held" if forward else "held-dropped"
            return "forward" if forward else "drop"
        if fault.kind == "drop":
            return "drop"
        return "forward"  # lost_reply: forwarded, then its answer replaced

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        """Close the connection without an answer."""
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=599)

    async def _forward(self, request: web.Request, body: bytes, record: Record) -> web.Response:
        assert self._http is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        async with self._http.request(
            request.method,
            self.upstream + request.path_qs,
            data=body,
            headers=headers,
            allow_redirects=False,
        ) as upstream:
            data = await upstream.read()
            record.upstream_status = upstream.status
            out_headers = {
                k: v for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS
            }
            return web.Response(status=upstream.status, body=data, headers=out_headers)

    # -- what happened -------------------------------------------------------

    def counts(self) -> collections.Counter[str]:
        """Requests per path."""
        return collections.Counter(r.path for r in self.records)

    def faults(self) -> collections.Counter[str]:
        return collections.Counter(r.fault for r in self.records if r.fault)

    def delivered_actions(self) -> list[dict[str, Any]]:
        """Actions of every request the service answered with 200, in order."""
        return [a for r in self.records if r.delivered for a in r.actions]


def _fault_response(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, headers={"X-Error": text})


CHAOS_FAULTS: tuple[Fault, ...] = (
    Fault.error(503),
    Fault.error(500),
    Fault.error(502),
    Fault.limit_403(1),
    Fault.limit_429(1),
    Fault.delay(0.2),
    Fault.drop(),
    Fault.lost_reply(),
)


class LoopThread:
    """An event loop in a daemon thread; ``run(coro)`` from any other thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="proxy")
        self._thread.start()

    def run(self, work: Awaitable[T], timeout: float = 30.0) -> T:
        async def wrapped() -> T:
            return await work

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        async def wrapped() -> T:
            return fn()

        return self.run(wrapped())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class PocketService:
    """``tuckaway serve`` (in-process, its own database) behind a :class:`FaultProxy`.

    ``url`` is the proxy's address (give it to the host as TUCKAWAY_POCKET_URL),
    ``direct_url`` the service's own; ``token`` is an access token for user
    ``local`` good with any consumer key.
    """

    def __init__(self, root: Path, **serve_options: Any) -> None:
        self.root = root
        self.db_path = root / "serve.db"
        self.serve_options = {"rate_limit": 10**9, "key_rate_limit": 10**9, **serve_options}
        self.thread = LoopThread()
        self.token = ""
        self.direct_url = ""
        self._server: Any = None
        self._conn: sqlite3.Connection | None = None
        self.proxy: FaultProxy = FaultProxy("http://127.0.0.1:1")

    def start(self) -> PocketService:
        from tuckaway import db
        from tuckaway.serve.app import create_app
        from tuckaway.serve.auth import issue_token

        self._conn = db.connect(self.db_path)
        self.token = issue_token(self._conn)
        # Built here, not on the loop thread: aiohttp's RequestKey (made in
        # create_app) looks for a module frame on the stack, and a bare
        # thread running the loop has none.
        app = create_app(self._conn, **self.serve_options)

        async def up() -> None:
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            self._server = runner
            self.direct_url = f"http://127.0.0.1:{int(runner.addresses[0][1])}"
            self.proxy = FaultProxy(self.direct_url)
            await self.proxy.start()

        self.thread.run(up())
        return self

    @property
    def url(self) -> str:
        return self.proxy.url

    def close(self) -> None:
        async def down() -> None:
            await self.proxy.close()
            if self._server is not None:
                await self._server.cleanup()
            if self._conn is not None:
                self._conn.close()

        try:
            self.thread.run(down())
        finally:
            self.thread.stop()

    def __enter__(self) -> PocketService:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- sync controls for tests (run on the proxy's loop) --------------------

    def script(self, *faults: Fault) -> None:
        self.proxy.script(*faults)

    def chaos(self, rate: float, seed: int, faults: Sequence[Fault] | None = None) -> None:
        self.proxy.chaos(rate, seed, faults)

    def refuse(self) -> None:
        self.thread.run(self.proxy.refuse())

    def accept(self) -> None:
        self.thread.run(self.proxy.accept())

    def wait_held(self, count: int = 1, timeout: float = 15.0) -> list[Record]:
        return self.thread.run(self.proxy.wait_held(count, timeout), timeout + 5)

    def release(self, *, forward: bool = True) -> int:
        return self.thread.run(self.proxy.release_all(forward=forward))

    def records(self) -> list[Record]:
        return self.thread.call(lambda: list(self.proxy.records))

    def delivered_actions(self) -> list[dict[str, Any]]:
        return self.thread.call(self.proxy.delivered_actions)

    def adds_per_url(self) -> collections.Counter[str]:
        """How many times the service applied an ``add`` of each url."""
        return collections.Counter(
            str(a.get("url")) for a in self.delivered_actions() if a.get("action") == "add"
        )

    # -- what the service holds ------------------------------------------------

    def get(self, **params: Any) -> dict[str, Any]:
        """``/v3/get`` straight on the service (not through the proxy)."""
        body = json.dumps(
            {
                "consumer_key": "faultproxy",
                "access_token": self.token,
                "count": 10000,
                "state": "all",
                "detailType": "complete",
                **params,
            }
        ).encode()
        req = urllib.request.Request(
            self.direct_url + "/v3/get",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            data: dict[str, Any] = json.loads(resp.read())
        return data

    def items(self) -> dict[str, dict[str, Any]]:
        """Every item on the service, by url (``given_url``/``resolved_url``)."""
        listing = self.get().get("list") or {}
        out: dict[str, dict[str, Any]] = {}
        for item in listing.values():
            url = item.get("given_url") or item.get("resolved_url")
            out[str(url)] = item
        return out
