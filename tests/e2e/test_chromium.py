"""Chromium with the real extension and the real host: what the user touches works."""

from __future__ import annotations

import json

import pytest

from .cdp import TargetClient
from .chromium import Chromium
from .harness import NativeHost, eventually, page_server

pytestmark = pytest.mark.e2e


async def popup_state(popup: TargetClient, wanted: str) -> str:
    """Wait until the popup's status is `wanted`; returns the status words."""

    seen: list[str] = []

    async def check() -> str | None:
        seen[:] = await popup.evaluate(
            "[document.querySelector('#popup').dataset.state, "
            "document.querySelector('#status-text').textContent, "
            "document.querySelector('#detail').textContent]"
        )
        return seen[1] if seen[0] == wanted else None

    try:
        return str(await eventually(check, timeout=20, what=f"popup state {wanted}"))
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the popup shows {seen}") from None


async def test_toolbar_click_saves_the_page(chromium: Chromium, native_host: NativeHost) -> None:
    async with page_server() as site:
        page = await chromium.open(site.page("/articles/toolbar"))
        popup = await chromium.click_action(page)
        assert await popup_state(popup, "saved") == "Saved"
        assert await popup.evaluate("document.querySelector('#page-title').textContent") == (
            "E2E article toolbar"
        )
        items = native_host.saved()
        assert [(i.get("given_url") or i.get("url"), i.get("title")) for i in items] == [
            (site.page("/articles/toolbar"), "E2E article toolbar")
        ]


async def test_second_click_shows_the_saved_state_and_edits_tags(
    chromium: Chromium, native_host: NativeHost
) -> None:
    async with page_server() as site:
        url = site.page("/articles/twice")
        page = await chromium.open(url)
        first = await chromium.click_action(page)
        await popup_state(first, "saved")
        added = native_host.item(url)
        assert added is not None

        # Watch what the background sends the host from here on: the second popup
        # must look the page up, not save it again.
        await chromium.sw(
            "() => { globalThis.sentOps = []; const port = tuckaway.port;"
            " const request = port.request.bind(port);"
            " port.request = (req, options) => { globalThis.sentOps.push(req.op); return request(req, options); }; }"
        )
        second = await chromium.click_action(page)
        assert await popup_state(second, "saved") == "Already saved"
        sent = await chromium.sw("() => globalThis.sentOps")
        assert "lookup" in sent and "save" not in sent, sent
        assert [i["url"] for i in native_host.saved()] == [url]

        await second.evaluate("document.querySelector('#tag-input').focus()")
        await second.type_text("news, read later")
        await second.press_enter()
        await eventually(lambda: (native_host.item(url) or {}).get("tags") == ["news", "read later"],
                         what="tags saved by the popup")  # fmt: skip
        chips = await second.evaluate(
            "[...document.querySelectorAll('#chips .chip span')].map((s) => s.textContent)"
        )
        assert chips == ["news", "read later"]

        await second.evaluate("document.querySelector('[aria-label=\"Remove tag news\"]').click()")
        await eventually(lambda: (native_host.item(url) or {}).get("tags") == ["read later"],
                         what="tag removed by the popup")  # fmt: skip

        await second.evaluate("document.querySelector('#favorite').click()")
        await second.evaluate("document.querySelector('#archive').click()")
        await eventually(
            lambda: (i := native_host.item(url)) and i["favorite"] and i["status"] == "archived",
            what="favorite and archived",
        )
        assert await second.evaluate("document.querySelector('#favorite').ariaPressed") == "true"
        # Still one item, and the second popup never sent a save.
        assert [i["url"] for i in native_host.saved()] == [url]
        assert "save" not in await chromium.sw("() => globalThis.sentOps")


async def test_context_menu_and_command_listeners_are_the_registered_ones(
    chromium: Chromium,
) -> None:
    registered = await chromium.sw(
        "() => [chrome.contextMenus.onClicked.hasListener(tuckaway.onMenuClicked),"
        " chrome.commands.onCommand.hasListener(tuckaway.onCommand)]"
    )
    assert registered == [True, True]
    commands = await chromium.sw(
        "async () => Object.fromEntries((await chrome.commands.getAll()).map((c) => [c.name, c.shortcut]))"
    )
    assert set(commands) == {"_execute_action", "save-page", "open-list"}
    assert commands["_execute_action"] == "Alt+Shift+S"
    # Not Alt+Shift+P: Chromium on Windows and Linux keeps that for "new tab group"
    # and leaves a command suggesting it unbound.
    assert commands["save-page"] == "Alt+Shift+K"


async def test_the_browser_accepts_every_menu_item_and_pattern(chromium: Chromium) -> None:
    # createMenus resolves with runtime.lastError of each contextMenus.create.
    assert await chromium.sw("() => tuckaway.createMenus()") == []
    assert await chromium.sw("() => tuckaway.MENU_IDS") == [
        "save-page", "save-link", "save-selection-links", "open-list", "save-window-tabs",
        "bookmark-status", "bookmark-status-link",
    ]  # fmt: skip


async def menu_click(chromium: Chromium, info: dict[str, object], tab: dict[str, object]) -> object:
    return await chromium.sw("([info, tab]) => tuckaway.onMenuClicked(info, tab)", [info, tab])


async def test_save_link_saves_the_link_not_the_page(
    chromium: Chromium, native_host: NativeHost
) -> None:
    async with page_server() as site:
        page = await chromium.open(site.page("/articles/menus"))
        tab = await chromium.active_tab(page)
        link = site.page("/links/one")
        info = {"menuItemId": "save-link", "linkUrl": link, "pageUrl": page.url, "frameId": 0}
        result = await menu_click(chromium, info, tab)
        assert isinstance(result, dict) and result["item_id"], result
        assert native_host.saved_urls() == {link}


async def test_save_page_menu_saves_the_page_with_its_title(
    chromium: Chromium, native_host: NativeHost
) -> None:
    async with page_server() as site:
        page = await chromium.open(site.page("/articles/page-menu"))
        tab = await chromium.active_tab(page)
        await menu_click(
            chromium, {"menuItemId": "save-page", "pageUrl": page.url, "frameId": 0}, tab
        )
        item = native_host.item(page.url)
        assert item is not None and item["title"] == "E2E article page-menu"


async def test_save_selection_links_saves_every_link_in_the_selection(
    chromium: Chromium, native_host: NativeHost
) -> None:
    async with page_server() as site:
        page = await chromium.open(site.page("/articles/selection"))
        # A real right-click grants activeTab for the tab; the toolbar click does the same here.
        popup = await chromium.click_action(page)
        await popup_state(popup, "saved")
        await page.evaluate(
            "() => { const r = document.createRange();"
            " r.selectNodeContents(document.querySelector('#intro'));"
            " const s = getSelection(); s.removeAllRanges(); s.addRange(r); }"
        )
        selection_text = await page.evaluate("() => getSelection().toString()")
        tab = await chromium.active_tab(page)
        info = {
            "menuItemId": "save-selection-links",
            "selectionText": selection_text,
            "pageUrl": page.url,
            "frameId": 0,
        }
        results = await menu_click(chromium, info, tab)
        assert isinstance(results, list) and [r["status"] for r in results] == ["fulfilled"] * 4
        assert native_host.saved_urls() == {
            page.url,  # saved by the toolbar click
            site.page("/links/one"),
            site.page("/links/two"),
            "https://example.org/elsewhere",
            "https://example.net/plain-text",
        }
        titles = {i["url"]: i["title"] for i in native_host.saved()}
        assert titles[site.page("/links/one")] == "the first link"


async def test_bookmark_status_asks_the_host_to_bookmark_the_post(
    chromium: Chromium, native_host: NativeHost
) -> None:
    post = "https://mastodon.example/@alice/109999999999999999"
    tab = await chromium.sw(
        "async () => (await chrome.tabs.query({active: true, lastFocusedWindow: true}))[0]"
    )
    info = {
        "menuItemId": "bookmark-status-link",
        "linkUrl": post,
        "pageUrl": "about:blank",
        "frameId": 0,
    }
    # No Mastodon account is linked in this profile: the host answers not_linked (badge
    # "!") and keeps the write, held, for when one is.
    await chromium.sw("([info, tab]) => { globalThis.bookmarked = tuckaway.onMenuClicked(info, tab)"
                      ".then((r) => { globalThis.bookmarkResult = r; }); }", [info, {**tab, "url": "about:blank"}])  # fmt: skip

    async def settled() -> object:
        return await chromium.sw("() => globalThis.bookmarkResult ?? null")

    seen = await eventually(settled, what="the answer to the bookmark request")
    assert isinstance(seen, dict) and seen["error"]["code"] == "not_linked", seen
    assert await chromium.badge() == "!"
    kept = [w for w in json.loads(native_host.cli("queue", "--json").stdout or "[]")
            if w["op"] == "bookmark"]  # fmt: skip
    assert [(w["service"], w["state"], w["payload"]) for w in kept] == [
        ("mastodon", "held", {"status_url": post})
    ]


async def test_save_page_command_saves_the_active_tab_with_badge_feedback(
    chromium: Chromium, native_host: NativeHost
) -> None:
    async with page_server() as site:
        page = await chromium.open(site.page("/articles/shortcut"))
        tab = await chromium.active_tab(page)
        result = await chromium.sw("(tab) => tuckaway.onCommand('save-page', tab)", tab)
        assert isinstance(result, dict) and result["url"] == page.url
        assert await chromium.badge() == "\u2713"
        assert native_host.saved_urls() == {page.url}

        async def cleared() -> bool:
            return await chromium.badge() == ""

        await eventually(cleared, what="the check mark to clear")
