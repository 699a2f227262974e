"""What the popup and the badge say while a save is on its way, against a
Pocket-compatible service behind the recording proxy (harness.pocket_service)
that can delay or refuse calls: Saving..., Queued offline (a `retrying` event),
an error in words, the count on the badge, and the failure notification. And
the popup used with the keyboard alone."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .cdp import TargetClient
from .chromium import Chromium, launch_chromium
from .harness import (
    NativeHost,
    PageServer,
    PocketService,
    eventually,
    make_native_host,
    page_server,
    pocket_service,
    register_for_chromium,
)
from .test_chromium import popup_state

pytestmark = pytest.mark.e2e


@dataclass
class Setup:
    chromium: Chromium
    host: NativeHost
    service: PocketService
    site: PageServer


@contextlib.asynccontextmanager
async def pocket_browser(playwright: object, tmp: Path) -> AsyncIterator[Setup]:
    async with pocket_service(tmp) as service:
        host = make_native_host(
            tmp,
            TUCKAWAY_POCKET_URL=service.url,
            TUCKAWAY_POCKET_CONSUMER_KEY="e2e-consumer-key",
            TUCKAWAY_RETRY_MAX_S="1",
        )
        linked = host.cli("login", "pocket", "--access-token-stdin", input=service.token + "\n")
        assert linked.returncode == 0, linked.stderr
        profile = tmp / "chromium-profile"
        register_for_chromium(profile, host.wrapper)
        async with page_server() as site, launch_chromium(playwright, profile) as chromium:  # type: ignore[arg-type]
            yield Setup(chromium, host, service, site)


@pytest.fixture
async def pocket(playwright: object, tmp_path: Path) -> AsyncIterator[Setup]:
    async with pocket_browser(playwright, tmp_path) as setup:
        yield setup


async def status(popup: TargetClient) -> list[str]:
    return list(await popup.evaluate(
        "[document.querySelector('#popup').dataset.state,"
        " document.querySelector('#status-text').textContent,"
        " document.querySelector('#detail').hidden ? '' : document.querySelector('#detail').textContent]"
    ))  # fmt: skip


async def test_saving_then_saved_with_the_count_on_the_badge(pocket: Setup) -> None:
    pocket.service.inject("/v3/add", delay=4.0)
    url = pocket.site.page("/articles/slow")
    page = await pocket.chromium.open(url)
    await pocket.chromium.record_badges()
    popup = await pocket.chromium.click_action(page)
    assert await popup_state(popup, "saving") == "Saving\u2026"
    assert await popup.evaluate("document.querySelector('#popup').ariaBusy") == "true"
    # The save waits for the service: the badge counts it.
    await eventually(lambda: pocket.service.writes(), what="the save to reach the service")
    assert await pocket.chromium.badge() == "1"
    assert await popup_state(popup, "saved") == "Saved"
    assert pocket.host.item(url) is not None
    badges = await pocket.chromium.badges()
    assert badges[:1] == ["1"] and "\u2713" in badges, badges


async def test_queued_offline_while_the_service_is_down_then_saved(pocket: Setup) -> None:
    pocket.service.inject("/v3/add", status=503, times=2)
    url = pocket.site.page("/articles/offline")
    page = await pocket.chromium.open(url)
    popup = await pocket.chromium.click_action(page)
    state, text, detail = await eventually(
        lambda: _queued(popup), timeout=20, what="the popup to say Queued offline"
    )
    assert (state, text) == ("queued", "Queued offline")
    assert "cannot be reached" in detail
    assert await pocket.chromium.badge() == "1"
    # The service comes back: the helper app's retry delivers it.
    assert await popup_state(popup, "saved") == "Saved"
    assert await status(popup) == ["saved", "Saved", ""]
    assert pocket.host.item(url) is not None
    assert [w.path for w in pocket.service.writes()] == ["/v3/add"] * 3


async def _queued(popup: TargetClient) -> list[str] | None:
    seen = await status(popup)
    return seen if seen[0] == "queued" else None


async def test_a_refused_save_shows_the_error_in_words(pocket: Setup) -> None:
    pocket.service.inject("/v3/add", status=400, headers={"X-Error": "Invalid URL"})
    url = pocket.site.page("/articles/refused")
    page = await pocket.chromium.open(url)
    popup = await pocket.chromium.click_action(page)
    assert await popup_state(popup, "error") == "Not saved"
    _, _, detail = await status(popup)
    assert detail == "The service refused this: Invalid URL."
    assert await pocket.chromium.badge() == "!"
    assert pocket.host.item(url) is None


async def test_a_failed_save_without_the_popup_notifies(pocket: Setup) -> None:
    chromium = pocket.chromium
    await chromium.sw(
        "() => { globalThis.notified = []; const create = chrome.notifications.create.bind(chrome.notifications);"
        " chrome.notifications.create = (id, options) => { globalThis.notified.push(options); return create(id, options); }; }"
    )  # fmt: skip
    pocket.service.inject("/v3/add", status=400, headers={"X-Error": "Invalid URL"})
    page = await chromium.open(pocket.site.page("/articles/refused-shortcut"))
    tab = await chromium.active_tab(page)
    result = await chromium.sw("(tab) => tuckaway.onCommand('save-page', tab)", tab)
    assert result["error"]["code"] == "action_failed", result
    assert await chromium.badge() == "!"
    notified = await chromium.sw("() => globalThis.notified")
    assert [(n["title"], n["message"]) for n in notified] == [
        ("Tuckaway could not do that", "The service refused this: Invalid URL.")
    ]
    assert notified[0]["iconUrl"].endswith("/icons/icon-128.png")


async def focused(popup: TargetClient) -> str:
    return str(await popup.evaluate(
        "(() => { const e = document.activeElement;"
        " return e ? (e.id || e.getAttribute('aria-label') || e.tagName) : ''; })()"
    ))  # fmt: skip


async def tab_to(popup: TargetClient, wanted: str, limit: int = 12) -> list[str]:
    """Press Tab until `wanted` has the focus; returns the stops on the way."""
    stops = []
    for _ in range(limit):
        await popup.press_key("Tab")
        stops.append(await focused(popup))
        if stops[-1] == wanted:
            return stops
    raise AssertionError(f"Tab never reached {wanted}: {stops}")


async def test_the_popup_works_from_the_keyboard(
    chromium: Chromium, native_host: NativeHost
) -> None:
    async with page_server() as site:
        url = site.page("/articles/keyboard")
        page = await chromium.open(url)
        popup = await chromium.click_action(page)
        await popup_state(popup, "saved")
        await popup.send("Page.bringToFront")
        await popup.send("Emulation.setFocusEmulationEnabled", {"enabled": True})

        # The popup opens with the focus in the tag field (issue 13); the options
        # button is the Tab stop before it.
        await eventually(
            lambda: popup.evaluate("document.activeElement.id === 'tag-input'"),
            what="the focus in the tag field",
        )
        await popup.press_key("Tab", shift=True)
        assert await focused(popup) == "open-options"
        assert await tab_to(popup, "tag-input", limit=1) == ["tag-input"]
        await popup.type_text("by-keyboard")
        await popup.press_key("Enter")
        await eventually(lambda: (native_host.item(url) or {}).get("tags") == ["by-keyboard"],
                         what="the tag added with Enter")  # fmt: skip
        chips = await popup.evaluate(
            "[...document.querySelectorAll('#chips .chip span')].map((s) => s.textContent)"
        )
        assert chips == ["by-keyboard"]
        assert await focused(popup) == "tag-input", "focus stays in the field for the next tag"

        # Every button is a Tab stop, in order, and works with Enter or Space.
        assert await tab_to(popup, "archive", limit=1) == ["archive"]
        assert await tab_to(popup, "favorite", limit=1) == ["favorite"]
        await popup.press_key("Space")
        await eventually(
            lambda: (native_host.item(url) or {}).get("favorite"), what="favorite by Space"
        )
        assert await popup.evaluate("document.querySelector('#favorite').ariaPressed") == "true"
        assert await tab_to(popup, "remove", limit=1) == ["remove"]
        # Back to the chip's remove button (before the field), and remove the tag with Enter.
        await popup.press_key("Tab", shift=True)
        await popup.press_key("Tab", shift=True)
        await popup.press_key("Tab", shift=True)
        await popup.press_key("Tab", shift=True)
        assert await focused(popup) == "Remove tag by-keyboard"
        await popup.press_key("Enter")
        await eventually(lambda: (native_host.item(url) or {}).get("tags") == [],
                         what="the tag removed with Enter")  # fmt: skip
        # Backspace in the empty field removes the last tag too.
        assert await focused(popup) == "tag-input"
        await popup.type_text("one, two")
        await popup.press_key("Enter")
        await eventually(
            lambda: (native_host.item(url) or {}).get("tags") == ["one", "two"], what="two tags"
        )
        await popup.press_key("Backspace")
        await eventually(
            lambda: (native_host.item(url) or {}).get("tags") == ["one"], what="Backspace"
        )
