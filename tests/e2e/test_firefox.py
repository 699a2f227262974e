"""Firefox ESR runs the same save flow: the real extension, the real host found
through ~/.mozilla/native-messaging-hosts under a temporary HOME."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from .firefox import Firefox, launch_firefox
from .harness import FIREFOX, GECKO_ID, NativeHost, eventually, page_server, register_for_firefox

pytestmark = pytest.mark.e2e

BACKGROUND = "(await browser.runtime.getBackgroundPage()).tuckaway"


@pytest.fixture
async def firefox(tmp_path: Path, native_host: NativeHost) -> AsyncIterator[Firefox]:
    if not os.access(FIREFOX, os.X_OK):
        pytest.skip(f"{FIREFOX} is not installed (apt-get install firefox-esr)")
    home = tmp_path / "firefox-home"
    register_for_firefox(home, native_host.wrapper)
    async with launch_firefox(tmp_path, home) as browser:
        assert await browser.install_extension() == GECKO_ID
        yield browser


async def test_firefox_options_find_the_host(firefox: Firefox) -> None:
    options = await firefox.open_extension_page("options/options.html")

    async def connected() -> str | None:
        badge = await firefox.evaluate(options, "document.querySelector('#host-badge').textContent")
        return badge if badge == "Connected" else None

    await eventually(connected, timeout=20, what="the options page to reach the host")
    version = await firefox.evaluate(options, "document.querySelector('#host-version').textContent")
    assert str(version).startswith("tuckaway ")


async def test_firefox_menu_and_command_listeners_save(
    firefox: Firefox, native_host: NativeHost
) -> None:
    async with page_server() as site:
        options = await firefox.open_extension_page("options/options.html")
        registered = await firefox.evaluate(options, (
            "(async () => { const bg = await browser.runtime.getBackgroundPage();"
            " return bg.browser.contextMenus.onClicked.hasListener(bg.tuckaway.onMenuClicked)"
            " && bg.browser.commands.onCommand.hasListener(bg.tuckaway.onCommand); })()"
        ))  # fmt: skip
        assert registered is True
        link, page = site.page("/links/firefox"), site.page("/articles/firefox")
        await firefox.evaluate(options, (
            f"(async () => {{ const t = {BACKGROUND};"
            f" await t.onMenuClicked({{menuItemId: 'save-link', linkUrl: '{link}', pageUrl: '{page}'}},"
            f" {{id: 1, url: '{page}', title: 'Firefox page'}});"
            f" await t.onCommand('save-page', {{id: 1, url: '{page}', title: 'Firefox page'}});"
            " return 'done'; })()"
        ))  # fmt: skip
        assert native_host.saved_urls() == {link, page}
        assert (native_host.item(page) or {}).get("title") == "Firefox page"


async def test_firefox_toolbar_button_saves_the_page(
    firefox: Firefox, native_host: NativeHost
) -> None:
    async with page_server() as site:
        url = site.page("/articles/firefox-toolbar")
        await firefox.open(url)
        await firefox.click_action()
        await eventually(
            lambda: native_host.item(url), timeout=20, what="the page saved from the popup"
        )
        assert (native_host.item(url) or {}).get("title") == "E2E article firefox-toolbar"


async def test_firefox_accepts_every_menu_item_and_pattern(firefox: Firefox) -> None:
    options = await firefox.open_extension_page("options/options.html")
    refused = await firefox.evaluate(
        options, f"(async () => JSON.stringify(await {BACKGROUND}.createMenus()))()"
    )
    assert refused == "[]"
