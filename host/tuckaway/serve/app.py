"""``tuckaway serve``: the local store published as a Pocket-v3-compatible HTTP API.

The same shapes, status codes and ``X-Error``/``X-Error-Code`` headers as
Pocket's v3 API, over the ``local`` namespace of the store, so that any Pocket
client (Tuckaway's own Pocket backend included) can use a private list on this
machine. It is also the real server the Pocket backend's, the accounts flow's
and the end-to-end tests run against, so it is strict where Pocket was strict.

Security model: it binds loopback only unless told otherwise (there is no TLS,
and tokens travel in request bodies), refuses requests whose ``Host`` is not a
loopback name (a web page cannot reach it through DNS rebinding), keeps issued
access tokens and OAuth codes only as SHA-256 hashes, and protects the approval
form with a token only the page it serves knows.

aiohttp is imported inside functions: ``tuckaway.cli.main`` imports this module to
build its parser, and other commands should not pay for the import.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import html
import json
import logging
import os
import secrets
import signal
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from tuckaway.store import ITEM_ACTIONS, Store, StoreError, transaction

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("tuckaway.serve.app")

#: the one user of this server, and the store namespace it publishes
USERNAME = "local"
NAMESPACE = "local"
#: how long an OAuth request token stays usable, in seconds
CODE_TTL_S = 3600
#: calls an hour; Pocket allowed 320 per user and 10,000 per key, we are generous
DEFAULT_USER_LIMIT = 10_000
DEFAULT_KEY_LIMIT = 100_000
RATE_WINDOW_S = 3600

# X-Error-Code values (Pocket's where Pocket had one)
E_INVALID_REQUEST = 100  # our own: a malformed body or parameter
E_INVALID_TOKEN = 107
E_INVALID_ACTION = 130
E_MISSING_CONSUMER_KEY = 138
E_MISSING_REDIRECT = 140
E_INVALID_CONSUMER_KEY = 152
E_CODE_REJECTED = 158
E_CODE_USED = 159
E_INVALID_REDIRECT = 181
E_MISSING_CODE = 182
E_CODE_NOT_FOUND = 185
E_SERVER = 199
E_USER_RATE_LIMITED = 5100
E_KEY_RATE_LIMITED = 5101
E_HOST_NOT_ALLOWED = 5300

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS serve_tokens (
        token_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        consumer_key TEXT,
        created_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS serve_codes (
        code_hash TEXT PRIMARY KEY,
        consumer_key TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        state TEXT,
        status TEXT NOT NULL DEFAULT 'pending',
        created_at REAL NOT NULL
    )""",
)

_BAD_REDIRECT_SCHEMES = frozenset({"javascript", "data", "vbscript", "file", "about", "blob"})


class ApiError(Exception):
    """An answer with ``X-Error-Code``/``X-Error`` headers and a plain-text body."""

    def __init__(
        self, status: int, code: int, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


# -- tokens and codes --------------------------------------------------------


def hash_secret(value: str) -> str:
    """What the database keeps of a token or code: its SHA-256, hex."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the server's own tables (``serve_*``) when missing."""
    for statement in _SCHEMA:
        conn.execute(statement)


def issue_token(
    conn: sqlite3.Connection, username: str = USERNAME, consumer_key: str | None = None
) -> str:
    """Create an access token for ``username`` and return it; only its hash is stored.

    With ``consumer_key`` the token works only with that key (as Pocket's did);
    without, with any key the server accepts.
    """
    ensure_schema(conn)
    token = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO serve_tokens (token_hash, username, consumer_key, created_at) "
        "VALUES (?, ?, ?, ?)",
        (hash_secret(token), username, consumer_key, time.time()),
    )
    return token


def _is_loopback(host: str) -> bool:
    """A listen address or ``Host`` name that is this machine (never ``127.evil.example``:
    a Host check that trusted names starting "127." would let DNS rebinding in)."""
    from tuckaway.settings import is_loopback_host

    return is_loopback_host(host.strip())


def _host_of(header: str) -> str:
    """The host part of a ``Host`` header (``[::1]:8080`` -> ``::1``)."""
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _is_web_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme.lower() in {"http", "https"} and bool(parts.netloc)


# -- rate limits -------------------------------------------------------------


@dataclass
class _Window:
    start: float
    count: int = 0


@dataclass
class RateLimiter:
    """A fixed window of ``period`` seconds per identity, as Pocket's headers describe it."""

    limit: int
    period: float = RATE_WINDOW_S
    clock: Callable[[], float] = time.time
    _windows: dict[str, _Window] = field(default_factory=dict)

    def _window(self, ident: str) -> _Window:
        now = self.clock()
        window = self._windows.get(ident)
        if window is None or now - window.start >= self.period:
            window = self._windows[ident] = _Window(now)
        return window

    def hit(self, ident: str) -> bool:
        """Count one call; False when the window is already exhausted (not counted)."""
        window = self._window(ident)
        if window.count >= self.limit:
            return False
        window.count += 1
        return True

    def headers(self, prefix: str, ident: str | None) -> dict[str, str]:
        if ident is None:
            remaining, reset = self.limit, int(self.period)
        else:
            window = self._window(ident)
            remaining = max(0, self.limit - window.count)
            reset = max(0, int(window.start + self.period - self.clock() + 0.999))
        return {
            f"X-Limit-{prefix}-Limit": str(self.limit),
            f"X-Limit-{prefix}-Remaining": str(remaining),
            f"X-Limit-{prefix}-Reset": str(reset),
        }


# -- request parsing ---------------------------------------------------------


async def _params(request: web.Request) -> dict[str, Any]:
    """Query parameters overlaid with the body (JSON, or form-encoded)."""
    params: dict[str, Any] = dict(request.query)
    if not request.can_read_body:
        return params
    if request.content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params
    raw = await request.read()
    if not raw.strip():
        return params
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, E_INVALID_REQUEST, "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, E_INVALID_REQUEST, "The request body must be a JSON object")
    params.update(body)
    return params


def _text(params: Mapping[str, Any], name: str) -> str | None:
    """A scalar parameter as a string; None when absent or empty."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ApiError(400, E_INVALID_REQUEST, f"Parameter {name} must be a string")
    return str(value)


def _int_param(params: Mapping[str, Any], name: str) -> int | None:
    value = _text(params, name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise ApiError(400, E_INVALID_REQUEST, f"Parameter {name} must be a number") from None
    if number < 0:
        raise ApiError(400, E_INVALID_REQUEST, f"Parameter {name} must not be negative")
    return number


def _time(value: Any) -> int | None:
    """An action time as Pocket clients send it (number or numeric string); else now."""
    if isinstance(value, bool):
        return None
    try:
        when = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
    return when if when > 0 else None


def _tags_param(value: Any, where: str) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return value
    raise ApiError(400, E_INVALID_REQUEST, f"{where}: tags must be a comma-separated string")


def _check_actions(raw: Any) -> list[dict[str, Any]]:
    """The ``actions`` of a ``/v3/send``, or ApiError(400) refusing the whole batch."""
    if raw is None or raw == "":
        raise ApiError(400, E_INVALID_ACTION, "Missing actions")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ApiError(400, E_INVALID_ACTION, "actions is not valid JSON") from None
    if not isinstance(raw, list):
        raise ApiError(400, E_INVALID_ACTION, "actions must be a JSON array")
    for index, action in enumerate(raw):
        where = f"action {index}"
        if not isinstance(action, dict):
            raise ApiError(400, E_INVALID_ACTION, f"{where} is not an object")
        name = action.get("action")
        url = action.get("url")
        if url is not None and not (isinstance(url, str) and _is_web_url(url)):
            raise ApiError(400, E_INVALID_ACTION, f"{where}: url must be an http(s) URL")
        item_id = action.get("item_id")
        if item_id is not None and (
            isinstance(item_id, bool) or not isinstance(item_id, str | int)
        ):
            raise ApiError(400, E_INVALID_ACTION, f"{where}: item_id must be a string")
        for key in ("title", "old_tag", "new_tag", "tag"):
            if action.get(key) is not None and not isinstance(action[key], str):
                raise ApiError(400, E_INVALID_ACTION, f"{where}: {key} must be a string")
        _tags_param(action.get("tags"), where)
        if (name in ITEM_ACTIONS or name == "add") and item_id in (None, "") and not url:
            raise ApiError(400, E_INVALID_ACTION, f"{where} ({name}) needs item_id or url")
    return raw


# -- the application ---------------------------------------------------------


@dataclass
class _Code:
    code_hash: str
    consumer_key: str
    redirect_uri: str
    state: str | None
    status: str
    created_at: float


class _Api:
    """The handlers; one instance per application."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        consumer_key: str | None,
        user_limiter: RateLimiter,
        key_limiter: RateLimiter,
        allow_remote: bool,
        clock: Callable[[], float],
    ) -> None:
        self.conn = conn
        self.items = Store(conn).items(NAMESPACE)
        self.consumer_key = consumer_key
        self.user_limiter = user_limiter
        self.key_limiter = key_limiter
        self.allow_remote = allow_remote
        self.clock = clock
        self.form_secret = secrets.token_bytes(32)
        from aiohttp import web

        # who this request is, for the rate-limit headers (hashed key, username)
        self.key_ident = web.RequestKey("tuckaway.key", str)
        self.user_ident = web.RequestKey("tuckaway.user", str)
        ensure_schema(conn)

    # -- shared checks --------------------------------------------------

    def _consumer_key(self, request: web.Request, params: Mapping[str, Any]) -> str:
        key = _text(params, "consumer_key")
        if key is None:
            raise ApiError(400, E_MISSING_CONSUMER_KEY, "Missing consumer key.")
        if self.consumer_key is not None and not hmac.compare_digest(key, self.consumer_key):
            raise ApiError(403, E_INVALID_CONSUMER_KEY, "Invalid consumer key.")
        request[self.key_ident] = hash_secret(key)
        return key

    def _count(self, request: web.Request) -> None:
        """One call against the consumer key's and (when known) the user's hourly limits."""
        if not self.key_limiter.hit(request[self.key_ident]):
            raise ApiError(403, E_KEY_RATE_LIMITED, "Consumer key rate limit exceeded.")
        user = request.get(self.user_ident)
        if user is not None and not self.user_limiter.hit(user):
            raise ApiError(403, E_USER_RATE_LIMITED, "User rate limit exceeded.")

    def _user(self, request: web.Request, params: Mapping[str, Any], key: str) -> str:
        token = _text(params, "access_token")
        row = None
        if token is not None:
            row = self.conn.execute(
                "SELECT username, consumer_key FROM serve_tokens WHERE token_hash = ?",
                (hash_secret(token),),
            ).fetchone()
        if row is None or (row["consumer_key"] is not None and row["consumer_key"] != key):
            raise ApiError(401, E_INVALID_TOKEN, "Invalid access token")
        username = str(row["username"])
        request[self.user_ident] = username
        return username

    async def _authed(self, request: web.Request) -> dict[str, Any]:
        params = await _params(request)
        key = self._consumer_key(request, params)
        self._user(request, params, key)
        self._count(request)
        return params

    # -- OAuth ----------------------------------------------------------

    async def oauth_request(self, request: web.Request) -> web.StreamResponse:
        params = await _params(request)
        key = self._consumer_key(request, params)
        self._count(request)
        redirect_uri = _text(params, "redirect_uri")
        if redirect_uri is None:
            raise ApiError(400, E_MISSING_REDIRECT, "Missing redirect url.")
        scheme = urlsplit(redirect_uri).scheme.lower()
        if not scheme or scheme in _BAD_REDIRECT_SCHEMES:
            raise ApiError(400, E_INVALID_REDIRECT, "Invalid redirect uri.")
        state = _text(params, "state")
        code = str(uuid.uuid4())
        now = self.clock()
        with transaction(self.conn):
            self.conn.execute("DELETE FROM serve_codes WHERE created_at < ?", (now - CODE_TTL_S,))
            self.conn.execute(
                "INSERT INTO serve_codes (code_hash, consumer_key, redirect_uri, state, status, "
                "created_at) VALUES (?, ?, ?, ?, 'pending', ?)",
                (hash_secret(code), key, redirect_uri, state, now),
            )
        return _oauth_answer(request, {"code": code, "state": state})

    async def oauth_authorize(self, request: web.Request) -> web.StreamResponse:
        params = await _params(request)
        key = self._consumer_key(request, params)
        self._count(request)
        code = _text(params, "code")
        if code is None:
            raise ApiError(400, E_MISSING_CODE, "Missing code.")
        with transaction(self.conn):
            found = self._code(code)
            if found is None:
                raise ApiError(400, E_CODE_NOT_FOUND, "Code not found.")
            if found.consumer_key != key:
                raise ApiError(403, E_INVALID_CONSUMER_KEY, "Consumer key does not match the code.")
            if found.status == "used":
                raise ApiError(403, E_CODE_USED, "Already used code.")
            if found.status == "denied":
                raise ApiError(403, E_CODE_REJECTED, "User rejected code.")
            if found.status != "approved":
                raise ApiError(403, E_CODE_REJECTED, "User has not approved this code yet.")
            self.conn.execute(
                "UPDATE serve_codes SET status = 'used' WHERE code_hash = ?", (found.code_hash,)
            )
            token = issue_token(self.conn, USERNAME, key)
        log.info("issued an access token through OAuth")
        answer: dict[str, Any] = {"access_token": token, "username": USERNAME}
        if found.state is not None:
            answer["state"] = found.state
        return _oauth_answer(request, answer)

    def _code(self, code: str) -> _Code | None:
        row = self.conn.execute(
            "SELECT * FROM serve_codes WHERE code_hash = ? AND created_at >= ?",
            (hash_secret(code), self.clock() - CODE_TTL_S),
        ).fetchone()
        return None if row is None else _Code(**{k: row[k] for k in row.keys()})  # noqa: SIM118

    def _form_token(self, code_hash: str) -> str:
        return hmac.new(self.form_secret, code_hash.encode(), hashlib.sha256).hexdigest()

    async def approval_page(self, request: web.Request) -> web.StreamResponse:
        code = request.query.get("request_token", "")
        found = self._code(code) if code else None
        if found is None:
            return _page(400, "Unknown request", _UNKNOWN_CODE)
        asked = request.query.get("redirect_uri")
        if asked and asked != found.redirect_uri:
            return _page(400, "Redirect mismatch", _REDIRECT_MISMATCH)
        if found.status != "pending":
            return _page(400, "Already answered", _ALREADY_ANSWERED)
        app = _app_label(found.consumer_key)
        body = _APPROVAL_FORM.format(
            app=html.escape(app),
            target=html.escape(_redirect_label(found.redirect_uri)),
            code=html.escape(code, quote=True),
            form_token=self._form_token(found.code_hash),
        )
        return _page(200, f"{app} wants to access your Tuckaway list", body)

    async def approval_answer(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        code = form.get("request_token")
        found = self._code(code) if isinstance(code, str) and code else None
        if found is None:
            return _page(400, "Unknown request", _UNKNOWN_CODE)
        given = form.get("form_token")
        if not isinstance(given, str) or not hmac.compare_digest(
            given, self._form_token(found.code_hash)
        ):
            return _page(403, "Form expired", _FORM_EXPIRED)
        decision = form.get("decision")
        if decision not in {"approve", "deny"}:
            return _page(400, "Choose Approve or Deny", _UNKNOWN_DECISION)
        status = "approved" if decision == "approve" else "denied"
        cur = self.conn.execute(
            "UPDATE serve_codes SET status = ? WHERE code_hash = ? AND status = 'pending'",
            (status, found.code_hash),
        )
        if cur.rowcount != 1:
            return _page(400, "Already answered", _ALREADY_ANSWERED)
        log.info("request token %s by the user", status)
        from aiohttp import web

        return web.Response(
            status=302, headers={"Location": found.redirect_uri, "Cache-Control": "no-store"}
        )

    # -- the list -------------------------------------------------------

    async def add(self, request: web.Request) -> web.StreamResponse:
        params = await self._authed(request)
        url = _text(params, "url")
        if url is None:
            raise ApiError(400, E_INVALID_REQUEST, "Missing url")
        if not _is_web_url(url):
            raise ApiError(400, E_INVALID_REQUEST, "url must be an http(s) URL")
        title = _text(params, "title")
        tags = _tags_param(params.get("tags"), "add")
        when = _time(params.get("time"))
        item = self.items.add(url, title=title, tags=tags, now=when or None)
        return _json({"item": item.to_pocket("complete"), "status": 1})

    async def send(self, request: web.Request) -> web.StreamResponse:
        params = await self._authed(request)
        actions = _check_actions(params.get("actions"))
        results, errors = self.items.send(actions)
        ok = all(r is not False and e is None for r, e in zip(results, errors, strict=True))
        return _json({"status": 1 if ok else 0, "action_results": results, "action_errors": errors})

    async def get(self, request: web.Request) -> web.StreamResponse:
        params = await self._authed(request)
        query: dict[str, Any] = {}
        for name in ("state", "favorite", "tag", "contentType", "sort", "detailType"):
            query[name] = _text(params, name)
        for name in ("search", "domain"):
            query[name] = _text(params, name)
        for name in ("since", "count", "offset"):
            query[name] = _int_param(params, name)
        if query["state"] not in {None, "unread", "archive", "all"}:
            raise ApiError(400, E_INVALID_REQUEST, "state must be unread, archive or all")
        if query["detailType"] not in {None, "simple", "complete"}:
            raise ApiError(400, E_INVALID_REQUEST, "detailType must be simple or complete")
        if query["count"] == 0:
            query["count"] = None
        return _json(self.items.get(query))


def _oauth_answer(request: web.Request, data: Mapping[str, Any]) -> web.StreamResponse:
    """JSON when asked with ``X-Accept: application/json``, form-encoded otherwise."""
    from aiohttp import web

    if "application/json" in request.headers.get("X-Accept", ""):
        return _json(dict(data))
    pairs = {k: str(v) for k, v in data.items() if v is not None}
    return web.Response(
        text=urlencode(pairs),
        content_type="application/x-www-form-urlencoded",
        headers={"Cache-Control": "no-store"},
    )


def _json(data: Any) -> web.StreamResponse:
    from aiohttp import web

    return web.Response(
        text=json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def _error(exc: ApiError) -> web.StreamResponse:
    from aiohttp import web

    headers = {"X-Error-Code": str(exc.code), "X-Error": exc.message, **exc.headers}
    return web.Response(status=exc.status, text=exc.message, headers=headers)


# -- the approval page -------------------------------------------------------


def _app_label(consumer_key: str) -> str:
    """Pocket showed the registered app's name; we have only its consumer key."""
    head = consumer_key.split("-", 1)[0][:16]
    return f"An application (key {head}…)" if head else "An application"


def _redirect_label(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"


_STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; background: #f4f1ea; color: #222;
       margin: 0; display: flex; min-height: 100vh; align-items: center;
       justify-content: center; }
main { background: #fff; border-radius: 12px; box-shadow: 0 2px 14px #0002;
       padding: 2rem 2.5rem; max-width: 28rem; }
h1 { font-size: 1.3rem; margin: 0 0 .75rem; }
p { margin: .5rem 0; color: #444; }
.buttons { display: flex; gap: .75rem; margin-top: 1.5rem; }
button { font: inherit; padding: .55rem 1.4rem; border-radius: 8px; cursor: pointer;
         border: 1px solid #bbb; background: #fff; }
button.approve { background: #1a7f64; border-color: #1a7f64; color: #fff; }
small { color: #777; }
"""

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Tuckaway</title><style>{style}</style></head>
<body><main>{body}</main></body></html>
"""

_APPROVAL_FORM = """<h1>{app} wants to access your Tuckaway list</h1>
<p>If you approve, it can read your saved items and add, change, tag and delete them.</p>
<p><small>You will be sent back to {target}.</small></p>
<form method="post" action="/auth/authorize">
<input type="hidden" name="request_token" value="{code}">
<input type="hidden" name="form_token" value="{form_token}">
<div class="buttons">
<button class="approve" type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</div></form>
"""

_UNKNOWN_CODE = """<h1>Unknown request</h1>
<p>This authorization request does not exist or has expired. Start the sign-in again
from the application.</p>"""
_REDIRECT_MISMATCH = """<h1>Redirect mismatch</h1>
<p>The redirect address does not match the one the application registered for this
request. Start the sign-in again from the application.</p>"""
_ALREADY_ANSWERED = """<h1>Already answered</h1>
<p>This authorization request was already approved or denied. Start the sign-in again
from the application if you need to.</p>"""
_FORM_EXPIRED = """<h1>Form expired</h1>
<p>This approval form is no longer valid (the server may have restarted). Reload the page
and answer again.</p>"""
_UNKNOWN_DECISION = """<h1>Choose Approve or Deny</h1>
<p>Go back and press one of the two buttons.</p>"""


def _page(status: int, title: str, body: str) -> web.StreamResponse:
    from aiohttp import web

    return web.Response(
        status=status,
        text=_PAGE.format(title=html.escape(title), style=_STYLE, body=body),
        content_type="text/html",
        headers={
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "frame-ancestors 'none'",
        },
    )


# -- wiring --------------------------------------------------------------------


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
    from aiohttp import web

    api = _Api(
        conn,
        consumer_key=consumer_key,
        user_limiter=RateLimiter(rate_limit or DEFAULT_USER_LIMIT, clock=clock),
        key_limiter=RateLimiter(key_rate_limit or DEFAULT_KEY_LIMIT, clock=clock),
        allow_remote=allow_remote,
        clock=clock,
    )

    @web.middleware
    async def pocket_middleware(
        request: web.Request,
        handler: Callable[[web.Request], Any],
    ) -> web.StreamResponse:
        response: web.StreamResponse
        try:
            if not allow_remote and not _is_loopback(_host_of(request.host)):
                raise ApiError(403, E_HOST_NOT_ALLOWED, "Host not allowed.")
            response = await handler(request)
        except ApiError as exc:
            response = _error(exc)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = _error(ApiError(exc.status, E_INVALID_REQUEST, exc.reason))
        except StoreError as exc:
            response = _error(ApiError(400, exc.code, exc.message))
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            response = _error(ApiError(500, E_SERVER, "Internal server error."))
        response.headers.update(api.user_limiter.headers("User", request.get(api.user_ident)))
        response.headers.update(api.key_limiter.headers("Key", request.get(api.key_ident)))
        limited = {str(E_USER_RATE_LIMITED): "User", str(E_KEY_RATE_LIMITED): "Key"}
        prefix = limited.get(response.headers.get("X-Error-Code", ""))
        if prefix is not None:
            response.headers["Retry-After"] = response.headers[f"X-Limit-{prefix}-Reset"]
        # The path only: query strings may carry tokens and request codes.
        log.info("%s %s %s", request.method, request.path, response.status)
        return response

    app = web.Application(middlewares=[pocket_middleware])
    for path, handler in (
        ("/v3/oauth/request", api.oauth_request),
        ("/v3/oauth/authorize", api.oauth_authorize),
    ):
        app.router.add_post(path, handler)
    for path, handler in (("/v3/add", api.add), ("/v3/send", api.send), ("/v3/get", api.get)):
        app.router.add_post(path, handler)
        app.router.add_get(path, handler, allow_head=False)
    app.router.add_get("/auth/authorize", api.approval_page, allow_head=False)
    app.router.add_post("/auth/authorize", api.approval_answer)
    return app


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
    conn: sqlite3.Connection, *, host: str = "127.0.0.1", port: int = 0, **app_options: Any
) -> RunningServer:
    """Start :func:`create_app` on ``host:port`` (0: a free port) in the running loop."""
    from aiohttp import web

    runner = web.AppRunner(create_app(conn, **app_options), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0]
    return RunningServer(runner, host, int(bound[1]))


# -- command line --------------------------------------------------------------


def add_commands(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="publish your local list as a Pocket-compatible API on this machine",
        description="Serve the local list (the one `tuckaway save` uses without an account) "
        "over HTTP with Pocket's v3 API: /v3/add, /v3/send, /v3/get and the OAuth "
        "endpoints with an approval page, so Pocket clients can use it. Binds 127.0.0.1. "
        "Stop with Ctrl-C.",
    )
    p.add_argument(
        "--port", type=int, required=True, help="TCP port to listen on (0: any free port)"
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1); non-loopback needs --allow-remote",
    )
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host and Host header. There is no TLS: tokens and your "
        "list would cross the network in clear text. Put a TLS proxy in front.",
    )
    p.add_argument(
        "--consumer-key",
        metavar="KEY",
        help="accept only this consumer key (default: any non-empty key)",
    )
    p.add_argument(
        "--rate-limit",
        type=int,
        metavar="N",
        help=f"calls an hour per user (default {DEFAULT_USER_LIMIT}; Pocket allowed 320)",
    )
    p.add_argument(
        "--key-rate-limit",
        type=int,
        metavar="N",
        help=f"calls an hour per consumer key (default {DEFAULT_KEY_LIMIT}; Pocket allowed 10,000)",
    )
    p.add_argument(
        "--issue-token",
        action="store_true",
        help="create an access token for user 'local' and print it once on stdout "
        "(for `tuckaway login pocket --access-token-stdin`, scripts and tests)",
    )
    p.add_argument(
        "--ready-file",
        metavar="PATH",
        help="write the server's URL to PATH once it is listening",
    )
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    if not _is_loopback(args.host) and not args.allow_remote:
        print(
            f"tuckaway: refusing to listen on {args.host}: the server has no TLS, so access "
            "tokens and your list would travel the network in clear text. Use a loopback "
            "address, or pass --allow-remote behind a TLS proxy.",
            file=sys.stderr,
        )
        return 2
    for option, value in (
        ("--rate-limit", args.rate_limit),
        ("--key-rate-limit", args.key_rate_limit),
    ):
        if value is not None and value < 1:
            print(f"tuckaway: {option} must be at least 1", file=sys.stderr)
            return 2
    from tuckaway import db

    conn = db.connect(args.settings.paths.db_path)
    try:
        return asyncio.run(_serve(args, conn))
    finally:
        conn.close()


async def _serve(args: argparse.Namespace, conn: sqlite3.Connection) -> int:
    try:
        server = await start_server(
            conn,
            host=args.host,
            port=args.port,
            consumer_key=args.consumer_key,
            rate_limit=args.rate_limit,
            key_rate_limit=args.key_rate_limit,
            allow_remote=args.allow_remote,
        )
    except OSError as exc:
        print(f"tuckaway: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    ready = Path(args.ready_file) if args.ready_file else None
    try:
        if args.issue_token:
            print(issue_token(conn), flush=True)
        print(f"serving on {server.url}", file=sys.stderr, flush=True)
        if args.allow_remote and not _is_loopback(args.host):
            print("warning: reachable from the network without TLS", file=sys.stderr)
        log.info("serving the local list on %s", server.url)
        if ready is not None:
            _write_atomically(ready, server.url + "\n")
        await _until_stopped()
    finally:
        await server.close()
        if ready is not None:
            with contextlib.suppress(OSError):
                ready.unlink()
    return 0


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, AttributeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)


__all__ = [
    "ApiError",
    "RateLimiter",
    "RunningServer",
    "add_commands",
    "create_app",
    "ensure_schema",
    "hash_secret",
    "issue_token",
    "start_server",
]
