"""The list page in Chromium, in one browser session, against a Pocket-compatible service:
open and search, bulk-archive 20 items as one service call, the keyboard, undo after a
delete, the toolbar's saved sign, axe-core, and the screenshots (light and dark)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from playwright.async_api import Page

from .chromium import Chromium, launch_chromium
from .harness import (
    NativeHost,
    PocketService,
    eventually,
    make_native_host,
    page_server,
    pocket_service,
    publish_screenshot,
    register_for_chromium,
    screenshot_file,
)

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[2] / "extension" / "node_modules" / "axe-core" / "axe.min.js"
TITLES = [
    "Gamma rays from a distant galaxy",
    "Gamma correction for photographers",
    "The gamma function, gently",
    "Gamma knives in modern surgery",
    "Why gamma matters in colour",
    "Slow bread: a weekend loaf",
    "A field guide to city birds",
    "Writing tests that read as sentences",
    "The quiet joy of reading later",
    "Ten walks along the coast",
    "How SQLite stores a page",
    "Notes on keyboard-first interfaces",
    "An introduction to full-text search",
    "Repairing a bicycle wheel",
    "What the tide tables say",
    "Letters from a lighthouse keeper",
    "Cooking with one pan",
    "The history of the paperclip",
    "Small habits, long projects",
    "Reading maps without a phone",
    "A short guide to houseplants",
    "On keeping a commonplace book",
]
ROWS = "document.querySelectorAll('#items .row').length"


async def item(host: NativeHost, url: str) -> dict[str, object] | None:
    """The host's view of an item (the CLI, in a thread: the service runs on this loop)."""
    return await asyncio.to_thread(host.item, url)


async def rows(page: Page) -> int:
    return int(await page.evaluate(ROWS))


async def titles(page: Page) -> list[str]:
    found = await page.evaluate(
        "[...document.querySelectorAll('#items .row .title')].map(a => a.textContent)"
    )
    return [str(t) for t in found]


async def axe_violations(page: Page) -> list[str]:
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `npm ci` in extension/")
    await page.evaluate(AXE.read_text("utf-8"))
    found = await page.evaluate(
        "axe.run(document).then(r => r.violations.map(v => `${v.id}: ${v.nodes.map(n => n.target).join(' ')}`))"
    )
    return [str(v) for v in found]


async def test_the_list_page(playwright: object, tmp_path: Path) -> None:
    async with page_server() as site, pocket_service(tmp_path) as service:
        host = make_native_host(
            tmp_path, TUCKAWAY_POCKET_URL=service.url, TUCKAWAY_POCKET_CONSUMER_KEY="e2e-key"
        )
        linked = host.cli("login", "pocket", "--access-token-stdin", input=service.token + "\n")
        assert linked.returncode == 0, linked.stderr
        urls = [f"http://reader.example/articles/{n}" for n in range(len(TITLES))]
        profile = tmp_path / "chromium-profile"
        register_for_chromium(profile, host.wrapper)
        rules = f"--host-resolver-rules=MAP reader.example 127.0.0.1:{site.url.rsplit(':', 1)[1]}"
        async with launch_chromium(playwright, profile, extra_args=(rules,)) as chromium:  # type: ignore[arg-type]
            saved = await chromium.sw(
                "(pairs) => Promise.all(pairs.map(([url, title]) => "
                "tuckaway.saveUrl(url, title, {quiet: true, tags: ['reading']})))",
                [list(pair) for pair in zip(urls, TITLES, strict=True)],
            )
            assert len(saved) == 22
            service.calls.clear()
            page = await open_list(chromium)
            await search_as_you_type(page)
            await bulk_archive_twenty(page, service)
            await keyboard_flow(page, host)
            await undo_after_delete(page, host)
            await check_accessibility_and_take_pictures(page)
            await toolbar_says_saved(chromium, urls[-1], site.page("/articles/never-saved"))


async def open_list(chromium: Chromium) -> Page:
    started = time.monotonic()
    page = await chromium.extension_page("list/list.html")
    await eventually(lambda: rows(page), timeout=20, what="the first rows")
    # Reported, not asserted (issue 13): open to first rows, helper app start included.
    print(f"\nlist page: open to first rows {1000 * (time.monotonic() - started):.0f} ms")
    assert await rows(page) == 22
    assert "22 items" in await page.inner_text("#count")
    sidebar = await page.inner_text("#tags")
    assert "reading" in sidebar and "22" in sidebar
    return page


async def search_as_you_type(page: Page) -> None:
    await page.fill("#search", "gam")
    await eventually(lambda: page.evaluate(f"{ROWS} === 5"), what="5 matches for 'gam'")
    assert all("Gamma" in t or "gamma" in t for t in await titles(page))
    await page.fill("#search", "zebra")
    await eventually(lambda: page.is_visible("#empty"), what="the empty state")
    assert "Nothing matches" in await page.inner_text("#empty")
    await page.fill("#search", "")
    await eventually(lambda: page.evaluate(f"{ROWS} === 22"), what="the whole list again")


async def bulk_archive_twenty(page: Page, service: PocketService) -> None:
    boxes = page.locator("#items .row input[type=checkbox]")
    await boxes.nth(0).click()
    await boxes.nth(19).click(modifiers=["Shift"])
    assert await page.inner_text("#bulk-count") == "20 selected"
    await page.click("[data-bulk=archive]")
    await eventually(lambda: page.evaluate(f"{ROWS} === 2"), timeout=20, what="20 archived")
    assert await page.is_hidden("#bulk-report")
    writes = service.writes()
    assert [(w.method, w.path) for w in writes] == [("POST", "/v3/send")]
    assert [a["action"] for a in writes[0].body["actions"]] == ["archive"] * 20
    await page.click("[data-view=archive]")
    await eventually(lambda: page.evaluate(f"{ROWS} === 20"), what="the archive view")
    await page.click("[data-view=unread]")
    await eventually(lambda: page.evaluate(f"{ROWS} === 2"), what="the unread view")


async def keyboard_flow(page: Page, host: NativeHost) -> None:
    await page.click("h1")
    await page.keyboard.press("j")
    current = await page.evaluate("document.querySelector('.row.current .title').href")
    await page.keyboard.press("f")
    await eventually(lambda: page.evaluate(
        "document.querySelector('.row.current button[aria-pressed=true]') !== null"),
        what="the favorite star")  # fmt: skip
    assert ((await item(host, current)) or {}).get("favorite") is True
    await page.keyboard.press("?")
    assert await page.evaluate("document.querySelector('#help').open")
    await page.keyboard.press("Escape")
    await page.keyboard.press("/")
    assert await page.evaluate("document.activeElement.id") == "search"
    await page.keyboard.press("Escape")
    await page.keyboard.press("x")
    assert await page.inner_text("#bulk-count") == "1 selected"
    await page.keyboard.press("Escape")
    assert await page.is_hidden("#bulk")


async def undo_after_delete(page: Page, host: NativeHost) -> None:
    await page.click("h1")
    await page.keyboard.press("j")
    gone = str(await page.evaluate("document.querySelector('.row.current .title').href"))
    before = await item(host, gone) or {}
    assert before.get("favorite") is True and before.get("tags") == ["reading"]
    await page.keyboard.press("#")
    await eventually(lambda: page.evaluate(f"{ROWS} === 1"), what="the row gone")
    assert await page.inner_text("#toast-text") == "Deleted"
    await page.click("#toast-undo")
    await eventually(lambda: page.evaluate(f"{ROWS} === 2"), timeout=20, what="the row back")
    back = await eventually(lambda: item(host, gone), what="the item back")
    assert back["favorite"] is True and back["tags"] == ["reading"]


async def check_accessibility_and_take_pictures(page: Page) -> None:
    await page.set_viewport_size({"width": 1100, "height": 640})
    await page.click("[data-view=all]")
    await eventually(lambda: page.evaluate(f"{ROWS} === 22"), what="all items")
    for scheme in ("light", "dark"):
        await page.emulate_media(color_scheme=scheme)
        assert await axe_violations(page) == [], scheme
        await page.evaluate("document.activeElement.blur()")
        shot = screenshot_file("list.png" if scheme == "light" else "list-dark.png")
        await page.screenshot(path=str(shot))
        publish_screenshot(shot)
    await page.emulate_media(color_scheme="light")


async def toolbar_says_saved(chromium: Chromium, saved_url: str, other_url: str) -> None:
    tab = await chromium.open(saved_url)
    tab_id = await chromium.tab_id(tab)
    title = lambda: chromium.sw("(id) => chrome.action.getTitle({tabId: id})", tab_id)  # noqa: E731
    await eventually(lambda: _equals(title(), "Saved \u2014 click to edit"), what="the saved sign")
    cached = await chromium.sw("(url) => chrome.storage.session.get(`saved:${url}`)", saved_url)
    assert json.dumps(cached) == json.dumps({f"saved:{saved_url}": True})
    await chromium.open(other_url)
    key = f"saved:{other_url}"
    await eventually(
        lambda: chromium.sw("(k) => chrome.storage.session.get(k)", key), what="the other lookup"
    )
    assert await chromium.sw("(k) => chrome.storage.session.get(k)", key) == {key: False}


async def _equals(value: object, expected: str) -> bool:
    return await value == expected  # type: ignore[misc]
