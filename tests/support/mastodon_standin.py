"""A Mastodon 4.x stand-in on 127.0.0.1 for tests.

It speaks the parts of the client API Tuckaway uses, with the bodies and
headers of real Mastodon (see ../shared/api/mastodon-notes.md):

- OAuth: ``POST /api/v1/apps`` (422 on missing fields), ``GET /oauth/authorize``
  (a tiny approve/deny form, or straight redirects with ``auto_approve``),
  ``POST /oauth/authorize`` (the form's answer), ``POST /oauth/token`` (client
  credentials, redirect_uri and the PKCE verifier are checked),
  ``POST /oauth/revoke``, ``GET /api/v1/accounts/verify_credentials``.
- Statuses: ``GET /api/v1/statuses/:id``, ``POST /api/v1/statuses/:id/bookmark``
  and ``/unbookmark`` (200 with the whole Status; 404 ``Record not found``),
  ``GET /api/v1/bookmarks`` (bookmark-id cursors in the ``Link`` header, ``next``
  on full pages only, no header on empty pages, newest bookmark first; the
  cursor's name, extra parameters and the link's base can be changed:
  ``cursor_param``, ``cursor_extra``, ``next_base``),
  ``GET /api/v2/search`` (``resolve=true`` fetches remote urls it knows).
- 401 ``The access token is invalid`` for a bad bearer token; 403 ``This action is
  outside the authorized scopes`` for a token without the endpoint's scope, each
  endpoint asking what its Mastodon controller asks (``_doorkeeper``). Tokens from
  the OAuth flow hold exactly the scopes asked for; :meth:`link` signs a host in
  through that flow (PKCE), :meth:`link_token` with a token of chosen scopes.
- Faults on demand: :meth:`MastodonStandIn.inject` (any status, headers, body
  or delay for the next N matching requests), :meth:`rate_limit` (429 with
  ``X-RateLimit-Reset`` and/or ``Retry-After``) and :meth:`exhaust` (a
  success that says ``X-RateLimit-Remaining: 0`` until the reset).

Use it in-process (``url = await m.start()`` ... ``await m.stop()``, or
``async with MastodonStandIn() as m``), or for a subprocess under test in a
thread of its own (``url = m.start_in_thread()`` ... ``m.stop_thread()``, or
``with m.running() as url``). Every request is recorded in ``m.requests``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import itertools
import json
import re
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aiohttp import web

JSON = dict[str, Any]

INVALID_TOKEN = {"error": "The access token is invalid"}
NO_USER = {"error": "This method requires an authenticated user"}
#: Api::BaseController#doorkeeper_forbidden_render_options
OUTSIDE_SCOPES = {"error": "This action is outside the authorized scopes"}
RESOLVE_NEEDS_USER = {
    "error": "Search queries that resolve remote resources are not supported without "
    "authentication"
}
RECORD_NOT_FOUND = {"error": "Record not found"}
RATE_LIMIT = 300


def _iso(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def pkce_s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class Recorded:
    """One request as the stand-in saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str

    @property
    def bearer(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        return auth[7:] if auth.startswith("Bearer ") else None


@dataclass
class Fault:
    """Answer the next ``times`` requests matching ``method``/``path`` this way."""

    status: int | None
    times: int
    method: str | None = None
    path: str | None = None  # prefix of the request path
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    skip: int = 0  # let this many matching requests through first

    def matches(self, request: web.Request) -> bool:
        if self.method is not None and request.method != self.method.upper():
            return False
        return self.path is None or request.path.startswith(self.path)


@dataclass
class Account:
    id: str
    username: str
    domain: str | None  # None: local to the stand-in
    display_name: str = ""


@dataclass
class Status:
    id: str
    account: Account
    text: str
    created_at: datetime
    remote_url: str | None = None  # None: a status of this server
    remote_uri: str | None = None
    card_url: str | None = None
    content_html: str | None = None
    bookmarked: bool = False
    visibility: str = "public"  # public, unlisted, private, direct
    #: merged over the status's JSON (``"account"``: over its account's), e.g. huge fields
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class App:
    client_id: str
    client_secret: str
    name: str
    redirect_uris: list[str]
    scopes: str
    website: str | None


@dataclass
class Grant:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str | None
    method: str | None
    used: bool = False


@dataclass
class Token:
    token: str
    client_id: str | None
    scope: str
    created_at: int
    user: bool = True


class MastodonStandIn:
    """One Mastodon server with one signed-in user (``username``)."""

    def __init__(
        self,
        *,
        username: str = "alice",
        auto_approve: bool | None = None,
        access_token: str | None = None,
    ) -> None:
        #: None: /oauth/authorize shows the form; True/False: approve/deny at once
        self.auto_approve = auto_approve
        #: answer the authorize redirect with this state instead of the one asked for
        self.forge_state: str | None = None
        #: user tokens handed out by /oauth/token, in order
        self.issued: list[str] = []
        self.base_url = ""
        self.requests: list[Recorded] = []
        self.apps: dict[str, App] = {}
        self.grants: dict[str, Grant] = {}
        self.tokens: dict[str, Token] = {}
        self.revoked: list[str] = []
        self.faults: list[Fault] = []
        self.accounts: dict[str, Account] = {}
        self.statuses: dict[str, Status] = {}
        #: remote url -> local status id, fetched by a search with resolve=true
        self.remote_urls: dict[str, str] = {}
        #: local status ids the server already knows by remote url (no resolve needed)
        self.known_remote: set[str] = set()
        #: bookmark id -> status id
        self.bookmarks: dict[int, str] = {}
        #: the query parameter of the ``next`` link's cursor (a fork may not use max_id)
        self.cursor_param = "max_id"
        #: more query parameters on every ``next`` link (servers carry filters there)
        self.cursor_extra: dict[str, str] = {}
        #: the ``next`` link's base URL when it is not this server's (a misbehaving proxy)
        self.next_base: str | None = None
        self._lock = threading.RLock()
        self._status_ids = itertools.count(110_000_000_000_000_001, 7919)
        self._account_ids = itertools.count(100_001)
        self._bookmark_ids = itertools.count(5_001)
        self._clock = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        self.user = self.add_account(username)
        #: the user token tests hand to Tuckaway; more come from the OAuth flow
        self.access_token = access_token or "standin-token-" + secrets.token_hex(8)
        self.tokens[self.access_token] = Token(self.access_token, None, "read write", 0)
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- running ---------------------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        r.add_post("/api/v1/apps", self._apps)
        r.add_get("/oauth/authorize", self._authorize)
        r.add_post("/oauth/authorize", self._authorize_decision)
        r.add_post("/oauth/token", self._token)
        r.add_post("/oauth/revoke", self._revoke)
        r.add_get("/api/v1/accounts/verify_credentials", self._verify_credentials)
        r.add_get("/api/v1/statuses/{id}", self._get_status)
        r.add_post("/api/v1/statuses/{id}/bookmark", self._bookmark)
        r.add_post("/api/v1/statuses/{id}/unbookmark", self._unbookmark)
        r.add_get("/api/v1/bookmarks", self._bookmarks)
        r.add_get("/api/v2/search", self._search)
        return app

    async def start(self) -> str:
        """Serve on a free port of 127.0.0.1; returns the base URL (no trailing slash)."""
        self._runner = web.AppRunner(self._make_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> MastodonStandIn:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start_in_thread(self) -> str:
        """Serve from a thread with its own event loop (for subprocess tests)."""
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        self._loop = loop

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="mastodon-standin", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the Mastodon stand-in did not start")
        return self.base_url

    def stop_thread(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None
            self._thread = None

    @contextmanager
    def running(self) -> Iterator[str]:
        """``with standin.running() as base_url:`` in a thread."""
        url = self.start_in_thread()
        try:
            yield url
        finally:
            self.stop_thread()

    # -- seeding ---------------------------------------------------------------

    def add_account(self, username: str, domain: str | None = None) -> Account:
        with self._lock:
            for account in self.accounts.values():
                if account.username == username and account.domain == domain:
                    return account
            account = Account(str(next(self._account_ids)), username, domain, username.title())
            self.accounts[account.id] = account
            return account

    def add_status(
        self,
        text: str = "hello",
        *,
        username: str | None = None,
        card_url: str | None = None,
        content_html: str | None = None,
        extra: dict[str, Any] | None = None,
        visibility: str = "public",
    ) -> Status:
        """A status posted on this server (by the user unless ``username``); ``extra``
        is merged over its JSON (``{"url": "x" * 99999}``, ``{"account": {...}}``)."""
        with self._lock:
            account = self.add_account(username) if username else self.user
            sid = str(next(self._status_ids))
            self._clock += timedelta(minutes=1)
            status = Status(
                sid,
                account,
                text,
                self._clock,
                None,
                None,
                card_url,
                content_html,
                extra=extra or {},
                visibility=visibility,
            )
            self.statuses[sid] = status
            return status

    def add_remote_status(
        self,
        url: str,
        text: str = "from afar",
        *,
        card_url: str | None = None,
        content_html: str | None = None,
        known: bool = False,
    ) -> Status:
        """A status of another server (``url`` like ``https://other.example/@bob/1234``).

        A search with ``resolve=true`` finds it; without resolve only if ``known``
        (already fetched by this server).
        """
        parts = urlsplit(url)
        host = parts.hostname or "other.example"
        username = parts.path.strip("/").split("/")[0].lstrip("@") or "bob"
        with self._lock:
            account = self.add_account(username, host)
            sid = str(next(self._status_ids))
            self._clock += timedelta(minutes=1)
            uri = (
                f"{parts.scheme}://{host}/users/{username}/statuses/{parts.path.rsplit('/', 1)[-1]}"
            )
            status = Status(sid, account, text, self._clock, url, uri, card_url, content_html)
            self.statuses[sid] = status
            self.remote_urls[url] = sid
            if known:
                self.known_remote.add(sid)
            return status

    def status_url(self, status: Status) -> str:
        """The status's ``url`` (its page on its own server)."""
        return status.remote_url or f"{self.base_url}/@{status.account.username}/{status.id}"

    def status_uri(self, status: Status) -> str:
        return status.remote_uri or (
            f"{self.base_url}/users/{status.account.username}/statuses/{status.id}"
        )

    def local_url(self, status: Status) -> str:
        """Where this server shows ``status`` (``/@user/ID`` or ``/@user@host/ID``)."""
        return f"{self.base_url}/@{self._acct(status.account)}/{status.id}"

    def bookmark(self, status_id: str) -> int:
        """Bookmark ``status_id`` directly (seeding); returns the bookmark id."""
        with self._lock:
            for bid, sid in self.bookmarks.items():
                if sid == status_id:
                    return bid
            bid = next(self._bookmark_ids)
            self.bookmarks[bid] = status_id
            self.statuses[status_id].bookmarked = True
            return bid

    def link(self, env: dict[str, str]) -> str:
        """Sign the host in ``env`` in as this server's user through the whole sign-in:
        ``tuckaway login mastodon`` (app registration, PKCE), its address opened and
        approved like a browser tab would. The token the host got (exactly the scopes
        it asked for) becomes :attr:`access_token`, and is returned."""
        from support.browser import browse_in_thread

        before = len(self.issued)
        proc = subprocess.Popen(
            [sys.executable, "-m", "tuckaway.cli", "login", "mastodon", "--instance",
             self.base_url, "--no-browser", "--timeout", "60"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stderr is not None
        url = ""
        while not url:
            line = proc.stderr.readline()
            assert line, "tuckaway login ended before printing the address"
            url = line.strip() if line.strip().startswith(self.base_url) else ""
        page = browse_in_thread(url, "approve")
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "Tuckaway is linked" in page.text, page.text
        (token,) = self.issued[before:]
        self.access_token = token
        return token

    def link_token(self, env: dict[str, str], scope: str) -> str:
        """Link the host in ``env`` with a new user token holding ``scope`` (given on
        stdin, as a user holding a token may: a sign-in from an older Tuckaway)."""
        from support.hostproc import run_cli

        token = self.issue_token(scope)
        done = run_cli(
            env, "login", "mastodon", "--instance", self.base_url, "--access-token-stdin",
            input=token + "\n",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return token

    def bookmarked_ids(self) -> list[str]:
        """Status ids in bookmark order (most recently bookmarked first)."""
        with self._lock:
            return [self.bookmarks[b] for b in sorted(self.bookmarks, reverse=True)]

    def issue_token(self, scope: str = "read write") -> str:
        token = "standin-token-" + secrets.token_hex(8)
        self.tokens[token] = Token(token, None, scope, 0)
        return token

    # -- faults ----------------------------------------------------------------

    def inject(
        self,
        status: int | None = 500,
        *,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        headers: dict[str, str] | None = None,
        body: Any = None,
        delay: float = 0.0,
        skip: int = 0,
    ) -> Fault:
        """Answer the next ``times`` matching requests with ``status`` (after ``delay`` s).

        ``status=None`` only delays, then answers normally (a slow server), with
        ``headers`` added. With ``skip``, that many matching requests are
        answered normally first.
        """
        fault = Fault(status, times, method, path, dict(headers or {}), body, delay, skip)
        with self._lock:
            self.faults.append(fault)
        return fault

    def rate_limit(
        self,
        *,
        times: int = 1,
        reset_in: float | None = 30.0,
        retry_after: int | None = None,
        method: str | None = None,
        path: str | None = None,
        skip: int = 0,
    ) -> Fault:
        """The next ``times`` matching requests (after ``skip``) answer 429 like
        Mastodon's rack-attack."""
        headers = {"X-RateLimit-Limit": str(RATE_LIMIT), "X-RateLimit-Remaining": "0"}
        if reset_in is not None:
            reset = datetime.now(UTC) + timedelta(seconds=reset_in)
            headers["X-RateLimit-Reset"] = _iso(reset)
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return self.inject(
            429,
            times=times,
            method=method,
            path=path,
            headers=headers,
            body={"error": "Too many requests"},
            skip=skip,
        )

    def exhaust(
        self,
        *,
        reset_in: float = 30.0,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> Fault:
        """The next ``times`` matching requests succeed, saying the allowance is used up
        (``X-RateLimit-Remaining: 0``) until ``X-RateLimit-Reset``, ``reset_in`` s away."""
        reset = datetime.now(UTC) + timedelta(seconds=reset_in)
        headers = {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": _iso(reset),
        }
        return self.inject(None, times=times, method=method, path=path, headers=headers)

    def requests_to(self, path: str, method: str | None = None) -> list[Recorded]:
        return [
            r
            for r in self.requests
            if r.path.startswith(path) and (method is None or r.method == method.upper())
        ]

    # -- plumbing --------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.text() if request.body_exists else ""
        self.requests.append(
            Recorded(request.method, request.path, dict(request.query), dict(request.headers), body)
        )
        fault: Fault | None = None
        with self._lock:
            for candidate in self.faults:
                if candidate.times > 0 and candidate.matches(request):
                    if candidate.skip > 0:
                        candidate.skip -= 1
                        continue
                    candidate.times -= 1
                    fault = candidate
                    break
            self.faults = [f for f in self.faults if f.times > 0]
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                if isinstance(fault.body, str | bytes):
                    return web.Response(status=fault.status, body=fault.body, headers=fault.headers)
                return web.json_response(
                    fault.body if fault.body is not None else {"error": f"HTTP {fault.status}"},
                    status=fault.status,
                    headers=fault.headers,
                )
        response: web.StreamResponse = await handler(request)
        if fault is not None:  # status None: answered normally, with the fault's headers
            response.headers.update(fault.headers)
        if request.path.startswith("/api/"):
            response.headers.setdefault("X-RateLimit-Limit", str(RATE_LIMIT))
            response.headers.setdefault("X-RateLimit-Remaining", str(RATE_LIMIT - 1))
            reset = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=5)
            response.headers.setdefault("X-RateLimit-Reset", _iso(reset))
        return response

    @staticmethod
    async def _params(request: web.Request) -> dict[str, str]:
        """Query, form or JSON parameters, as Rails merges them."""
        params = dict(request.query)
        if request.body_exists:
            text = await request.text()
            if request.content_type == "application/json":
                try:
                    data = json.loads(text or "{}")
                except ValueError:
                    raise web.HTTPBadRequest(
                        text='{"error":"Invalid JSON"}', content_type="application/json"
                    ) from None
                if isinstance(data, dict):
                    for key, value in data.items():
                        params[key] = " ".join(value) if isinstance(value, list) else str(value)
            else:
                params.update(dict(parse_qsl(text, keep_blank_values=True)))
        return params

    def _doorkeeper(
        self,
        request: web.Request,
        *scopes: str,
        if_got_token: bool = False,
        require_user: bool = True,
    ) -> Token | web.Response | None:
        """Mastodon's checks before an API action: ``doorkeeper_authorize!(*scopes)``
        (a token holding any one of ``scopes``, else 401 or 403), or with
        ``if_got_token`` ``authorize_if_got_token!`` (the same, but no token is
        fine: None); then ``require_user!`` (422 for an app-only token)."""
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return None if if_got_token else web.json_response(NO_USER, status=401)
        token = self.tokens.get(auth[7:].strip())
        if token is None:
            return web.json_response(INVALID_TOKEN, status=401)
        if not set(token.scope.split()) & set(scopes):
            return web.json_response(OUTSIDE_SCOPES, status=403)
        if require_user and not token.user:
            return web.json_response(NO_USER, status=422)
        return token

    # -- OAuth -----------------------------------------------------------------

    async def _apps(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        problems = []
        if not params.get("client_name"):
            problems.append("Application name can't be blank")
        if not params.get("redirect_uris"):
            problems.append("Redirect URI can't be blank")
        if problems:
            return web.json_response(
                {"error": "Validation failed: " + ", ".join(problems)}, status=422
            )
        uris = params["redirect_uris"].split()
        app = App(
            client_id=secrets.token_urlsafe(24),
            client_secret=secrets.token_urlsafe(32),
            name=params["client_name"],
            redirect_uris=uris,
            scopes=params.get("scopes") or "read",
            website=params.get("website") or None,
        )
        self.apps[app.client_id] = app
        return web.json_response(
            {
                "id": str(len(self.apps)),
                "name": app.name,
                "website": app.website,
                "scopes": app.scopes.split(),
                "redirect_uri": "\n".join(uris),
                "redirect_uris": uris,
                "vapid_key": "BCk-QqERU0q-CfYZjcuB6lnyyOYfJ2AifKqfeGIm7Z-HiTU5T9eTG5GxVA0_OH5mMlI4UkkDTpaZwozy0TzdZ2M=",
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "client_secret_expires_at": 0,
            }
        )

    @staticmethod
    def _redirect_ok(app: App, redirect_uri: str) -> bool:
        """Exact match, or a loopback redirect on any port (RFC 8252, 7.3)."""
        if redirect_uri in app.redirect_uris:
            return True
        given = urlsplit(redirect_uri)
        if given.hostname not in ("127.0.0.1", "::1", "localhost"):
            return False
        for registered in app.redirect_uris:
            reg = urlsplit(registered)
            if (reg.scheme, reg.hostname, reg.path) == (given.scheme, given.hostname, given.path):
                return True
        return False

    @staticmethod
    def _with_query(uri: str, params: dict[str, str]) -> str:
        parts = urlsplit(uri)
        query = parts.query + ("&" if parts.query else "") + urlencode(params)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))

    def _oauth_error_page(self, message: str, status: int = 400) -> web.Response:
        page = f"<!doctype html><title>Error</title><h1>An error has occurred</h1><p>{html.escape(message)}</p>"
        return web.Response(status=status, text=page, content_type="text/html")

    def _check_authorize(self, params: dict[str, str]) -> tuple[App, str] | web.Response:
        app = self.apps.get(params.get("client_id", ""))
        if app is None:
            return self._oauth_error_page(
                "Client authentication failed due to unknown client.", 401
            )
        redirect_uri = params.get("redirect_uri", "")
        if not self._redirect_ok(app, redirect_uri):
            return self._oauth_error_page("The redirect uri included is not valid.")
        return app, redirect_uri

    async def _authorize(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        checked = self._check_authorize(params)
        if isinstance(checked, web.Response):
            return checked
        app, redirect_uri = checked
        state = params.get("state")
        extra = {"state": state} if state is not None else {}
        if params.get("response_type") != "code":
            return self._redirect(redirect_uri, {"error": "unsupported_response_type", **extra})
        scope = params.get("scope") or "read"
        if not set(scope.split()) <= set(app.scopes.split()):
            return self._redirect(redirect_uri, {"error": "invalid_scope", **extra})
        method = params.get("code_challenge_method")
        if params.get("code_challenge") and method not in ("S256", None, ""):
            return self._redirect(redirect_uri, {"error": "invalid_request", **extra})
        if self.auto_approve is True:
            return self._approve(params, redirect_uri, scope)
        if self.auto_approve is False:
            return self._deny(redirect_uri, state)
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
        )
        page = (
            "<!doctype html><html><head><title>Authorize</title></head><body>"
            f"<h1>Authorize {html.escape(app.name)}?</h1>"
            f"<p>It asks for: {html.escape(scope)}</p>"
            f'<form method="post" action="/oauth/authorize">{hidden}'
            '<button id="approve" name="decision" value="approve">Authorize</button>'
            '<button id="deny" name="decision" value="deny">Deny</button>'
            "</form></body></html>"
        )
        return web.Response(text=page, content_type="text/html")

    async def _authorize_decision(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        checked = self._check_authorize(params)
        if isinstance(checked, web.Response):
            return checked
        _, redirect_uri = checked
        if params.get("decision") == "approve":
            return self._approve(params, redirect_uri, params.get("scope") or "read")
        return self._deny(redirect_uri, params.get("state"))

    def _approve(self, params: dict[str, str], redirect_uri: str, scope: str) -> web.Response:
        code = secrets.token_urlsafe(24)
        self.grants[code] = Grant(
            code,
            params["client_id"],
            redirect_uri,
            scope,
            params.get("code_challenge") or None,
            params.get("code_challenge_method") or None,
        )
        answer = {"code": code}
        state = self.forge_state if self.forge_state is not None else params.get("state")
        if state is not None:
            answer["state"] = state
        return self._redirect(redirect_uri, answer)

    def _deny(self, redirect_uri: str, state: str | None) -> web.Response:
        answer = {
            "error": "access_denied",
            "error_description": "The resource owner or authorization server denied the request.",
        }
        state = self.forge_state if self.forge_state is not None else state
        if state is not None:
            answer["state"] = state
        return self._redirect(redirect_uri, answer)

    def _redirect(self, redirect_uri: str, params: dict[str, str]) -> web.Response:
        if redirect_uri == "urn:ietf:wg:oauth:2.0:oob":
            return web.Response(text=json.dumps(params), content_type="application/json")
        raise web.HTTPFound(self._with_query(redirect_uri, params))

    async def _token(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        app = self.apps.get(params.get("client_id", ""))
        if app is None or not secrets.compare_digest(
            params.get("client_secret", ""), app.client_secret
        ):
            return web.json_response(
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed due to unknown client, "
                    "no client authentication included, or unsupported authentication method.",
                },
                status=401,
            )
        grant_type = params.get("grant_type")
        if grant_type == "client_credentials":
            token = Token(
                secrets.token_urlsafe(32),
                app.client_id,
                params.get("scope") or "read",
                int(datetime.now(UTC).timestamp()),
                user=False,
            )
            self.tokens[token.token] = token
            return self._token_answer(token)
        if grant_type != "authorization_code":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        invalid_grant = web.json_response(
            {
                "error": "invalid_grant",
                "error_description": "The provided authorization grant is invalid, expired, "
                "revoked, does not match the redirection URI used in the authorization "
                "request, or was issued to another client.",
            },
            status=400,
        )
        grant = self.grants.get(params.get("code", ""))
        if grant is None or grant.used or grant.client_id != app.client_id:
            return invalid_grant
        if params.get("redirect_uri") != grant.redirect_uri:
            return invalid_grant
        if grant.challenge is not None:
            verifier = params.get("code_verifier", "")
            if not verifier or pkce_s256(verifier) != grant.challenge:
                return invalid_grant
        grant.used = True
        token = Token(
            secrets.token_urlsafe(32),
            app.client_id,
            grant.scope,
            int(datetime.now(UTC).timestamp()),
        )
        self.tokens[token.token] = token
        self.issued.append(token.token)
        return self._token_answer(token)

    @staticmethod
    def _token_answer(token: Token) -> web.Response:
        return web.json_response(
            {
                "access_token": token.token,
                "token_type": "Bearer",
                "scope": token.scope,
                "created_at": token.created_at,
            }
        )

    async def _revoke(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        app = self.apps.get(params.get("client_id", ""))
        if app is None or params.get("client_secret") != app.client_secret:
            return web.json_response(
                {
                    "error": "unauthorized_client",
                    "error_description": "You are not authorized to revoke this token",
                },
                status=403,
            )
        token = self.tokens.get(params.get("token", ""))
        if token is not None and token.client_id == app.client_id:
            del self.tokens[token.token]
            self.revoked.append(token.token)
        return web.json_response({})

    # -- JSON ------------------------------------------------------------------

    def _acct(self, account: Account) -> str:
        return (
            account.username if account.domain is None else f"{account.username}@{account.domain}"
        )

    def account_json(self, account: Account) -> JSON:
        if account.domain is None:
            url = f"{self.base_url}/@{account.username}"
            uri = f"{self.base_url}/users/{account.username}"
        else:
            url = f"https://{account.domain}/@{account.username}"
            uri = f"https://{account.domain}/users/{account.username}"
        return {
            "id": account.id,
            "username": account.username,
            "acct": self._acct(account),
            "display_name": account.display_name,
            "locked": False,
            "bot": False,
            "discoverable": True,
            "indexable": False,
            "group": False,
            "created_at": "2023-01-01T00:00:00.000Z",
            "note": "",
            "url": url,
            "uri": uri,
            "avatar": f"{self.base_url}/avatars/original/missing.png",
            "avatar_static": f"{self.base_url}/avatars/original/missing.png",
            "header": f"{self.base_url}/headers/original/missing.png",
            "header_static": f"{self.base_url}/headers/original/missing.png",
            "followers_count": 3,
            "following_count": 5,
            "statuses_count": 42,
            "last_status_at": "2024-05-01",
            "hide_collections": None,
            "noindex": False,
            "emojis": [],
            "roles": [],
            "fields": [],
        }

    def status_json(self, status: Status) -> JSON:
        content = status.content_html
        if content is None:
            content = f"<p>{html.escape(status.text)}</p>"
            if status.card_url:
                link = html.escape(status.card_url)
                content = (
                    f'<p>{html.escape(status.text)} <a href="{link}" rel="nofollow noopener" '
                    f'target="_blank">{link}</a></p>'
                )
        card = None
        if status.card_url:
            card = {
                "url": status.card_url,
                "title": "A shared page",
                "description": "What the page says about itself",
                "language": "en",
                "type": "link",
                "author_name": "",
                "author_url": "",
                "provider_name": urlsplit(status.card_url).hostname or "",
                "provider_url": "",
                "html": "",
                "width": 400,
                "height": 200,
                "image": None,
                "image_description": "",
                "embed_url": "",
                "blurhash": None,
                "published_at": None,
                "authors": [],
            }
        answer = {
            "id": status.id,
            "created_at": _iso(status.created_at),
            "in_reply_to_id": None,
            "in_reply_to_account_id": None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": status.visibility,
            "language": "en",
            "uri": self.status_uri(status),
            "url": self.status_url(status),
            "replies_count": 0,
            "reblogs_count": 1,
            "favourites_count": 2,
            "edited_at": None,
            "favourited": False,
            "reblogged": False,
            "muted": False,
            "bookmarked": status.bookmarked,
            "content": content,
            "filtered": [],
            "reblog": None,
            "application": {"name": "Web", "website": None},
            "account": self.account_json(status.account),
            "media_attachments": [],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "quote": None,
            "card": card,
            "poll": None,
        }
        extra = dict(status.extra)
        if isinstance(extra.get("account"), dict):
            extra["account"] = {**answer["account"], **extra["account"]}
        return {**answer, **extra}

    # -- statuses and bookmarks ------------------------------------------------

    def _find(self, request: web.Request) -> Status | web.Response:
        status = self.statuses.get(request.match_info["id"])
        if status is None:
            return web.json_response(RECORD_NOT_FOUND, status=404)
        return status

    async def _verify_credentials(self, request: web.Request) -> web.Response:
        # app/controllers/api/v1/accounts/credentials_controller.rb:
        # doorkeeper_authorize! :profile, :read, :'read:accounts'; require_user!
        token = self._doorkeeper(request, "profile", "read", "read:accounts")
        if isinstance(token, web.Response):
            return token
        answer = self.account_json(self.user)
        answer["source"] = {
            "privacy": "public",
            "sensitive": False,
            "language": "",
            "note": "",
            "fields": [],
            "follow_requests_count": 0,
        }
        return web.json_response(answer)

    async def _get_status(self, request: web.Request) -> web.Response:
        # app/controllers/api/v1/statuses_controller.rb:
        # authorize_if_got_token! :read, :'read:statuses' (show needs no user)
        token = self._doorkeeper(
            request, "read", "read:statuses", if_got_token=True, require_user=False
        )
        if isinstance(token, web.Response):
            return token
        status = self._find(request)
        if isinstance(status, web.Response):
            return status
        return web.json_response(self.status_json(status))

    async def _bookmark(self, request: web.Request) -> web.Response:
        # app/controllers/api/v1/statuses/bookmarks_controller.rb:
        # doorkeeper_authorize! :write, :'write:bookmarks'; require_user!
        token = self._doorkeeper(request, "write", "write:bookmarks")
        if isinstance(token, web.Response):
            return token
        status = self._find(request)
        if isinstance(status, web.Response):
            return status
        self.bookmark(status.id)
        return web.json_response(self.status_json(status))

    async def _unbookmark(self, request: web.Request) -> web.Response:
        # app/controllers/api/v1/statuses/bookmarks_controller.rb, as _bookmark
        token = self._doorkeeper(request, "write", "write:bookmarks")
        if isinstance(token, web.Response):
            return token
        status = self._find(request)
        if isinstance(status, web.Response):
            return status
        with self._lock:
            for bid in [b for b, sid in self.bookmarks.items() if sid == status.id]:
                del self.bookmarks[bid]
            status.bookmarked = False
        return web.json_response(self.status_json(status))

    @staticmethod
    def _int_param(request: web.Request, name: str) -> int | None:
        value = request.query.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except ValueError:
            return None

    async def _bookmarks(self, request: web.Request) -> web.Response:
        # app/controllers/api/v1/bookmarks_controller.rb:
        # doorkeeper_authorize! :read, :'read:bookmarks'; require_user!
        token = self._doorkeeper(request, "read", "read:bookmarks")
        if isinstance(token, web.Response):
            return token
        limit = self._int_param(request, "limit") or 20
        limit = max(1, min(limit, 40))
        max_id = self._int_param(request, self.cursor_param)
        since_id = self._int_param(request, "since_id")
        min_id = self._int_param(request, "min_id")
        with self._lock:
            ids = sorted(self.bookmarks, reverse=True)
            if max_id is not None:
                ids = [b for b in ids if b < max_id]
            if since_id is not None:
                ids = [b for b in ids if b > since_id]
            if min_id is not None:
                ids = sorted(b for b in ids if b > min_id)[:limit][::-1]
            page = ids[:limit]
            statuses = [self.status_json(self.statuses[self.bookmarks[b]]) for b in page]
        headers = {}
        if page:
            links = []
            query = {"limit": request.query["limit"]} if "limit" in request.query else {}
            if len(page) == limit:
                next_url = f"{self.next_base or self.base_url}/api/v1/bookmarks?" + urlencode(
                    {**query, **self.cursor_extra, self.cursor_param: page[-1]}
                )
                links.append(f'<{next_url}>; rel="next"')
            prev_url = f"{self.base_url}/api/v1/bookmarks?" + urlencode(
                {**query, "min_id": page[0]}
            )
            links.append(f'<{prev_url}>; rel="prev"')
            headers["Link"] = ", ".join(links)
        return web.json_response(statuses, headers=headers)

    async def _search(self, request: web.Request) -> web.Response:
        # app/controllers/api/v2/search_controller.rb: authorize_if_got_token! :read,
        # :'read:search'; resolving needs a signed-in user (remote_resolve_error)
        token = self._doorkeeper(
            request, "read", "read:search", if_got_token=True, require_user=False
        )
        if isinstance(token, web.Response):
            return token
        q = request.query.get("q", "").strip()
        resolve = request.query.get("resolve", "false").lower() in ("true", "1")
        if resolve and (token is None or not token.user):
            return web.json_response(RESOLVE_NEEDS_USER, status=401)
        kind = request.query.get("type")
        found: list[JSON] = []
        local = self._local_status_of(q) if resolve else None
        if kind in (None, "", "statuses") and local is not None:
            found = [self.status_json(local)]
        elif kind in (None, "", "statuses"):
            sid = self.remote_urls.get(q)
            if sid is not None and (resolve or sid in self.known_remote):
                if resolve:
                    self.known_remote.add(sid)
                found = [self.status_json(self.statuses[sid])]
            else:
                for status in self.statuses.values():
                    if q and q in (
                        self.status_url(status),
                        self.status_uri(status),
                        self.local_url(status),
                    ):
                        found = [self.status_json(status)]
                        break
        limit = self._int_param(request, "limit") or 20
        return web.json_response({"accounts": [], "statuses": found[:limit], "hashtags": []})

    _LOCAL_STATUS_PATHS = (
        re.compile(r"^/@[^@/.]+/(?P<id>[0-9]+)$"),  # statuses#show
        re.compile(r"^/users/[^@/.]+/statuses/(?P<id>[0-9]+)$"),  # statuses#show
        re.compile(r"^/@[^/]+@[^/]+/(?P<id>[0-9]+)$"),  # home#index, any: the id
    )

    def _local_status_of(self, url: str) -> Status | None:
        """The status a url of this server shows, found by its id alone whatever the
        user in the path, as app/services/resolve_url_service.rb's process_local_url
        does (it recognizes the route, then ``Status.find_by(id:)``)."""
        parts = urlsplit(url)
        if not self.base_url or f"{parts.scheme}://{parts.netloc}" != self.base_url:
            return None
        for pattern in self._LOCAL_STATUS_PATHS:
            match = pattern.match(parts.path)
            if match:
                return self.statuses.get(match.group("id"))
        return None
