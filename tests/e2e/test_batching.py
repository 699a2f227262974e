"""Ten "Save link" clicks in a burst reach the Pocket-compatible service as one batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from .chromium import launch_chromium
from .harness import make_native_host, page_server, pocket_service, register_for_chromium

pytestmark = pytest.mark.e2e


async def test_ten_save_link_clicks_arrive_as_one_batch(playwright: object, tmp_path: Path) -> None:
    async with pocket_service(tmp_path) as service:
        host = make_native_host(
            tmp_path,
            TUCKAWAY_POCKET_URL=service.url,
            TUCKAWAY_POCKET_CONSUMER_KEY="e2e-consumer-key",
        )
        linked = host.cli("login", "pocket", "--access-token-stdin", input=service.token + "\n")
        assert linked.returncode == 0, linked.stderr
        service.calls.clear()

        profile = tmp_path / "chromium-profile"
        register_for_chromium(profile, host.wrapper)
        async with page_server() as site, launch_chromium(playwright, profile) as chromium:  # type: ignore[arg-type]
            page = await chromium.open(site.page("/articles/burst"))
            tab = await chromium.active_tab(page)
            links = [site.page(f"/burst/{i}") for i in range(10)]
            results = await chromium.sw(
                "([links, tab]) => Promise.all(links.map((linkUrl) => tuckaway.onMenuClicked("
                "{menuItemId: 'save-link', linkUrl, pageUrl: tab.url, frameId: 0}, tab)))",
                [links, tab],
            )
            assert [r.get("url") for r in results] == links, results

        writes = service.writes()
        assert [(w.method, w.path) for w in writes] == [("POST", "/v3/send")]
        actions = writes[0].body["actions"]
        assert [(a["action"], a["url"]) for a in actions] == [("add", link) for link in links]
        assert "access_token" in writes[0].body  # credentials in the body, never the URL
