"""The loopback redirect listener and PKCE."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tuckaway.accounts import oauth
from tuckaway.accounts.oauth import (
    UNCONFIRMED_PAGE,
    LoopbackRedirect,
    Page,
    pkce_challenge,
    pkce_verifier,
)
from tuckaway.errors import AuthTimeout


def test_pkce_challenge_matches_rfc7636_example() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_pkce_verifier_is_long_unreserved_and_fresh() -> None:
    a, b = pkce_verifier(), pkce_verifier()
    assert a != b
    assert 43 <= len(a) <= 128
    assert set(a) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


async def test_listener_binds_loopback_on_a_random_port() -> None:
    async with LoopbackRedirect("s1") as one, LoopbackRedirect("s2") as two:
        assert one.redirect_uri.startswith("http://127.0.0.1:")
        assert one.redirect_uri.endswith("/callback")
        assert one.port != two.port


async def test_redirect_with_the_right_state_hands_over_the_query_and_shows_the_page() -> None:
    async with LoopbackRedirect("right-state") as listener, aiohttp.ClientSession() as http:
        browser = asyncio.create_task(
            http.get(listener.redirect_uri + "?code=abc&state=right-state")
        )
        query = await listener.wait(5)
        assert query == {"code": "abc", "state": "right-state"}
        listener.finish(Page(True, "Signed in", "Linked as bob. You can close this tab."))
        resp = await browser
        assert resp.status == 200
        assert "You can close this tab" in await resp.text()
        assert resp.headers["Cache-Control"] == "no-store"


async def test_redirect_with_a_wrong_state_is_refused_and_waiting_goes_on() -> None:
    async with LoopbackRedirect("right-state") as listener, aiohttp.ClientSession() as http:
        async with http.get(listener.redirect_uri + "?code=evil&state=wrong") as resp:
            assert resp.status == 400
            assert "ignored it" in await resp.text()
        async with http.get(listener.redirect_uri + "?code=evil") as resp:
            assert resp.status == 400
        assert listener.refused == 2
        browser = asyncio.create_task(
            http.get(listener.redirect_uri + "?code=good&state=right-state")
        )
        assert (await listener.wait(5))["code"] == "good"
        listener.finish(Page(True, "Signed in", "ok"))
        (await browser).release()


async def test_pocket_style_listener_carries_the_state_in_its_redirect_uri() -> None:
    async with LoopbackRedirect("st", "/pocket", state_in_uri=True) as listener:
        assert listener.redirect_uri.endswith("/pocket?state=st")
        async with aiohttp.ClientSession() as http:
            task = asyncio.create_task(http.get(listener.redirect_uri))
            assert (await listener.wait(5)) == {"state": "st"}
            listener.finish(Page(True, "Signed in", "ok"))
            assert (await task).status == 200


async def test_no_redirect_in_time_is_an_auth_timeout() -> None:
    async with LoopbackRedirect("st") as listener:
        with pytest.raises(AuthTimeout) as caught:
            await listener.wait(0.2)
    assert caught.value.code == "auth_timeout"


async def test_timeout_message_mentions_refused_answers() -> None:
    async with LoopbackRedirect("st") as listener, aiohttp.ClientSession() as http:
        (await http.get(listener.redirect_uri + "?state=nope")).release()
        with pytest.raises(AuthTimeout, match="refused"):
            await listener.wait(0.2)


async def test_a_second_redirect_is_refused_and_the_port_closes_after_use() -> None:
    listener = LoopbackRedirect("st")
    await listener.start()
    url = listener.redirect_uri + "?state=st&code=1"
    async with aiohttp.ClientSession() as http:
        first = asyncio.create_task(http.get(url))
        await listener.wait(5)
        async with http.get(url) as again:
            assert again.status == 400
            assert "already used" in (await again.text()).lower()
        listener.finish(Page(False, "Not signed in", "denied"))
        resp = await first
        assert resp.status == 400
        assert "denied" in await resp.text()
        await listener.close()
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(url)


async def test_closing_without_a_verdict_never_tells_the_browser_it_is_linked() -> None:
    listener = LoopbackRedirect("st")
    await listener.start()
    async with aiohttp.ClientSession() as http:
        task = asyncio.create_task(http.get(listener.redirect_uri + "?state=st"))
        await listener.wait(5)
        await listener.close()  # the flow ended (an error, a cancellation) without a page
        resp = await task
        text = await resp.text()
        assert resp.status == 400
        assert "Tuckaway is linked" not in text and "Signed in" not in text
        assert "options page" in text and "You can close this tab" in text
        assert UNCONFIRMED_PAGE.title in text


async def test_a_verdict_slower_than_the_page_wait_gets_the_unconfirmed_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(oauth, "PAGE_WAIT_S", 0.2)
    async with LoopbackRedirect("st") as listener, aiohttp.ClientSession() as http:
        task = asyncio.create_task(http.get(listener.redirect_uri + "?state=st"))
        await listener.wait(5)
        resp = await task  # nobody calls finish()
        text = await resp.text()
        assert "Tuckaway is linked" not in text and UNCONFIRMED_PAGE.title in text
        listener.finish(Page(True, "Signed in", "too late"))
