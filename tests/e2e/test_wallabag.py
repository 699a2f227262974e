"""wallabag from the browser, in real Chromium with the real host: a fresh install's
options page keeps the list on this computer and offers no dead Pocket address;
signing in to wallabag there moves the list, and the toolbar button saves to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.wallabag_standin import CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME, WallabagStandin

from .chromium import Chromium
from .harness import NativeHost, eventually, make_native_host

pytestmark = pytest.mark.e2e


@pytest.fixture
def wb() -> Iterator[WallabagStandin]:
    with WallabagStandin() as standin:
        yield standin


@pytest.fixture
def native_host(tmp_path: Path) -> NativeHost:
    return make_native_host(tmp_path, TUCKAWAY_BATCH_QUIET_MS="200")


async def test_wallabag_signed_in_on_the_options_page_receives_the_toolbar_save(
    chromium: Chromium, native_host: NativeHost, wb: WallabagStandin
) -> None:
    page = await chromium.extension_page("options/options.html")
    await eventually(
        lambda: page.evaluate(
            "document.getElementById('list-state').textContent === 'This computer'"
        ),
        what="the list's place on a fresh install",
    )
    assert await page.is_checked("#list-local")
    assert await page.is_hidden("#panel-pocket")
    await eventually(lambda: page.text_content("#pocket-url-note"), what="the settings")
    assert await page.input_value("#pocket-url") == ""  # no dead getpocket.com default

    await page.check("#list-wallabag")
    assert await page.is_visible("#panel-wallabag") and await page.is_hidden("#panel-local")
    await page.fill("#wallabag-url", wb.url)
    await page.fill("#wallabag-client-id", CLIENT_ID)
    await page.fill("#wallabag-client-secret", CLIENT_SECRET)
    await page.fill("#wallabag-username", USERNAME)
    await page.fill("#wallabag-password", PASSWORD)
    await page.click("#wallabag-login")
    await eventually(
        lambda: page.evaluate(
            "document.getElementById('wallabag-state').textContent === 'Signed in as wallace'"
        ),
        timeout=30,
        what="the wallabag account signed in",
    )
    assert await page.input_value("#wallabag-password") == ""  # not kept in the page either
    assert await page.text_content("#host-backend") == "your wallabag"
    assert await page.is_disabled("#list-local")  # sign out first to move the list again

    article = f"{wb.url}/article/1"
    tab = await chromium.open(article)
    popup = await chromium.click_action(tab)
    await eventually(lambda: wb.by_url(article) is not None, timeout=30, what="the entry")
    state = await eventually(
        lambda: popup.evaluate(
            "document.querySelector('#popup').dataset.state === 'saved'"
            " && document.querySelector('#status-text').textContent"
        ),
        timeout=30,
        what="the popup to say Saved",
    )
    assert state == "Saved", state
    assert wb.calls("/api/entries", "POST") or wb.calls("/api/entries/lists", "POST")
