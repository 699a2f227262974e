"""The options page edits the host's own settings (service address, consumer key, batching)
in real Chromium, through the real host: what it saves is what config.toml then holds."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from typing import Any

import pytest
from playwright.async_api import expect

from .chromium import Chromium
from .harness import NativeHost, eventually

pytestmark = pytest.mark.e2e


def keyring_consumer_key(native_host: NativeHost) -> str | None:
    """The consumer key in the host's keyring, read as the host reads it."""
    code = "from tuckaway.accounts.credentials import stored_consumer_key as k; print(k())"
    out = subprocess.run(
        [sys.executable, "-c", code], env=native_host.env, capture_output=True, text=True,
        timeout=60, check=True,
    )
    return out.stdout.strip()


def config(native_host: NativeHost) -> dict[str, Any]:
    path = native_host.home / "config" / "config.toml"
    return tomllib.loads(path.read_text("utf-8")) if path.exists() else {}


async def options_page(chromium: Chromium) -> Any:
    page = await chromium.extension_page("options/options.html")
    await eventually(
        lambda: page.evaluate("document.getElementById('batch_quiet_ms').value === '300'"),
        what="the options page to show the host's batching settings",
    )
    return page


async def test_batching_settings_saved_on_the_options_page_land_in_config_toml(
    chromium: Chromium, native_host: NativeHost
) -> None:
    page = await options_page(chromium)
    assert native_host.home.as_posix() in await page.text_content("#config-path")
    await page.fill("#batch_quiet_ms", "450")
    await page.fill("#batch_max_actions", "60")
    await page.click("#batching-save")
    await eventually(lambda: page.text_content("#batching-message"), what="a message")
    assert await page.text_content("#batching-message") == "Saved."
    assert config(native_host) == {"batch_quiet_ms": 450, "batch_max_actions": 60}

    await page.fill("#batch_max_actions", "0")
    await page.click("#batching-save")
    await eventually(
        lambda: page.evaluate("document.getElementById('batching-message').className"
                              " === 'message error'"),
        what="an error message",
    )  # fmt: skip
    assert "a whole number from 1 to 1000" in (await page.text_content("#batching-message") or "")
    assert config(native_host)["batch_max_actions"] == 60

    await page.click("#batching-reset")
    await eventually(lambda: config(native_host) == {}, what="config.toml without the keys")
    assert await page.input_value("#batch_quiet_ms") == "300"


async def test_the_service_address_and_key_are_set_before_signing_in(
    chromium: Chromium, native_host: NativeHost
) -> None:
    page = await options_page(chromium)
    await page.check("#list-pocket")  # a fresh install keeps the list on this computer
    await page.fill("#pocket-url", "read.example.org/")
    await page.fill("#pocket-key", "1234-consumer")
    await page.click("#service-save")
    await eventually(
        lambda: config(native_host).get("pocket_url") == "https://read.example.org",
        what="the service address in config.toml",
    )
    # The key goes to the keyring (docs/pocket.md), never into config.toml.
    assert "pocket_consumer_key" not in config(native_host)
    assert keyring_consumer_key(native_host) == "1234-consumer"
    # The key is write-only: the page never shows it back.
    await eventually(
        lambda: page.evaluate("document.getElementById('pocket-key').placeholder"
                              " === 'set (type to replace it)'"),
        what="the key shown as set",
    )  # fmt: skip
    assert await page.input_value("#pocket-key") == ""

    await page.fill("#pocket-url", "http://read.example.org")
    await page.click("#service-save")
    await eventually(
        lambda: page.evaluate("document.getElementById('service-message').className"
                              " === 'message error'"),
        what="the refusal",
    )  # fmt: skip
    assert "https" in (await page.text_content("#service-message") or "")
    assert config(native_host)["pocket_url"] == "https://read.example.org"


async def test_each_note_describes_its_input(chromium: Chromium, native_host: NativeHost) -> None:
    page = await options_page(chromium)
    await expect(page.locator("#batch_quiet_ms")).to_have_accessible_description(
        "Send a batch after this long without a new save (default 300)."
    )
    await expect(page.locator("#batch_max_actions")).to_have_accessible_description(
        "Actions sent in one request at most (default 100)."
    )
    note = await page.text_content("#pocket-url-note")
    assert note and "Pocket-compatible service" in note, note
    await expect(page.locator("#pocket-url")).to_have_accessible_description(note)


TOO_OLD = (
    "This helper app is too old to change its settings here: edit its config.toml"
    " (`tuckaway status` shows where)."
)


async def test_a_helper_app_without_the_settings_ops_is_said_in_both_cards(
    chromium: Chromium, native_host: NativeHost
) -> None:
    # A helper app from before `settings` refuses the op it does not know (invalid_request).
    await chromium.sw(
        "() => { const port = tuckaway.port; const real = port.request.bind(port);"
        " port.request = (request, options) => request.op.startsWith('settings')"
        "   ? Promise.reject(Object.assign(new Error(`unknown op ${request.op}`),"
        "       { code: 'invalid_request' }))"
        "   : real(request, options); }"
    )
    page = await chromium.extension_page("options/options.html")
    await eventually(
        lambda: page.text_content("#batching-message"), what="the batching card's message"
    )
    assert await page.text_content("#batching-message") == TOO_OLD
    assert await page.text_content("#service-message") == TOO_OLD
    assert await page.get_attribute("#service-message", "class") == "message error"
    for button in ("#service-save", "#batching-save", "#batching-reset"):
        assert await page.is_disabled(button), button
