"""Who may call: consumer keys, access tokens, Pocket's OAuth and the approval page.

Tokens and request codes are kept only as SHA-256 hashes (``serve_tokens``,
``serve_codes``, created by ``db.MIGRATIONS``). The approval form carries a
token only the page that served it knows (an HMAC of the code under a secret
of this process), so another site cannot approve on the user's behalf.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import secrets
import sqlite3
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from tuckaway import pages
from tuckaway.db import transaction
from tuckaway.serve.errors import ApiError, Code, bad_request
from tuckaway.serve.limits import RateLimiter
from tuckaway.serve.params import Params, json_response, read_params, text

log = logging.getLogger(__name__)

#: the one user of this server
USERNAME = "local"
#: how long an OAuth request token stays usable, in seconds
CODE_TTL_S = 3600

_BAD_REDIRECT_SCHEMES = frozenset({"javascript", "data", "vbscript", "file", "about", "blob"})

# who a request is, for the rate-limit headers (hashed key, username)
KEY_IDENT = web.RequestKey("tuckaway.key", str)
USER_IDENT = web.RequestKey("tuckaway.user", str)


def hash_secret(value: str) -> str:
    """What the database keeps of a token or code: its SHA-256, hex."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def issue_token(
    conn: sqlite3.Connection, username: str = USERNAME, consumer_key: str | None = None
) -> str:
    """Create an access token for ``username`` and return it; only its hash is stored.

    With ``consumer_key`` the token works only with that key (as Pocket's did);
    without, with any key the server accepts.
    """
    token = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO serve_tokens (token_hash, username, consumer_key, created_at) "
        "VALUES (?, ?, ?, ?)",
        (hash_secret(token), username, consumer_key, time.time()),
    )
    return token


class Gate:
    """The checks every ``/v3`` call passes: consumer key, access token, hourly limits."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        consumer_key: str | None,
        user_limiter: RateLimiter,
        key_limiter: RateLimiter,
    ) -> None:
        self.conn = conn
        self.consumer_key = consumer_key
        self.user_limiter = user_limiter
        self.key_limiter = key_limiter

    def key(self, request: web.Request, params: Mapping[str, object]) -> str:
        key = text(params, "consumer_key")
        if key is None:
            raise ApiError(400, Code.MISSING_CONSUMER_KEY, "Missing consumer key.")
        if self.consumer_key is not None and not hmac.compare_digest(key, self.consumer_key):
            raise ApiError(403, Code.INVALID_CONSUMER_KEY, "Invalid consumer key.")
        request[KEY_IDENT] = hash_secret(key)
        return key

    def count(self, request: web.Request) -> None:
        """One call against the consumer key's and (when known) the user's hourly limits."""
        if not self.key_limiter.hit(request[KEY_IDENT]):
            raise ApiError(403, Code.KEY_RATE_LIMITED, "Consumer key rate limit exceeded.")
        user = request.get(USER_IDENT)
        if user is not None and not self.user_limiter.hit(user):
            raise ApiError(403, Code.USER_RATE_LIMITED, "User rate limit exceeded.")

    def user(self, request: web.Request, params: Mapping[str, object], key: str) -> str:
        token = text(params, "access_token")
        row = None
        if token is not None:
            row = self.conn.execute(
                "SELECT username, consumer_key FROM serve_tokens WHERE token_hash = ?",
                (hash_secret(token),),
            ).fetchone()
        if row is None or (row["consumer_key"] is not None and row["consumer_key"] != key):
            raise ApiError(401, Code.INVALID_TOKEN, "Invalid access token")
        username = str(row["username"])
        request[USER_IDENT] = username
        return username

    async def keyed(self, request: web.Request, *, signed_in: bool = False) -> tuple[Params, str]:
        """The parameters and consumer key of a call, counted against the limits;
        ``signed_in``: the call needs a valid access token too."""
        params = await read_params(request)
        key = self.key(request, params)
        if signed_in:
            self.user(request, params, key)
        self.count(request)
        return params, key

    async def authed(self, request: web.Request) -> Params:
        """The parameters of a call by a signed-in user (counted against the limits)."""
        params, _ = await self.keyed(request, signed_in=True)
        return params

    def limit_headers(self, request: web.Request, error_code: str | None) -> dict[str, str]:
        """``X-Limit-*`` for the answer, and ``Retry-After`` when a limit refused it."""
        headers = {
            **self.user_limiter.headers("User", request.get(USER_IDENT)),
            **self.key_limiter.headers("Key", request.get(KEY_IDENT)),
        }
        limited = {str(Code.USER_RATE_LIMITED): "User", str(Code.KEY_RATE_LIMITED): "Key"}
        prefix = limited.get(error_code or "")
        if prefix is not None:
            headers["Retry-After"] = headers[f"X-Limit-{prefix}-Reset"]
        return headers


@dataclass
class _Code:
    code_hash: str
    consumer_key: str
    redirect_uri: str
    state: str | None
    status: str
    created_at: float


class OAuth:
    """Pocket's three-step sign-in: request a code, the user approves, trade it for a token."""

    def __init__(self, gate: Gate, clock: Callable[[], float]) -> None:
        self.gate = gate
        self.conn = gate.conn
        self.clock = clock
        self.form_secret = secrets.token_bytes(32)

    async def request_code(self, request: web.Request) -> web.Response:
        """``/v3/oauth/request``: a request token for ``redirect_uri``."""
        params, key = await self.gate.keyed(request)
        redirect_uri = text(params, "redirect_uri")
        if redirect_uri is None:
            raise ApiError(400, Code.MISSING_REDIRECT, "Missing redirect url.")
        scheme = urlsplit(redirect_uri).scheme.lower()
        if not scheme or scheme in _BAD_REDIRECT_SCHEMES:
            raise ApiError(400, Code.INVALID_REDIRECT, "Invalid redirect uri.")
        state = text(params, "state")
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

    async def authorize(self, request: web.Request) -> web.Response:
        """``/v3/oauth/authorize``: an approved code becomes an access token, once."""
        params, key = await self.gate.keyed(request)
        code = text(params, "code")
        if code is None:
            raise ApiError(400, Code.MISSING_CODE, "Missing code.")
        with transaction(self.conn):
            found = self._code(code)
            if found is None:
                raise bad_request("Code not found.", Code.CODE_NOT_FOUND)
            if found.consumer_key != key:
                raise ApiError(
                    403, Code.INVALID_CONSUMER_KEY, "Consumer key does not match the code."
                )
            if found.status == "used":
                raise ApiError(403, Code.CODE_USED, "Already used code.")
            if found.status == "denied":
                raise ApiError(403, Code.CODE_REJECTED, "User rejected code.")
            if found.status != "approved":
                raise ApiError(403, Code.CODE_REJECTED, "User has not approved this code yet.")
            self.conn.execute(
                "UPDATE serve_codes SET status = 'used' WHERE code_hash = ?", (found.code_hash,)
            )
            token = issue_token(self.conn, USERNAME, key)
        log.info("issued an access token through OAuth")
        answer: dict[str, str] = {"access_token": token, "username": USERNAME}
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

    async def approval_page(self, request: web.Request) -> web.Response:
        """``GET /auth/authorize``: the page where the user approves or denies."""
        code = request.query.get("request_token", "")
        found = self._code(code) if code else None
        if found is None:
            return _page(400, *_UNKNOWN_CODE)
        asked = request.query.get("redirect_uri")
        if asked and asked != found.redirect_uri:
            return _page(400, *_REDIRECT_MISMATCH)
        if found.status != "pending":
            return _page(400, *_ALREADY_ANSWERED)
        app = _app_label(found.consumer_key)
        body = _APPROVAL_FORM.format(
            app=html.escape(app),
            target=html.escape(_redirect_label(found.redirect_uri)),
            code=html.escape(code, quote=True),
            form_token=self._form_token(found.code_hash),
        )
        title = f"{app} wants to access your Tuckaway list"
        return web.Response(
            status=200,
            text=pages.render(title, body),
            content_type="text/html",
            headers=pages.PAGE_HEADERS,
        )

    async def approval_answer(self, request: web.Request) -> web.Response:
        """``POST /auth/authorize``: record the decision and send the user back."""
        form = await request.post()
        code = form.get("request_token")
        found = self._code(code) if isinstance(code, str) and code else None
        if found is None:
            return _page(400, *_UNKNOWN_CODE)
        given = form.get("form_token")
        if not isinstance(given, str) or not hmac.compare_digest(
            given, self._form_token(found.code_hash)
        ):
            return _page(403, *_FORM_EXPIRED)
        decision = form.get("decision")
        if decision not in {"approve", "deny"}:
            return _page(400, *_UNKNOWN_DECISION)
        status = "approved" if decision == "approve" else "denied"
        cur = self.conn.execute(
            "UPDATE serve_codes SET status = ? WHERE code_hash = ? AND status = 'pending'",
            (status, found.code_hash),
        )
        if cur.rowcount != 1:
            return _page(400, *_ALREADY_ANSWERED)
        log.info("request token %s by the user", status)
        return web.Response(
            status=302, headers={"Location": found.redirect_uri, "Cache-Control": "no-store"}
        )


def _oauth_answer(request: web.Request, data: Mapping[str, str | None]) -> web.Response:
    """JSON when asked with ``X-Accept: application/json``, form-encoded otherwise."""
    if "application/json" in request.headers.get("X-Accept", ""):
        return json_response(dict(data))
    pairs = {k: v for k, v in data.items() if v is not None}
    return web.Response(
        text=urlencode(pairs),
        content_type="application/x-www-form-urlencoded",
        headers={"Cache-Control": "no-store"},
    )


def _app_label(consumer_key: str) -> str:
    """Pocket showed the registered app's name; we have only its consumer key."""
    head = consumer_key.split("-", 1)[0][:16]
    return f"An application (key {head}…)" if head else "An application"


def _redirect_label(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"


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

_UNKNOWN_CODE = (
    "Unknown request",
    "This authorization request does not exist or has expired. Start the sign-in again "
    "from the application.",
)
_REDIRECT_MISMATCH = (
    "Redirect mismatch",
    "The redirect address does not match the one the application registered for this "
    "request. Start the sign-in again from the application.",
)
_ALREADY_ANSWERED = (
    "Already answered",
    "This authorization request was already approved or denied. Start the sign-in again "
    "from the application if you need to.",
)
_FORM_EXPIRED = (
    "Form expired",
    "This approval form is no longer valid (the server may have restarted). Reload the page "
    "and answer again.",
)
_UNKNOWN_DECISION = ("Choose Approve or Deny", "Go back and press one of the two buttons.")


def _page(status: int, title: str, message: str) -> web.Response:
    return web.Response(
        status=status,
        text=pages.message(title, message),
        content_type="text/html",
        headers=pages.PAGE_HEADERS,
    )


__all__ = ["CODE_TTL_S", "USERNAME", "Gate", "OAuth", "hash_secret", "issue_token"]
