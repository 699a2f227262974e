"""Kept copies in Chromium (issue 14): save a page from the toolbar button, stop the
page's server, read the copy in the reader (settings, position, archive, axe, the
screenshots), find it from the list page and the popup, then the options page's
storage line and "Delete all copies".

The page is extension/test/fixtures/article.html, the extraction tests' article,
served as http://rail.example/ (a resolver rule maps the name to the test server).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from playwright.async_api import Page

from .chromium import Chromium, launch_chromium
from .harness import (
    EXTENSION_DIR,
    NativeHost,
    eventually,
    page_server,
    publish_screenshot,
    register_for_chromium,
    screenshot_file,
)
from .test_list_page import axe_violations
from .test_look import saved_popup

pytestmark = pytest.mark.e2e

ARTICLE_HTML = (EXTENSION_DIR / "test" / "fixtures" / "article.html").read_text("utf-8")
URL = "http://rail.example/2026/night-train"
TITLE = "The quiet return of the night train"


async def copy_of(browser: Chromium, url: str) -> dict[str, object] | None:
    """The host's kept copy of `url` (first chunk), asked from the service worker."""
    found = await browser.sw(
        "(url) => tuckaway.port.request({op: 'article', url}).catch((e) => null)", url
    )
    return found if isinstance(found, dict) else None


async def test_save_stop_the_server_and_read_the_copy(
    playwright: object, tmp_path: Path, native_host: NativeHost
) -> None:
    profile = tmp_path / "chromium-profile"
    register_for_chromium(profile, native_host.wrapper)
    path = urlsplit(URL).path
    async with page_server(pages={path: ARTICLE_HTML}) as site:
        rules = f"--host-resolver-rules=MAP rail.example 127.0.0.1:{site.url.rsplit(':', 1)[1]}"
        async with launch_chromium(playwright, profile, extra_args=(rules,)) as browser:  # type: ignore[arg-type]
            popup = await saved_popup(browser, URL)
            await eventually(
                lambda: popup.evaluate("!document.querySelector('#read-copy').hidden"),
                what="Read the copy in the popup",
            )
            copy = await eventually(lambda: copy_of(browser, URL), what="the kept copy")
            assert copy["title"] == TITLE
            assert "Austria's Nightjet" in str(copy["html"])
            assert int(copy["word_count"]) > 150  # type: ignore[call-overload]

            # The site goes away: the reader needs only the helper app.
            await site.runner.cleanup()
            reader = await browser.extension_page(f"reader/reader.html?url={quote(URL, safe='')}")
            await read_the_copy(reader)
            await settings_and_position(reader)
            await look_and_accessibility(reader)
            await archive_from_the_reader(reader, native_host)
            await list_page_reads_it(browser)
            await options_storage_and_delete(browser, reader)


async def read_the_copy(reader: Page) -> None:
    await reader.wait_for_selector("body[data-ready='true']", timeout=20000)
    assert await reader.inner_text("#title") == TITLE
    body = await reader.inner_text("#body")
    assert "Austria's Nightjet runs from Vienna" in body
    assert "from Stockholm" in body
    assert "Ten stations worth the trip" not in body  # the page's chrome stayed behind
    assert await reader.inner_text("#site") == "The Rail Review"
    assert "Ada Lindqvist" in await reader.inner_text("#meta")
    # No image loads from the web unless allowed: a placeholder, no <img>, no script.
    assert await reader.locator("#body img").count() == 0
    assert (
        await reader.inner_text("#body .image-placeholder")
        == "Image not loaded: A sleeper train at dusk"
    )
    assert await reader.locator("#body script, #body [onerror]").count() == 0
    assert await reader.get_attribute("#original", "href") == URL
    assert await reader.get_attribute("#content", "lang") == "en-GB"


async def settings_and_position(reader: Page) -> None:
    await reader.click("button[data-theme='sepia']")
    await reader.click("#larger")
    await reader.select_option("#width", "narrow")
    stored = await reader.evaluate("chrome.storage.local.get('reader').then((s) => s.reader)")
    assert stored == {"fontSize": 20, "width": "narrow", "theme": "sepia", "images": False}
    await reader.set_viewport_size({"width": 700, "height": 400})
    await reader.evaluate(
        "window.scrollTo(0, (document.documentElement.scrollHeight - innerHeight) / 2)"
    )
    await reader.wait_for_selector("body[data-position-saved]", timeout=10000)
    await reader.reload()
    await reader.wait_for_selector("body[data-ready='true']", timeout=20000)
    assert await reader.get_attribute("body", "data-theme") == "sepia"
    assert await reader.get_attribute("body", "data-width") == "narrow"
    scrolled = await reader.evaluate(
        "window.scrollY / (document.documentElement.scrollHeight - innerHeight)"
    )
    assert 0.35 < scrolled < 0.65, scrolled
    await reader.evaluate("window.scrollTo(0, 0)")


async def look_and_accessibility(reader: Page) -> None:
    await reader.set_viewport_size({"width": 900, "height": 900})
    await reader.click("button[data-theme='light']")
    await reader.select_option("#width", "medium")
    await reader.click("#smaller")
    await reader.evaluate("window.scrollTo(0, 0)")
    for theme in ("light", "sepia", "dark"):
        await reader.click(f"button[data-theme='{theme}']")
        assert await axe_violations(reader) == [], theme
        if theme != "sepia":
            shot = screenshot_file("reader.png" if theme == "light" else "reader-dark.png")
            await reader.screenshot(path=str(shot))
            publish_screenshot(shot)
    await reader.click("button[data-theme='light']")


async def archive_from_the_reader(reader: Page, host: NativeHost) -> None:
    await eventually(lambda: reader.is_enabled("#archive"), what="the item's state")
    for status, pressed in (("archived", "true"), ("unread", "false")):
        await reader.click("#archive")
        await eventually(
            lambda: (host.item(URL) or {}).get("status") == status,
            what=status,
        )
        script = f"document.querySelector('#archive').getAttribute('aria-pressed') === '{pressed}'"
        await eventually(lambda: reader.evaluate(script), what=f"Archive pressed={pressed}")
    await reader.fill("#tag-input", "trains, europe")
    await reader.press("#tag-input", "Enter")
    await eventually(
        lambda: sorted((host.item(URL) or {}).get("tags") or []) == ["europe", "trains"],
        what="the tags",
    )
    await reader.get_by_role("button", name="Remove tag europe").click()
    await eventually(lambda: (host.item(URL) or {}).get("tags") == ["trains"], what="one tag")


async def list_page_reads_it(browser: Chromium) -> None:
    page = await browser.extension_page("list/list.html")
    read = page.get_by_role("button", name=f"Read the copy: {TITLE}")
    await read.wait_for(timeout=20000)
    async with browser.context.expect_page() as opened:
        await read.click()
    reader = await opened.value
    await reader.wait_for_selector("body[data-ready='true']", timeout=20000)
    assert "reader/reader.html?item=" in reader.url
    assert "Austria's Nightjet" in await reader.inner_text("#body")
    await reader.close()
    await page.close()


async def options_storage_and_delete(browser: Chromium, reader: Page) -> None:
    options = await browser.extension_page("options/options.html")
    assert await options.is_checked("#keep-copy")
    used = await eventually(
        lambda: options.evaluate(
            "(() => { const t = document.querySelector('#copies-used').textContent;"
            " return t.startsWith('1 copy') ? t : null; })()"
        ),
        what="the storage used",
    )
    assert "kB" in used or "bytes" in used, used
    options.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await options.click("#copies-clear")
    await eventually(
        lambda: options.evaluate("document.querySelector('#copies-used').textContent === 'No copies kept'"),
        what="no copies left",
    )  # fmt: skip
    assert (await options.inner_text("#copies-message")).startswith("Deleted 1 copy")
    assert await options.is_disabled("#copies-clear")
    await options.fill("#never-copy", "Bank.example\nhttps://www.mail.example/inbox")
    await options.click("#never-copy-save")
    stored = await options.evaluate(
        "chrome.storage.local.get('neverCopy').then((s) => s.neverCopy)"
    )
    assert stored == ["bank.example", "mail.example"]
    await options.uncheck("#keep-copy")
    assert (
        await options.evaluate("chrome.storage.local.get('keepCopy').then((s) => s.keepCopy)")
        is False
    )
    await reader.reload()
    await reader.locator("#error").wait_for(state="visible", timeout=20000)
    assert "No copy of this page was kept" in await reader.inner_text("#error")
