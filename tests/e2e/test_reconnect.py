"""The host dies with a write in flight: after reconnecting, the extension answers
it from `lookup` (port.js), the popup and the badge say what lookup says, and the
native port still closes when idle.

The host is registered behind harness.make_dying_host: a proxy that kills the
real host once, after it sent `queued` for the popup's save (or its archive or
remove).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from .chromium import Chromium, launch_chromium
from .harness import (
    NativeHost,
    eventually,
    make_dying_host,
    make_native_host,
    page_server,
    pocket_service,
    register_for_chromium,
)
from .test_chromium import popup_state

pytestmark = pytest.mark.e2e


@contextlib.asynccontextmanager
async def dying_chromium(
    playwright: object, tmp: Path, host: NativeHost, when: str, ops: tuple[str, ...] = ("save",)
) -> AsyncIterator[Chromium]:
    profile = tmp / "chromium-profile"
    register_for_chromium(profile, make_dying_host(tmp, host, when=when, ops=ops))
    async with launch_chromium(playwright, profile) as browser:  # type: ignore[arg-type]
        yield browser


@pytest.fixture
def leased_host(tmp_path: Path) -> NativeHost:
    # A killed host's lease on a write it had claimed runs out in 2 s, not 60.
    return make_native_host(tmp_path, TUCKAWAY_LEASE_S="2")


async def killed_after(tmp: Path) -> str:
    """What the dying host's proxy did (it writes one line when it kills the host)."""
    log = tmp / "dying-host-killed.log"
    found: str = await eventually(
        lambda: log.exists() and log.read_text("utf-8"), what="the host to be killed"
    )
    return found


async def wait_idle_scheduled(chromium: Chromium) -> None:
    """The background's native port has nothing in flight and its idle timer runs."""

    async def scheduled() -> bool:
        return bool(await chromium.sw(
            "() => tuckaway.port.table.size === 0 && tuckaway.port.idleTimer !== null"))  # fmt: skip

    await eventually(scheduled, what="the native port's idle timer after the recovered save")


async def test_a_save_delivered_before_the_host_died_is_confirmed_by_lookup(
    playwright: object, tmp_path: Path, leased_host: NativeHost
) -> None:
    async with dying_chromium(playwright, tmp_path, leased_host, "after_delivery") as chromium:
        async with page_server() as site:
            url = site.page("/articles/reconnect-delivered")
            page = await chromium.open(url)
            await chromium.record_badges()
            popup = await chromium.click_action(page)
            assert await popup_state(popup, "saved") == "Saved"
            # The host never answered the save: the popup's state came from the new host's lookup.
            assert "kept the final reply" in await killed_after(tmp_path)
            assert [i["url"] for i in leased_host.saved()] == [url]
            assert await chromium.sw("() => tuckaway.port.state") == "up"
            badges = await chromium.badges()
            assert "\u2713" in badges and "!" not in badges, badges
            await wait_idle_scheduled(chromium)


async def test_a_save_still_queued_when_the_host_died_shows_queued_offline(
    playwright: object, tmp_path: Path
) -> None:
    # The local list delivers at once, so the write could beat the kill; a Pocket
    # service whose first /v3/add is slow cannot: the write is still in the outbox.
    async with pocket_service(tmp_path) as service:
        service.inject("/v3/add", delay=3.0)
        host = make_native_host(
            tmp_path,
            TUCKAWAY_POCKET_URL=service.url,
            TUCKAWAY_POCKET_CONSUMER_KEY="e2e-consumer-key",
            TUCKAWAY_LEASE_S="2",
        )
        linked = host.cli("login", "pocket", "--access-token-stdin", input=service.token + "\n")
        assert linked.returncode == 0, linked.stderr
        async with dying_chromium(playwright, tmp_path, host, "before_delivery") as chromium:
            async with page_server() as site:
                url = site.page("/articles/reconnect-queued")
                page = await chromium.open(url)
                await chromium.record_badges()
                popup = await chromium.click_action(page)
                # The new host answers lookup before it drains what the old one left:
                # pending 1.
                assert await popup_state(popup, "queued") == "Queued offline"
                assert "right after queued" in await killed_after(tmp_path)
                await wait_idle_scheduled(chromium)
                assert "\u2713" not in await chromium.badges()
                # ... and then delivers it: the item is in the list.
                await eventually(
                    lambda: host.item(url), timeout=30, what="the queued save delivered"
                )
                assert [i["url"] for i in host.saved()] == [url]


async def test_a_shortcut_save_recovered_from_lookup_lets_the_port_close(
    playwright: object, tmp_path: Path, leased_host: NativeHost
) -> None:
    # Without the popup nothing else is sent after the recovery: only the recovery
    # itself can start the idle timer that lets the host and the worker go.
    async with dying_chromium(playwright, tmp_path, leased_host, "after_delivery") as chromium:
        async with page_server() as site:
            page = await chromium.open(site.page("/articles/reconnect-shortcut"))
            tab = await chromium.active_tab(page)
            await chromium.record_badges()
            result = await chromium.sw("(tab) => tuckaway.onCommand('save-page', tab)", tab)
            assert "kept the final reply" in await killed_after(tmp_path)
            assert result["recovered"] is True, result
            assert result["lookup"]["saved"] is True and result["lookup"]["pending"] == 0, result
            assert [i["url"] for i in leased_host.saved()] == [page.url]
            assert "\u2713" in await chromium.badges()
            await wait_idle_scheduled(chromium)


@pytest.mark.parametrize(
    ("op", "button", "what"), [("archive", "archive", "archiving"), ("delete", "remove", "removing")]
)
async def test_a_popup_change_the_lookup_does_not_show_is_undone_and_said(
    playwright: object, tmp_path: Path, op: str, button: str, what: str
) -> None:
    # The service refuses the change (HTTP 400) and the host dies before the browser
    # hears so: the new host's lookup shows the item as it was. The popup is open, so
    # no notification: the popup itself must undo its optimistic view and say it.
    async with pocket_service(tmp_path) as service:
        host = make_native_host(
            tmp_path, TUCKAWAY_POCKET_URL=service.url, TUCKAWAY_POCKET_CONSUMER_KEY="e2e-consumer-key"
        )
        linked = host.cli("login", "pocket", "--access-token-stdin", input=service.token + "\n")
        assert linked.returncode == 0, linked.stderr
        async with dying_chromium(playwright, tmp_path, host, "after_delivery", (op,)) as chromium:
            async with page_server() as site:
                url = site.page(f"/articles/reconnect-{op}-refused")
                page = await chromium.open(url)
                popup = await chromium.click_action(page)
                assert await popup_state(popup, "saved") == "Saved"
                service.inject("/v3/send", status=400, headers={"X-Error": "Invalid action"})
                await chromium.record_badges()
                await popup.evaluate(f"document.querySelector('#{button}').click()")
                assert "kept the final reply" in await killed_after(tmp_path)

                expected = (
                    f"The helper app restarted before it answered, and {what} {url}"
                    " did not go through. Try again."
                )

                async def said() -> list[object] | None:
                    seen = await popup.evaluate(
                        "[document.querySelector('#detail').hidden ? '' :"
                        " document.querySelector('#detail').textContent,"
                        " document.querySelector('#popup').dataset.state,"
                        " document.querySelector('#item').hidden,"
                        " document.querySelector('#archive').getAttribute('aria-pressed'),"
                        " document.querySelector('#archive').textContent]"
                    )
                    return list(seen) if seen[0] else None

                shown = await eventually(said, timeout=20, what="the popup to say the change failed")
                assert shown == [expected, "saved", False, "false", "Archive"], shown
                assert "!" in await chromium.badges()
                item = host.item(url)
                assert item is not None and item["status"] != "archived", item
