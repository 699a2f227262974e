"""Sign-in and sign-out, end to end over real HTTP on 127.0.0.1.

Pocket: against ``tuckaway serve`` (its approval page is answered with a POST of
its form, as a user's click would). Mastodon: against the stand-in of
tests/support/mastodon_standin.py, which checks PKCE, state, client
credentials, the redirect URI and each endpoint's scope. A small browser-like
client follows the authorize URL, its redirects and the final redirect to the
host's loopback listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
import testkeyring
from aiohttp import web

from support.browser import Page, browse, browse_in_thread
from support.hostproc import HostProcess, host_env, run_cli, serve_process
from support.mastodon_standin import MastodonStandIn
from tuckaway import db
from tuckaway.accounts.credentials import MastodonApp, is_linked
from tuckaway.accounts.signin import (
    MASTODON_SCOPES,
    SignInDenied,
    link_token,
    login,
    logout,
    normalize_instance,
)
from tuckaway.context import Context
from tuckaway.errors import AuthFailed, AuthTimeout, ConfigError, Unavailable
from tuckaway.serve.app import RunningServer, start_server
from tuckaway.settings import Settings

CONSUMER_KEY = "12345-consumerkeyfortests"

# -- a Mastodon instance --------------------------------------------------------------


@pytest.fixture
async def mastodon() -> AsyncIterator[MastodonStandIn]:
    """The Mastodon stand-in of the other Mastodon tests, on this test's loop."""
    async with MastodonStandIn(username="ann") as standin:
        yield standin


def calls(standin: MastodonStandIn, since: int = 0) -> list[str]:
    return [f"{r.method} {r.path}" for r in standin.requests[since:]]


# -- a Pocket service whose last step fails ---------------------------------------------


@dataclass
class PocketOAuthStandin:
    """``/v3/oauth/request``, an ``/auth/authorize`` that approves at once, and a
    ``/v3/oauth/authorize`` that answers ``status`` after ``delay`` seconds."""

    status: int = 200
    delay: float = 0.0
    url: str = ""
    #: set once ``/v3/oauth/authorize`` is being answered
    exchanging: asyncio.Event = field(default_factory=asyncio.Event)
    #: ends the delay early (at teardown)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3/oauth/request", self._request)
        app.router.add_get("/auth/authorize", self._approve)
        app.router.add_post("/v3/oauth/authorize", self._authorize)
        return app

    async def _request(self, request: web.Request) -> web.Response:
        return web.json_response({"code": "req-" + secrets.token_hex(8), "state": None})

    async def _approve(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["redirect_uri"])

    async def _authorize(self, request: web.Request) -> web.Response:
        self.exchanging.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.released.wait(), self.delay)
        if self.status != 200:
            return web.Response(status=self.status, headers={"X-Error": "Server error"})
        return web.json_response({"access_token": "pocket-tok-" + secrets.token_hex(8),
                                  "username": "ann"})


@pytest.fixture
async def pocket_oauth() -> AsyncIterator[PocketOAuthStandin]:
    standin = PocketOAuthStandin()
    runner = web.AppRunner(standin.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    standin.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield standin
    standin.released.set()
    await runner.cleanup()


def assert_refused(url: str) -> None:
    """Nothing listens any more on the loopback port of ``url``: connection refused."""
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1" and parts.port, url
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((parts.hostname, parts.port), timeout=5).close()


def assert_not_linked_page(page: Page) -> None:
    assert page.status == 400
    assert "Tuckaway is linked" not in page.text and "Signed in" not in page.text


# -- fixtures --------------------------------------------------------------------------


@pytest.fixture
async def serve(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """``tuckaway serve``'s app, on its own database (not the host's)."""
    conn = db.connect(tmp_path / "serve" / "serve.db")
    server = await start_server(conn, consumer_key=CONSUMER_KEY)
    yield server
    await server.close()
    conn.close()


@pytest.fixture
def keyring_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "keyring.json"
    with testkeyring.in_process(path):
        yield path


@pytest.fixture
async def make_ctx(home: Path, keyring_file: Path) -> AsyncIterator[Callable[..., Context]]:
    made: list[Context] = []

    def make(**env: str) -> Context:
        settings = Settings.load({"TUCKAWAY_HOME": str(home), **env})
        ctx = Context.open(settings)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        await ctx.aclose()


def pocket_ctx(make_ctx: Callable[..., Context], server: RunningServer) -> Context:
    return make_ctx(TUCKAWAY_POCKET_URL=server.url, TUCKAWAY_POCKET_CONSUMER_KEY=CONSUMER_KEY)


class Tab:
    """on_authorize that opens the URL in a 'tab' (a task running :func:`browse`)."""

    def __init__(self, decision: str = "approve", before: Callable[[str], Any] | None = None):
        self.decision = decision
        self.before = before
        self.urls: list[str] = []
        self.task: asyncio.Task[Page] | None = None

    async def __call__(self, url: str) -> None:
        self.urls.append(url)
        if self.before is not None:
            await self.before(url)
        self.task = asyncio.create_task(browse(url, self.decision))

    async def page(self) -> Page:
        assert self.task is not None
        return await self.task


async def pocket_get(server: RunningServer, token: str) -> int:
    async with aiohttp.ClientSession() as http, http.post(
        f"{server.url}/v3/get",
        json={"consumer_key": CONSUMER_KEY, "access_token": token},
        headers={"X-Accept": "application/json"},
    ) as resp:
        return resp.status


# -- Pocket ------------------------------------------------------------------------------


async def test_pocket_sign_in_through_the_approval_page_links_the_account(
    make_ctx: Callable[..., Context], serve: RunningServer, keyring_file: Path
) -> None:
    ctx = pocket_ctx(make_ctx, serve)
    tab = Tab("approve")
    result = await login(ctx, "pocket", None, tab, timeout_s=20)
    assert result == {"linked": True, "username": "local"}
    page = await tab.page()
    assert page.status == 200
    assert page.url.startswith("http://127.0.0.1:")
    assert "You can close this tab" in page.text and "as local" in page.text
    url = urlsplit(tab.urls[0])
    assert f"{url.scheme}://{url.netloc}" == serve.url and url.path == "/auth/authorize"
    assert set(dict(parse_qsl(url.query))) == {"request_token", "redirect_uri"}
    creds = ctx.credentials.pocket()
    assert creds is not None
    assert (creds.base_url, creds.consumer_key, creds.username) == (
        serve.url, CONSUMER_KEY, "local")
    assert await pocket_get(serve, creds.access_token) == 200
    assert ctx.accounts()["pocket"] == {"linked": True, "username": "local"}


async def test_after_a_successful_pocket_sign_in_the_listener_port_is_closed(
    make_ctx: Callable[..., Context], serve: RunningServer
) -> None:
    ctx = pocket_ctx(make_ctx, serve)
    tab = Tab()
    assert (await login(ctx, "pocket", None, tab, timeout_s=20))["linked"] is True
    page = await tab.page()
    assert page.status == 200 and page.url.startswith("http://127.0.0.1:")
    assert_refused(page.url)


async def test_pocket_redirect_uri_is_loopback_and_carries_a_fresh_state(
    make_ctx: Callable[..., Context], serve: RunningServer
) -> None:
    ctx = pocket_ctx(make_ctx, serve)
    tabs = [Tab(), Tab()]
    for tab in tabs:
        await login(ctx, "pocket", None, tab, timeout_s=20)
        await tab.page()
    uris = [dict(parse_qsl(urlsplit(t.urls[0]).query))["redirect_uri"] for t in tabs]
    states = [dict(parse_qsl(urlsplit(u).query))["state"] for u in uris]
    assert all(u.startswith("http://127.0.0.1:") for u in uris)
    assert states[0] != states[1] and len(states[0]) >= 20


async def test_pocket_denial_links_nothing_and_says_so_in_the_tab(
    make_ctx: Callable[..., Context], serve: RunningServer, keyring_file: Path
) -> None:
    ctx = pocket_ctx(make_ctx, serve)
    tab = Tab("deny")
    with pytest.raises(SignInDenied) as caught:
        await login(ctx, "pocket", None, tab, timeout_s=20)
    assert caught.value.code == "auth_failed"
    assert "not approved" in caught.value.message
    page = await tab.page()
    assert page.status == 400 and "did not grant access" in page.text
    assert not is_linked(ctx.db, "pocket")
    assert testkeyring.contents() == {}


async def test_pocket_sign_in_nobody_approves_times_out_and_closes_the_listener(
    make_ctx: Callable[..., Context], serve: RunningServer
) -> None:
    ctx = pocket_ctx(make_ctx, serve)
    urls: list[str] = []

    async def remember(url: str) -> None:
        urls.append(url)

    with pytest.raises(AuthTimeout) as caught:
        await login(ctx, "pocket", None, remember, timeout_s=0.3)
    assert caught.value.code == "auth_timeout"
    assert not is_linked(ctx.db, "pocket")
    redirect_uri = dict(parse_qsl(urlsplit(urls[0]).query))["redirect_uri"]
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(redirect_uri)


async def test_a_redirect_with_a_wrong_state_is_refused_and_the_real_one_still_works(
    make_ctx: Callable[..., Context], serve: RunningServer
) -> None:
    ctx = pocket_ctx(make_ctx, serve)
    forged: list[int] = []

    async def forge(url: str) -> None:
        redirect_uri = dict(parse_qsl(urlsplit(url).query))["redirect_uri"]
        base = redirect_uri.split("?")[0]
        async with aiohttp.ClientSession() as http, http.get(f"{base}?state=forged") as r:
            forged.append(r.status)

    tab = Tab("approve", before=forge)
    result = await login(ctx, "pocket", None, tab, timeout_s=20)
    assert forged == [400]
    assert result["linked"] is True
    assert (await tab.page()).status == 200


async def test_pocket_sign_in_needs_a_consumer_key(
    make_ctx: Callable[..., Context], serve: RunningServer
) -> None:
    ctx = make_ctx(TUCKAWAY_POCKET_URL=serve.url)

    async def never(url: str) -> None:
        raise AssertionError("must not get as far as the browser")

    with pytest.raises(ConfigError, match="TUCKAWAY_POCKET_CONSUMER_KEY"):
        await login(ctx, "pocket", None, never)


async def test_pocket_consumer_key_the_service_refuses_is_reported_before_the_browser(
    make_ctx: Callable[..., Context], serve: RunningServer
) -> None:
    ctx = make_ctx(TUCKAWAY_POCKET_URL=serve.url, TUCKAWAY_POCKET_CONSUMER_KEY="wrong-key")

    async def never(url: str) -> None:
        raise AssertionError("must not get as far as the browser")

    with pytest.raises(AuthFailed, match="consumer key"):
        await login(ctx, "pocket", None, never, timeout_s=5)


async def test_pocket_service_that_cannot_be_reached_is_unavailable(
    make_ctx: Callable[..., Context],
) -> None:
    ctx = make_ctx(TUCKAWAY_POCKET_URL="http://127.0.0.1:9",
                   TUCKAWAY_POCKET_CONSUMER_KEY=CONSUMER_KEY)

    async def never(url: str) -> None:
        raise AssertionError("must not get as far as the browser")

    with pytest.raises(Exception) as caught:
        await login(ctx, "pocket", None, never, timeout_s=5)
    assert getattr(caught.value, "code", None) == "unavailable"


async def test_pocket_service_error_on_the_token_exchange_is_not_called_linked_in_the_tab(
    make_ctx: Callable[..., Context], pocket_oauth: PocketOAuthStandin
) -> None:
    pocket_oauth.status = 503
    ctx = make_ctx(TUCKAWAY_POCKET_URL=pocket_oauth.url, TUCKAWAY_POCKET_CONSUMER_KEY=CONSUMER_KEY)
    tab = Tab()
    with pytest.raises(Unavailable):
        await login(ctx, "pocket", None, tab, timeout_s=20)
    page = await tab.page()
    assert_not_linked_page(page)
    assert "could not be reached or had a problem" in page.text
    assert not is_linked(ctx.db, "pocket")


async def test_pocket_token_exchange_that_times_out_is_not_called_linked_in_the_tab(
    make_ctx: Callable[..., Context], pocket_oauth: PocketOAuthStandin
) -> None:
    pocket_oauth.delay = 2.0
    ctx = make_ctx(TUCKAWAY_POCKET_URL=pocket_oauth.url, TUCKAWAY_POCKET_CONSUMER_KEY=CONSUMER_KEY,
                   TUCKAWAY_REQUEST_TIMEOUT_S="0.3")
    tab = Tab()
    with pytest.raises(Unavailable, match="cannot reach Pocket"):
        await login(ctx, "pocket", None, tab, timeout_s=20)
    page = await tab.page()
    assert_not_linked_page(page)
    assert "could not be reached or had a problem" in page.text
    assert not is_linked(ctx.db, "pocket")


async def test_a_sign_in_cancelled_after_the_redirect_shows_the_unconfirmed_page(
    make_ctx: Callable[..., Context], pocket_oauth: PocketOAuthStandin
) -> None:
    pocket_oauth.delay = 30.0
    ctx = make_ctx(TUCKAWAY_POCKET_URL=pocket_oauth.url, TUCKAWAY_POCKET_CONSUMER_KEY=CONSUMER_KEY)
    tab = Tab()
    signing_in = asyncio.create_task(login(ctx, "pocket", None, tab, timeout_s=20))
    await asyncio.wait_for(pocket_oauth.exchanging.wait(), 10)
    signing_in.cancel()  # the host is closing, say
    with pytest.raises(asyncio.CancelledError):
        await signing_in
    page = await tab.page()
    assert_not_linked_page(page)
    assert "options page" in page.text and "not confirm" in page.text
    assert not is_linked(ctx.db, "pocket")


async def test_pocket_logout_forgets_the_token(
    make_ctx: Callable[..., Context], serve: RunningServer, keyring_file: Path
) -> None:
    ctx = pocket_ctx(make_ctx, serve)
    await link_token(ctx, "pocket", "tok-given-1234", username="ann")
    assert is_linked(ctx.db, "pocket")
    assert await logout(ctx, "pocket") == {"linked": False}
    assert not is_linked(ctx.db, "pocket")
    assert testkeyring.contents() == {}


async def test_pocket_token_from_stdin_asks_the_service_nothing(
    make_ctx: Callable[..., Context],
) -> None:
    ctx = make_ctx(TUCKAWAY_POCKET_URL="http://127.0.0.1:9",
                   TUCKAWAY_POCKET_CONSUMER_KEY=CONSUMER_KEY)
    assert await link_token(ctx, "pocket", " tok-offline-1 \n") == {
        "linked": True, "username": None}
    creds = ctx.credentials.pocket()
    assert creds is not None and creds.access_token == "tok-offline-1"


# -- Mastodon ------------------------------------------------------------------------------


async def test_mastodon_sign_in_with_pkce_links_the_account(
    make_ctx: Callable[..., Context], mastodon: MastodonStandIn
) -> None:
    ctx = make_ctx()
    tab = Tab()
    result = await login(ctx, "mastodon", mastodon.base_url, tab, timeout_s=20)
    assert result == {"linked": True, "username": "ann@127.0.0.1"}
    page = await tab.page()
    assert page.status == 200 and "as ann@127.0.0.1" in page.text
    assert calls(mastodon) == [
        "POST /api/v1/apps", "GET /oauth/authorize", "POST /oauth/authorize",
        "POST /oauth/token", "GET /api/v1/accounts/verify_credentials",
    ]  # fmt: skip
    query = dict(parse_qsl(urlsplit(tab.urls[0]).query))
    assert query["scope"] == (
        "read:bookmarks write:bookmarks read:search read:accounts read:statuses"
    )
    assert query["code_challenge_method"] == "S256" and len(query["state"]) >= 20
    creds = ctx.credentials.mastodon()
    assert creds is not None
    assert creds.instance == mastodon.base_url and creds.acct == "ann@127.0.0.1"
    assert creds.access_token == mastodon.issued[0] and creds.client_id in mastodon.apps
    assert mastodon.tokens[creds.access_token].scope == MASTODON_SCOPES  # exactly those asked
    assert ctx.accounts()["mastodon"] == {
        "linked": True, "instance": mastodon.base_url, "acct": "ann@127.0.0.1"}


async def test_after_a_successful_mastodon_sign_in_the_listener_port_is_closed(
    make_ctx: Callable[..., Context], mastodon: MastodonStandIn
) -> None:
    ctx = make_ctx()
    tab = Tab()
    assert (await login(ctx, "mastodon", mastodon.base_url, tab, timeout_s=20))["linked"] is True
    page = await tab.page()
    assert page.status == 200
    assert_refused(page.url)


async def test_mastodon_app_registration_is_cached_per_instance(
    make_ctx: Callable[..., Context], mastodon: MastodonStandIn
) -> None:
    ctx = make_ctx()
    for _ in range(2):
        tab = Tab()
        await login(ctx, "mastodon", mastodon.base_url, tab, timeout_s=20)
        await tab.page()
    assert len(mastodon.requests_to("/api/v1/apps")) == 1
    assert len(mastodon.requests_to("/oauth/token")) == 2


async def test_mastodon_app_the_instance_forgot_is_registered_again_next_time(
    make_ctx: Callable[..., Context], mastodon: MastodonStandIn
) -> None:
    ctx = make_ctx()
    tab = Tab()
    await login(ctx, "mastodon", mastodon.base_url, tab, timeout_s=20)
    await tab.page()
    for app in mastodon.apps.values():
        app.client_secret = "rotated"
    tab = Tab()
    with pytest.raises(AuthFailed):
        await login(ctx, "mastodon", mastodon.base_url, tab, timeout_s=20)
    assert "did not complete" in (await tab.page()).text
    tab = Tab()
    await login(ctx, "mastodon", mastodon.base_url, tab, timeout_s=20)
    await tab.page()
    assert len(mastodon.requests_to("/api/v1/apps")) == 2


async def test_an_app_registered_for_older_scopes_is_registered_again_with_the_new_ones(
    make_ctx: Callable[..., Context], mastodon: MastodonStandIn
) -> None:
    old_scopes = "read:bookmarks write:bookmarks read:search read:accounts"
    ctx = make_ctx()
    http = await ctx.http()
    registration = {
        "client_name": "Tuckaway", "redirect_uris": "http://127.0.0.1/callback",
        "scopes": old_scopes,
    }  # fmt: skip
    async with http.post(f"{mastodon.base_url}/api/v1/apps", json=registration) as resp:
        old = await resp.json()
    # as an older Tuckaway kept it: no scopes noted beside it
    ctx.credentials.save_mastodon_app(
        MastodonApp(mastodon.base_url, old["client_id"], old["client_secret"])
    )
    tab = Tab()
    result = await login(ctx, "mastodon", mastodon.base_url, tab, timeout_s=20)
    assert result == {"linked": True, "username": "ann@127.0.0.1"}
    assert "Tuckaway is linked" in (await tab.page()).text
    new = ctx.credentials.mastodon_app(mastodon.base_url)
    assert new is not None and new.client_id != old["client_id"]
    assert new.scopes == MASTODON_SCOPES
    assert len(mastodon.apps) == 2
    creds = ctx.credentials.mastodon()
    assert creds is not None and creds.client_id == new.client_id
    assert mastodon.tokens[creds.access_token].scope == MASTODON_SCOPES
    # the old app could not have asked for them: the server refuses scopes it lacks
    async with http.get(
        f"{mastodon.base_url}/oauth/authorize",
        params={"response_type": "code", "client_id": old["client_id"],
                "redirect_uri": "http://127.0.0.1:1/callback", "scope": MASTODON_SCOPES},
        allow_redirects=False,
    ) as resp:  # fmt: skip
        assert "error=invalid_scope" in resp.headers["Location"]
    # and the next sign-in keeps the new registration
    tab = Tab()
    await login(ctx, "mastodon", mastodon.base_url, tab, timeout_s=20)
    await tab.page()
    assert len(mastodon.apps) == 2


async def test_mastodon_service_error_on_the_token_exchange_is_not_called_linked_in_the_tab(
    make_ctx: Callable[..., Context], mastodon: MastodonStandIn
) -> None:
    mastodon.inject(503, path="/oauth/token", body={"error": "server_error"})
    ctx = make_ctx()
    tab = Tab()
    with pytest.raises(Unavailable):
        await login(ctx, "mastodon", mastodon.base_url, tab, timeout_s=20)
    page = await tab.page()
    assert_not_linked_page(page)
    assert "could not be reached or had a problem" in page.text
    assert not is_linked(ctx.db, "mastodon")


async def test_mastodon_sign_in_nobody_approves_times_out_and_closes_the_listener(
    make_ctx: Callable[..., Context], mastodon: MastodonStandIn
) -> None:
    ctx = make_ctx()
    urls: list[str] = []

    async def remember(url: str) -> None:  # the tab is opened, and nobody approves
        urls.append(url)

    with pytest.raises(AuthTimeout) as caught:
        await login(ctx, "mastodon", mastodon.base_url, remember, timeout_s=0.3)
    assert caught.value.code == "auth_timeout"
    assert not is_linked(ctx.db, "mastodon")
    assert mastodon.requests_to("/oauth/token") == []
    assert_refused(dict(parse_qsl(urlsplit(urls[0]).query))["redirect_uri"])


async def test_mastodon_denial_links_nothing(
    make_ctx: Callable[..., Context], mastodon: MastodonStandIn
) -> None:
    mastodon.auto_approve = False
    ctx = make_ctx()
    tab = Tab()
    with pytest.raises(SignInDenied, match="denied the request"):
        await login(ctx, "mastodon", mastodon.base_url, tab, timeout_s=20)
    assert "did not grant access" in (await tab.page()).text
    assert not is_linked(ctx.db, "mastodon")
    assert mastodon.requests_to("/oauth/token") == []


async def test_mastodon_answer_with_a_forged_state_never_completes(
    make_ctx: Callable[..., Context], mastodon: MastodonStandIn
) -> None:
    mastodon.forge_state = "forged-state"
    ctx = make_ctx()
    tab = Tab()
    with pytest.raises(AuthTimeout, match="refused"):
        await login(ctx, "mastodon", mastodon.base_url, tab, timeout_s=1.0)
    page = await tab.page()
    assert page.status == 400
    assert mastodon.requests_to("/oauth/token") == []
    assert not is_linked(ctx.db, "mastodon")


async def test_mastodon_logout_revokes_and_forgets_the_token(
    make_ctx: Callable[..., Context], mastodon: MastodonStandIn, keyring_file: Path
) -> None:
    ctx = make_ctx()
    tab = Tab()
    await login(ctx, "mastodon", mastodon.base_url, tab, timeout_s=20)
    await tab.page()
    token = mastodon.issued[0]
    assert await logout(ctx, "mastodon") == {"linked": False}
    assert mastodon.revoked == [token]
    assert not is_linked(ctx.db, "mastodon")
    assert "mastodon" not in testkeyring.contents().get("tuckaway", {})


async def test_mastodon_logout_goes_on_when_the_instance_is_gone(
    make_ctx: Callable[..., Context], mastodon: MastodonStandIn
) -> None:
    ctx = make_ctx()
    tab = Tab()
    await login(ctx, "mastodon", mastodon.base_url, tab, timeout_s=20)
    await tab.page()
    creds = ctx.credentials.mastodon()
    assert creds is not None
    ctx.credentials.save_mastodon(
        type(creds)("http://127.0.0.1:9", creds.access_token, creds.acct,
                    creds.client_id, creds.client_secret))
    assert await logout(ctx, "mastodon") == {"linked": False}
    assert not is_linked(ctx.db, "mastodon")


async def test_mastodon_token_from_stdin_learns_the_acct(
    make_ctx: Callable[..., Context], mastodon: MastodonStandIn
) -> None:
    given = mastodon.issue_token("read:accounts")
    ctx = make_ctx()
    result = await link_token(ctx, "mastodon", given, instance=mastodon.base_url)
    assert result == {"linked": True, "username": "ann@127.0.0.1"}
    with pytest.raises(AuthFailed):
        await link_token(ctx, "mastodon", "not-a-token", instance=mastodon.base_url)
    creds = ctx.credentials.mastodon()
    assert creds is not None and creds.access_token == given


def test_instance_urls_must_be_https_except_loopback() -> None:
    assert normalize_instance("mastodon.social") == "https://mastodon.social"
    assert normalize_instance("https://mastodon.social/@ann") == "https://mastodon.social"
    assert normalize_instance("mastodon.social/@ann") == "https://mastodon.social"
    assert normalize_instance("http://127.0.0.1:3000/") == "http://127.0.0.1:3000"
    with pytest.raises(ConfigError, match="https"):
        normalize_instance("http://social.example")


@pytest.mark.parametrize(
    ("typed", "server"),
    [("bob@mastodon.social", "https://mastodon.social"),
     ("@bob@mastodon.social", "https://mastodon.social"),
     (" @Bob@mastodon.social ", "https://mastodon.social"),
     ("https://bob@mastodon.social", "https://mastodon.social"),
     ("bob@social.example:8443", "https://social.example:8443"),
     ("http://bob@127.0.0.1:3000", "http://127.0.0.1:3000")],
)  # fmt: skip
def test_a_handle_typed_as_the_server_gives_its_host(typed: str, server: str) -> None:
    assert normalize_instance(typed) == server


@pytest.mark.parametrize("typed", ["bob@", "@bob@", "https://", "mastodon.social:x"])
def test_a_server_without_a_host_is_refused(typed: str) -> None:
    with pytest.raises(ConfigError):
        normalize_instance(typed)


@pytest.mark.parametrize(
    "instance",
    ["http://127.0.0.1", "http://127.5.5.5:3000", "http://[::1]:3000", "http://localhost:3000",
     "http://LOCALHOST"],
)
def test_plain_http_instance_on_a_loopback_address_is_accepted(instance: str) -> None:
    assert normalize_instance(instance) == instance


@pytest.mark.parametrize(
    "instance",
    ["http://127.evil.example", "http://127.0.0.1.nip.io:3000", "http://localhost.evil.com",
     "127.0.0.1.nip.io", "http://app.localhost", "http://[::ffff:8.8.8.8]",
     "http://0.0.0.0:3000"],
)
def test_plain_http_instance_that_only_looks_local_is_refused(instance: str) -> None:
    if "://" not in instance:  # no scheme means https, which is fine
        assert normalize_instance(instance) == "https://" + instance
        instance = "http://" + instance
    with pytest.raises(ConfigError, match="https"):
        normalize_instance(instance)


# -- through the host and the command line ---------------------------------------------------


@pytest.fixture
def serve_url(tmp_path: Path) -> Iterator[str]:
    with serve_process(tmp_path / "serve-home", CONSUMER_KEY) as url:
        yield url


def test_login_over_native_messaging_emits_authorize_then_replies_linked(
    env: dict[str, str], serve_url: str
) -> None:
    env = {**env, "TUCKAWAY_POCKET_URL": serve_url,
           "TUCKAWAY_POCKET_CONSUMER_KEY": CONSUMER_KEY}
    with HostProcess(env) as host:
        host.send({"id": "l1", "op": "login", "service": "pocket"})
        event = host.recv_for("l1", final=False)
        assert event["event"] == "authorize"
        assert event["url"].startswith(serve_url + "/auth/authorize?")
        page = browse_in_thread(event["url"])
        assert "You can close this tab" in page.text
        reply = host.recv_for("l1")
        assert reply == {"id": "l1", "ok": True, "result": {"linked": True, "username": "local"}}
        hello = host.request({"id": "h", "op": "hello"})["result"]
        assert hello["accounts"]["pocket"] == {"linked": True, "username": "local"}
        assert hello["backend"] == "pocket"
        out = host.request({"id": "o", "op": "logout", "service": "pocket"})
        assert out == {"id": "o", "ok": True, "result": {"linked": False}}
        assert host.request({"id": "h2", "op": "hello"})["result"]["backend"] == "local"


def test_login_over_native_messaging_that_times_out_answers_auth_timeout(
    env: dict[str, str], serve_url: str
) -> None:
    env = {**env, "TUCKAWAY_POCKET_URL": serve_url,
           "TUCKAWAY_POCKET_CONSUMER_KEY": CONSUMER_KEY, "TUCKAWAY_LOGIN_TIMEOUT_S": "0.5"}
    with HostProcess(env) as host:
        host.send({"id": 7, "op": "login", "service": "pocket"})
        assert host.recv_for(7, final=False)["event"] == "authorize"
        reply = host.recv_for(7)
        assert reply["ok"] is False and reply["error"]["code"] == "auth_timeout"
        # the host keeps serving
        assert host.request({"id": 8, "op": "hello"})["ok"] is True


def test_mastodon_login_over_native_messaging_nobody_approves_answers_auth_timeout(
    env: dict[str, str], standin: MastodonStandIn
) -> None:
    env = {**env, "TUCKAWAY_LOGIN_TIMEOUT_S": "0.5"}
    with HostProcess(env) as host:
        host.send({"id": "m", "op": "login", "service": "mastodon",
                   "instance": standin.base_url})
        event = host.recv_for("m", final=False)
        assert event["event"] == "authorize"
        reply = host.recv_for("m", timeout=30)
        assert reply["ok"] is False and reply["error"]["code"] == "auth_timeout"
        hello = host.request({"id": "h", "op": "hello"})["result"]
        assert hello["accounts"]["mastodon"]["linked"] is False
    assert_refused(dict(parse_qsl(urlsplit(event["url"]).query))["redirect_uri"])
    assert standin.requests_to("/oauth/token") == []
    stored = json.loads(_keyring_text(env)).get("tuckaway", {})
    assert "mastodon" not in stored  # only the app registration (mastodon-app:...) is kept


def test_cli_login_prints_the_address_and_waits_for_the_approval(
    env: dict[str, str], serve_url: str
) -> None:
    env = {**env, "TUCKAWAY_POCKET_URL": serve_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tuckaway.cli", "login", "pocket", "--no-browser",
         "--consumer-key", CONSUMER_KEY],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stderr is not None
    url = ""
    while not url:
        line = proc.stderr.readline()
        assert line, "the CLI ended before printing the address"
        if line.strip().startswith("http"):
            url = line.strip()
    result: list[Page] = []
    thread = threading.Thread(target=lambda: result.append(browse_in_thread(url)))
    thread.start()
    out, err = proc.communicate(timeout=60)
    thread.join(timeout=30)
    assert proc.returncode == 0, err
    assert out.strip() == "linked pocket as local"
    assert "You can close this tab" in result[0].text
    status = run_cli(env, "status", "--json")
    assert '"username": "local"' in status.stdout


def test_cli_login_mastodon_needs_an_instance(env: dict[str, str]) -> None:
    proc = run_cli(env, "login", "mastodon", "--access-token-stdin", input="tok\n")
    assert proc.returncode == 2 and "--instance" in proc.stderr


def test_cli_logout_of_an_account_never_linked_is_fine(env: dict[str, str]) -> None:
    proc = run_cli(env, "logout", "mastodon")
    assert proc.returncode == 0 and proc.stdout.strip() == "unlinked mastodon"


def test_cli_token_from_stdin_for_mastodon_asks_who_it_is(
    env: dict[str, str], home: Path
) -> None:
    standin = MastodonStandIn(username="bob")
    token = standin.issue_token("read:accounts")
    with standin.running() as url:
        proc = run_cli(
            env, "login", "mastodon", "--instance", url, "--access-token-stdin",
            input=token + "\n",
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "linked mastodon as bob@127.0.0.1"


# -- a 401 after sign-in ---------------------------------------------------------------------


def test_a_401_after_sign_in_fails_with_auth_failed_and_keeps_the_token(
    env: dict[str, str],
) -> None:
    standin = MastodonStandIn(username="ann")
    with standin.running() as url, HostProcess(env) as host:
        host.send({"id": "l", "op": "login", "service": "mastodon", "instance": url})
        event = host.recv_for("l", final=False)
        browse_in_thread(event["url"])
        assert host.recv_for("l")["ok"] is True
        standin.tokens.clear()  # the user revoked the app on the server
        since = len(standin.requests)
        reply = host.request({"id": "b", "op": "bookmarks"}, timeout=30)
        assert reply["ok"] is False and reply["error"]["code"] == "auth_failed"
        assert standin.issued[0] not in str(reply)
        # the 401 came from the bookmarks call itself (no 404 -> verify_credentials detour)
        assert calls(standin, since) == ["GET /api/v1/bookmarks"]
        marked = host.request({"id": "w", "op": "bookmark", "status_id": "109"}, timeout=30)
        assert marked["ok"] is False and marked["error"]["code"] == "auth_failed", marked
        assert standin.issued[0] not in str(marked)
        assert calls(standin, since) == [
            "GET /api/v1/bookmarks", "POST /api/v1/statuses/109/bookmark"]
        hello = host.request({"id": "h", "op": "hello"})["result"]
        assert hello["accounts"]["mastodon"]["linked"] is True
    queue = json.loads(run_cli(env, "queue", "--json").stdout)
    assert [(e["op"], e["state"]) for e in queue] == [("bookmark", "held")]
    assert queue[0]["last_error"]["code"] == "auth_failed"
    stored = _keyring_text(env)
    assert standin.issued[0] in stored


def _keyring_text(env: dict[str, str]) -> str:
    return Path(env["TUCKAWAY_TEST_KEYRING_FILE"]).read_text()


def test_host_env_keeps_the_test_keyring_outside_tuckaway_home(home: Path) -> None:
    env = host_env(home)
    assert not Path(env["TUCKAWAY_TEST_KEYRING_FILE"]).is_relative_to(home)
