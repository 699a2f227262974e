"""Clear words on the options page in real Chromium, through the real host: a sign-in
refusal says the host's reason, a refused setting keeps what was typed and marks its field,
and axe-core finds nothing on the options page or the popup, light or dark."""

from __future__ import annotations

from typing import Any

import pytest

from .chromium import Chromium
from .harness import NativeHost, eventually
from .test_list_page import axe_violations
from .test_options_settings import options_page

pytestmark = pytest.mark.e2e


async def message_is(page: Any, element: str, kind: str, what: str) -> None:
    """Wait until message line `element` shows a message of `kind` (ok or error)."""
    await eventually(
        lambda: page.evaluate(
            f"document.getElementById('{element}').className === 'message {kind}'"
        ),
        what=what,
    )


async def test_the_options_page_says_the_hosts_reasons_in_plain_words(
    chromium: Chromium, native_host: NativeHost
) -> None:
    page = await options_page(chromium)
    await page.check("#list-pocket")
    # No consumer key is set: the host refuses the sign-in with its precise reason.
    await page.click("#pocket-login")
    await message_is(page, "pocket-message", "error", "the sign-in refusal")
    said = await page.text_content("#pocket-message") or ""
    assert "a Pocket consumer key is needed" in said, said
    assert "internal error" not in said, said

    # A space in the address passes the page's own check; the host refuses it.
    typed = "https://read.example.org/a b"
    await page.fill("#pocket-url", typed)
    await page.click("#service-save")
    await message_is(page, "service-message", "error", "the refused address")
    said = await page.text_content("#service-message") or ""
    assert "not a web address" in said, said
    assert "settings_set" not in said and "pocket_url" not in said, said
    assert await page.input_value("#pocket-url") == typed
    assert await page.get_attribute("#pocket-url", "aria-invalid") == "true"

    await page.fill("#pocket-url", "https://read.example.org")
    await page.click("#service-save")
    await message_is(page, "service-message", "ok", "the address saved")
    assert await page.get_attribute("#pocket-url", "aria-invalid") is None


async def test_axe_finds_nothing_on_the_options_page_and_the_popup(
    chromium: Chromium, native_host: NativeHost
) -> None:
    page = await options_page(chromium)
    popup = await chromium.extension_page("popup/popup.html")
    await eventually(
        lambda: popup.evaluate(
            "document.getElementById('popup').getAttribute('aria-busy') !== 'true'"
        ),
        what="the popup to settle",
    )
    for scheme in ("light", "dark"):
        for name, each in (("options", page), ("popup", popup)):
            await each.emulate_media(color_scheme=scheme)
            assert await axe_violations(each) == [], (name, scheme)
