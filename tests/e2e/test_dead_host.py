"""A host that is registered but exits at once: the user is told how to install it."""

from __future__ import annotations

import pytest

from .chromium import Chromium
from .harness import page_server, publish_screenshot, screenshot_file

pytestmark = pytest.mark.e2e


async def test_options_show_the_install_command_when_the_host_dies(
    chromium_dead_host: Chromium,
) -> None:
    options = await chromium_dead_host.extension_page("options/options.html")
    await options.set_viewport_size({"width": 900, "height": 900})
    missing = options.locator("#host-missing")
    await missing.wait_for(state="visible", timeout=20000)
    assert await options.inner_text("#host-badge") == "Not found"
    assert await options.inner_text("#install-command") == "tuckaway install --all"
    # Every step for this OS (Linux here): getting the helper app comes first.
    assert "install.sh" in await options.inner_text("#get-helper-text")
    assert (await options.inner_text("#get-helper-command")).startswith("pipx install tuckaway-")
    assert await options.locator("#host-found").is_hidden()
    shot = screenshot_file("options-no-helper.png")
    await options.screenshot(path=str(shot), full_page=True)
    publish_screenshot(shot)


async def test_popup_says_the_helper_app_is_missing(chromium_dead_host: Chromium) -> None:
    async with page_server() as site:
        page = await chromium_dead_host.open(site.page("/articles/dead"))
        popup = await chromium_dead_host.click_action(page)

        async def missing() -> bool:
            return bool(await popup.evaluate(
                "document.querySelector('#popup').dataset.state === 'missing'"
                " && !document.querySelector('#install').hidden"))  # fmt: skip

        from .harness import eventually

        await eventually(missing, timeout=20, what="the popup's install notice")
        text = await popup.evaluate("document.querySelector('#install').textContent")
        assert "tuckaway install --all" in text
