"""Screenshots of the popup and the options page, light and dark.

They are written to test-artifacts/screenshots/ on every run, and copied over
the tracked pictures in docs/screenshots/ only with TUCKAWAY_UPDATE_SCREENSHOTS=1
(harness.publish_screenshot).

The page is served as http://reader.example/ (a resolver rule maps the name to
the test's page server) so the pictures show an ordinary address.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from .cdp import TargetClient
from .chromium import Chromium, launch_chromium
from .harness import (
    NativeHost,
    PageServer,
    eventually,
    page_server,
    publish_screenshot,
    register_for_chromium,
    screenshot_file,
)

pytestmark = pytest.mark.e2e

DARK = {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
TITLE = "The quiet joy of reading later"
LIGHT = {"features": [{"name": "prefers-color-scheme", "value": "light"}]}


@pytest.fixture
async def site() -> AsyncIterator[PageServer]:
    async with page_server({"the-quiet-joy-of-reading-later": TITLE}) as server:
        yield server


@pytest.fixture
async def browser(
    playwright: object, tmp_path: Path, native_host: NativeHost, site: PageServer
) -> AsyncIterator[Chromium]:
    profile = tmp_path / "chromium-profile"
    register_for_chromium(profile, native_host.wrapper)
    port = site.url.rsplit(":", 1)[1]
    rules = f"--host-resolver-rules=MAP reader.example 127.0.0.1:{port}"
    async with launch_chromium(playwright, profile, extra_args=(rules,)) as chromium:  # type: ignore[arg-type]
        yield chromium


async def saved_popup(browser: Chromium, url: str) -> TargetClient:
    page = await browser.open(url)
    popup = await browser.click_action(page)
    await eventually(
        lambda: popup.evaluate("document.querySelector('#popup').dataset.state === 'saved'"),
        timeout=20, what="the popup to say saved",
    )  # fmt: skip
    return popup


async def test_popup_and_options_screenshots(browser: Chromium, native_host: NativeHost) -> None:
    url = "http://reader.example/articles/the-quiet-joy-of-reading-later"
    await browser.sw("() => chrome.storage.sync.set({defaultTags: ['essays']})")
    popup = await saved_popup(browser, url)
    assert await popup.evaluate("document.querySelector('#status-text').textContent") == "Saved"
    assert (native_host.item(url) or {}).get("title") == TITLE
    await popup.evaluate("document.querySelector('#tag-input').focus()")
    await popup.type_text("reading, weekend")
    await popup.press_enter()
    await eventually(lambda: (native_host.item(url) or {}).get("tags") == ["essays", "reading", "weekend"],
                     what="tags")  # fmt: skip
    await popup.evaluate("document.querySelector('#favorite').click()")
    await eventually(lambda: (native_host.item(url) or {}).get("favorite"), what="favorite")
    await popup.evaluate("document.activeElement.blur()")
    await popup.send("Emulation.setEmulatedMedia", LIGHT)
    shot = screenshot_file("popup.png")
    await popup.screenshot(shot, "main")
    publish_screenshot(shot)
    await popup.send("Emulation.setEmulatedMedia", DARK)
    shot = screenshot_file("popup-dark.png")
    await popup.screenshot(shot, "main")
    publish_screenshot(shot)

    options = await browser.extension_page("options/options.html")
    await options.set_viewport_size({"width": 900, "height": 900})
    await options.locator("#host-found").wait_for(state="visible", timeout=20000)
    await options.locator("#default-tag-input").fill("from-browser")
    await options.locator("#default-tag-input").press("Enter")
    await eventually(
        lambda: browser.sw(
            "async () => (await chrome.storage.sync.get('defaultTags')).defaultTags.length === 2"
        ),
        what="default tags stored",
    )
    assert await browser.sw(
        "async () => (await chrome.storage.sync.get('defaultTags')).defaultTags"
    ) == [
        "essays",
        "from-browser",
    ]
    await options.locator("#default-tag-input").blur()
    await options.evaluate("document.querySelector('#tags-message').textContent = ''")
    # The test's TUCKAWAY_HOME is a temporary directory: show the usual place instead.
    await eventually(
        lambda: options.evaluate("document.querySelector('#config-path').textContent !== ''"),
        what="the config file's path",
    )
    await options.evaluate(
        "document.querySelector('#config-path').textContent = ' (~/.config/tuckaway/config.toml)'"
    )
    await options.emulate_media(color_scheme="light")
    shot = screenshot_file("options.png")
    await options.screenshot(path=str(shot), full_page=True)
    publish_screenshot(shot)
    await options.emulate_media(color_scheme="dark")
    shot = screenshot_file("options-dark.png")
    await options.screenshot(path=str(shot), full_page=True)
    publish_screenshot(shot)
    version = await options.inner_text("#host-version")
    assert version.startswith("tuckaway ")


async def test_default_tags_from_the_options_go_with_every_save(
    browser: Chromium, native_host: NativeHost
) -> None:
    await browser.sw("() => chrome.storage.sync.set({defaultTags: ['from-browser']})")
    url = "http://reader.example/articles/defaults"
    await saved_popup(browser, url)
    assert (native_host.item(url) or {}).get("tags") == ["from-browser"]
