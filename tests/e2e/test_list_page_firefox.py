"""The list page in Firefox ESR, one session: open, search, bulk-archive 20 items as one
service call, the keyboard, undo after a delete, and the toolbar's saved sign."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .firefox import Firefox, launch_firefox
from .harness import (
    FIREFOX,
    GECKO_ID,
    PocketService,
    eventually,
    make_native_host,
    page_server,
    pocket_service,
    register_for_firefox,
)
from .test_list_page import ROWS, TITLES

pytestmark = pytest.mark.e2e


def key(name: str) -> str:
    return (
        f"document.body.dispatchEvent(new KeyboardEvent('keydown', {{key: {json.dumps(name)}, "
        "bubbles: true})); 'ok'"
    )


def search(words: str) -> str:
    return (
        "(() => { const s = document.querySelector('#search');"
        f" s.value = {json.dumps(words)}; s.dispatchEvent(new Event('input')); return 'ok'; }})()"
    )


async def test_the_list_page_in_firefox(tmp_path: Path) -> None:
    if not os.access(FIREFOX, os.X_OK):
        pytest.skip(f"{FIREFOX} is not installed (apt-get install firefox-esr)")
    async with page_server() as site, pocket_service(tmp_path) as service:
        # A wider quiet window than the default 300 ms: on a loaded CI machine Firefox's
        # page -> background -> port relay can space 20 clicks' writes further apart.
        host = make_native_host(
            tmp_path,
            TUCKAWAY_POCKET_URL=service.url,
            TUCKAWAY_POCKET_CONSUMER_KEY="e2e-key",
            TUCKAWAY_BATCH_QUIET_MS="1000",
            TUCKAWAY_BATCH_MAX_DELAY_MS="5000",
        )
        linked = host.cli("login", "pocket", "--access-token-stdin", input=service.token + "\n")
        assert linked.returncode == 0, linked.stderr
        home = tmp_path / "firefox-home"
        register_for_firefox(home, host.wrapper)
        async with launch_firefox(tmp_path, home) as firefox:
            assert await firefox.install_extension() == GECKO_ID
            urls = [site.page(f"/articles/{n}") for n in range(len(TITLES))]
            page = await firefox.open_extension_page("list/list.html")
            await save_all(firefox, page, urls, service)
            await search_and_bulk_archive(firefox, page, service)
            await keyboard_and_undo(firefox, page)
            await toolbar_says_saved(firefox, page, urls[-1])


async def rows(firefox: Firefox, page: str, count: int) -> bool:
    return bool(await firefox.evaluate(page, f"{ROWS} === {count}"))


async def save_all(firefox: Firefox, page: str, urls: list[str], service: PocketService) -> None:
    pairs = json.dumps([list(p) for p in zip(urls, TITLES, strict=True)])
    done = await firefox.evaluate(page, (
        "(async () => { const t = (await browser.runtime.getBackgroundPage()).tuckaway;"
        f" const r = await Promise.all({pairs}.map(([u, title]) =>"
        " t.saveUrl(u, title, {quiet: true, tags: ['reading']})));"
        " location.reload(); return r.length; })()"
    ))  # fmt: skip
    assert done == 22
    service.calls.clear()
    await eventually(lambda: rows(firefox, page, 22), timeout=20, what="22 rows")


async def search_and_bulk_archive(firefox: Firefox, page: str, service: PocketService) -> None:
    await firefox.evaluate(page, search("gam"))
    await eventually(lambda: rows(firefox, page, 5), what="5 matches for 'gam'")
    await firefox.evaluate(page, search(""))
    await eventually(lambda: rows(firefox, page, 22), what="the whole list again")
    count = await firefox.evaluate(page, (
        "(() => { const boxes = document.querySelectorAll('#items .row input[type=checkbox]');"
        " boxes[0].click();"
        " boxes[19].dispatchEvent(new MouseEvent('click', {shiftKey: true, bubbles: true}));"
        " return document.querySelector('#bulk-count').textContent; })()"
    ))  # fmt: skip
    assert count == "20 selected"
    await firefox.evaluate(page, "document.querySelector('[data-bulk=archive]').click(); 'ok'")
    await eventually(lambda: rows(firefox, page, 2), timeout=20, what="20 archived")
    writes = service.writes()
    calls = [(w.path, [a["action"] for a in w.body.get("actions", [])]) for w in writes]
    assert calls == [("/v3/send", ["archive"] * 20)], calls


async def keyboard_and_undo(firefox: Firefox, page: str) -> None:
    await firefox.evaluate(page, key("j"))
    await firefox.evaluate(page, key("f"))
    pressed = "document.querySelector('.row.current button[aria-pressed=true]') !== null"
    await eventually(lambda: firefox.evaluate(page, pressed), what="the favorite star")
    gone = await firefox.evaluate(page, "document.querySelector('.row.current .title').href")
    await firefox.evaluate(page, key("#"))
    await eventually(lambda: rows(firefox, page, 1), what="the row gone")
    await firefox.evaluate(page, "document.querySelector('#toast-undo').click(); 'ok'")
    await eventually(lambda: rows(firefox, page, 2), timeout=20, what="the row back")
    row = f"[...document.querySelectorAll('.row')].find(r => r.querySelector('.title').href === {json.dumps(gone)})"
    back = f"(() => {{ const r = {row}; return r && r.querySelector('button[aria-pressed=true]') !== null"
    back += " && r.querySelector('.chip').textContent === 'reading'; })()"
    await eventually(lambda: firefox.evaluate(page, back), what="its star and tag back")


async def toolbar_says_saved(firefox: Firefox, page: str, url: str) -> None:
    await firefox.open(url)
    title = (
        "(async () => { const tab = (await browser.tabs.query({})).find((t) => t.url === "
        f"{json.dumps(url)}); return tab ? browser.action.getTitle({{tabId: tab.id}}) : null; }})()"
    )

    async def saved() -> bool:
        return await firefox.evaluate(page, title) == "Saved \u2014 click to edit"

    try:
        await eventually(saved, timeout=20, what="the saved sign")
    except AssertionError:
        shown = await firefox.evaluate(page, title)
        raise AssertionError(f"the toolbar's title on a saved page: {shown!r}") from None
