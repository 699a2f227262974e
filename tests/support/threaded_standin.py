"""What the wallabag and Readeck stand-ins share: a real aiohttp server on
127.0.0.1 in a thread of its own, every request recorded, faults on demand.

A subclass routes with :meth:`answer` (``request`` -> response). Faults:
``fail_next(status, times=1, headers=None, body="")`` answers the next
``times`` requests (of ``path`` only, if given) with that status before the
stand-in looks at them, e.g. ``fail_next(503)``, ``fail_next(429,
headers={"Retry-After": "1"})``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Recorded:
    """One request as the stand-in received it, and the status it was answered."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: Any  # parsed JSON (or form fields), None when there was none
    status: int = 0


@dataclass
class Fault:
    status: int
    times: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    path: str | None = None


class ServerThread:
    """An aiohttp server on 127.0.0.1 (``url``), in a thread, answering with ``_handle``."""

    name = "standin"

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError

    def start(self) -> Any:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._start())
            except BaseException as exc:  # pragma: no cover - reported to the caller
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup() if self._runner else asyncio.sleep(0))
            loop.close()

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ThreadedStandin(ServerThread):
    """A recording stand-in with faults; subclasses implement :meth:`answer`."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Recorded] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def fail_next(
        self,
        status: int,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        body: str = "",
        path: str | None = None,
    ) -> None:
        with self._lock:
            self._faults.append(Fault(status, times, dict(headers or {}), body, path))

    def calls(self, path: str, method: str | None = None) -> list[Recorded]:
        return [r for r in list(self.requests) if r.path == path and method in (None, r.method)]

    def api_calls(self) -> list[Recorded]:
        """Requests to the API (not the sign-in), answered or not."""
        return [r for r in list(self.requests) if r.path.startswith("/api/")]

    # -- serving -----------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body: Any = None
        if raw:
            if request.content_type == "application/x-www-form-urlencoded":
                body = dict(await request.post())
            else:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
        record = Recorded(
            request.method, request.path, dict(request.query), dict(request.headers), body
        )
        self.requests.append(record)
        fault = self._take_fault(request.path)
        if fault is not None:
            response: web.StreamResponse = web.Response(
                status=fault.status, text=fault.body, headers=fault.headers
            )
        else:
            with self._lock:
                response = await self.answer(request, body)
        record.status = response.status
        return response

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path in (None, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    async def answer(self, request: web.Request, body: Any) -> web.StreamResponse:
        raise NotImplementedError
