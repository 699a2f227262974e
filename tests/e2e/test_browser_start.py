"""Writes left waiting and the helper app's problems, in real Chromium through the real host:
after the browser restarts with writes waiting, the toolbar shows their count and the port
stays open; a bad config.toml key is shown on the options page in plain words (axe-clean)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from .chromium import launch_chromium
from .harness import eventually, make_native_host, register_for_chromium
from .test_list_page import axe_violations

pytestmark = pytest.mark.e2e

URLS = ("https://waiting.example/one", "https://waiting.example/two")


def unused_port() -> int:
    """A loopback port nobody listens on: the service is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_restarted_browser_shows_waiting_writes_and_the_options_show_problems(
    playwright: object, tmp_path: Path
) -> None:
    down = f"http://127.0.0.1:{unused_port()}"
    host = make_native_host(
        tmp_path, TUCKAWAY_POCKET_URL=down, TUCKAWAY_POCKET_CONSUMER_KEY="e2e-consumer-key"
    )
    linked = host.cli("login", "pocket", "--access-token-stdin", input="e2e-token\n")
    assert linked.returncode == 0, linked.stderr
    profile = tmp_path / "chromium-profile"
    register_for_chromium(profile, host.wrapper)

    # First session: two saves the service cannot take; the browser closes with them queued.
    async with launch_chromium(playwright, profile) as chromium:  # type: ignore[arg-type]
        for url in URLS:
            await chromium.sw(f"() => {{ tuckaway.saveUrl({url!r}).catch(() => {{}}); }}")
        await eventually(
            lambda: chromium.sw("async () => (await tuckaway.port.hello()).pending === 2"),
            what="both saves queued in the helper app",
        )

    config = host.home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('# written by hand\nlog_level = "LOUD"\n', "utf-8")

    # Second session: the browser starts with writes waiting; nothing is clicked.
    async with launch_chromium(playwright, profile) as chromium:  # type: ignore[arg-type]
        await eventually(lambda: chromium.badge(), what="a badge at browser start")
        assert await chromium.badge() == "2"
        await eventually(
            lambda: chromium.sw("() => tuckaway.port.info?.pending === 2"),
            what="the helper app's own count, with no click",
        )
        assert await chromium.badge() == "2"
        assert await chromium.sw("() => tuckaway.port.state") == "up"
        assert await chromium.sw("() => tuckaway.port.held") is True
        alarm = await chromium.sw("() => chrome.alarms.get('tuckaway-drain')")
        assert alarm and alarm["periodInMinutes"] == 0.5, alarm
        title = await chromium.sw("() => chrome.action.getTitle({})")
        assert "2 changes wait to be sent" in title, title

        page = await chromium.extension_page("options/options.html")
        await eventually(
            lambda: page.is_visible("#host-problems"), what="the problem on the options page"
        )
        said = await page.text_content("#host-problem-list") or ""
        assert f'The setting "log_level" in {config}, line 2 is wrong' in said, said
        assert "DEBUG, INFO, WARNING, ERROR" in said, said
        assert await page.text_content("#host-pending") == "2"
        for scheme in ("light", "dark"):
            await page.emulate_media(color_scheme=scheme)
            assert await axe_violations(page) == [], scheme
