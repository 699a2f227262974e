"""Chromium with the real extension and the real host: what the user touches works."""

from __future__ import annotations

import pytest

from .cdp import TargetClient
from .chromium import Chromium
from .harness import NativeHost, eventually, page_server

pytestmark = pytest.mark.e2e


async def popup_state(popup: TargetClient, wanted: str) -> str:
    """Wait until the popup's status is `wanted`; returns the status words."""

    async def check() -> str | None:
        state, text = await popup.evaluate(
            "[document.querySelector('#popup').dataset.state, "
            "document.querySelector('#status-text').textContent]"
        )
        return text if state == wanted else None

    return str(await eventually(check, timeout=20, what=f"popup state {wanted}"))


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
