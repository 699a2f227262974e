"""The application: routes, the middleware that turns refusals into Pocket's error answers,
and :func:`start_server` for the CLI and the tests.

Security model: it binds loopback only unless told otherwise (there is no TLS,
and tokens travel in request bodies), refuses requests whose ``Host`` is not a
loopback name (a web page cannot reach it through DNS rebinding), keeps issued
access tokens and OAuth codes only as SHA-256 hashes, and protects the approval
form with a token only the page it serves knows.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from tuckaway.serve.api import NAMESPACE, ListApi
from tuckaway.serve.auth import Gate, OAuth
from tuckaway.serve.errors import ApiError, Code, error_response
from tuckaway.serve.limits import (
    DEFAULT_KEY_LIMIT,
    DEFAULT_USER_LIMIT,
    RateLimiter,
    host_of,
    is_loopback,
)
from tuckaway.store import Store, StoreError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(
    conn: sqlite3.Connection,
    *,
    consumer_key: str | None = None,
    rate_limit: int | None = None,
    key_rate_limit: int | None = None,
    allow_remote: bool = False,
    clock: Callable[[], float] = time.time,
) -> web.Application:
    """The Pocket-v3-compatible API over ``conn``'s ``local`` list.

    ``consumer_key`` restricts the accepted key (any non-empty key otherwise);
    ``rate_limit``/``key_rate_limit`` are calls an hour per user / per consumer
    key; ``allow_remote`` accepts requests whose ``Host`` is not loopback.
    """
    gate = Gate(
        conn,
        consumer_key=consumer_key,
        user_limiter=RateLimiter(rate_limit or DEFAULT_USER_LIMIT, clock=clock),
        key_limiter=RateLimiter(key_rate_limit or DEFAULT_KEY_LIMIT, clock=clock),
    )
    oauth = OAuth(gate, clock)
    api = ListApi(gate, Store(conn).items(NAMESPACE))

    @web.middleware
    async def pocket_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await _answer(request, handler, allow_remote)
        response.headers.update(gate.limit_headers(request, response.headers.get("X-Error-Code")))
        # The path only: query strings may carry tokens and request codes.
        log.info("%s %s %s", request.method, request.path, response.status)
        return response

    app = web.Application(middlewares=[pocket_middleware])
    for path, handler in (
        ("/v3/oauth/request", oauth.request_code),
        ("/v3/oauth/authorize", oauth.authorize),
    ):
        app.router.add_post(path, handler)
        app.router.add_get(path, handler, allow_head=False)  # pypocket signs in with GET
    for path, handler in (("/v3/add", api.add), ("/v3/send", api.send), ("/v3/get", api.get)):
        app.router.add_post(path, handler)
        app.router.add_get(path, handler, allow_head=False)
    app.router.add_get("/auth/authorize", oauth.approval_page, allow_head=False)
    app.router.add_post("/auth/authorize", oauth.approval_answer)
    return app


async def _answer(request: web.Request, handler: Handler, allow_remote: bool) -> web.StreamResponse:
    """The handler's answer, or the Pocket-shaped error answer of what it raised."""
    try:
        if not allow_remote and not is_loopback(host_of(request.host)):
            raise ApiError(403, Code.HOST_NOT_ALLOWED, "Host not allowed.")
        return await handler(request)
    except ApiError as exc:
        return error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(ApiError(exc.status, Code.INVALID_REQUEST, exc.reason))
    except StoreError as exc:
        return error_response(ApiError(400, exc.code, exc.message))
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(ApiError(500, Code.SERVER, "Internal server error."))


@dataclass
class RunningServer:
    """A started server: ``url`` is its base URL (``http://127.0.0.1:PORT``)."""

    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def close(self) -> None:
        await self.runner.cleanup()

    async def __aenter__(self) -> RunningServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def start_server(
    conn: sqlite3.Connection,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    consumer_key: str | None = None,
    rate_limit: int | None = None,
    key_rate_limit: int | None = None,
    allow_remote: bool = False,
    clock: Callable[[], float] = time.time,
) -> RunningServer:
    """Start :func:`create_app` on ``host:port`` (0: a free port) in the running loop."""
    app = create_app(
        conn,
        consumer_key=consumer_key,
        rate_limit=rate_limit,
        key_rate_limit=key_rate_limit,
        allow_remote=allow_remote,
        clock=clock,
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0]
    return RunningServer(runner, host, int(bound[1]))


__all__ = ["RunningServer", "create_app", "start_server"]
