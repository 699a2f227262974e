"""Signing in from the browser (Pocket through `tuckaway serve`'s approval page,
Mastodon through the stand-in) leaves no token in the extension's storage:
tokens live with the helper app, in the keyring (PROTOCOL.md 6)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from support.mastodon_standin import MastodonStandIn

from .chromium import Chromium, launch_chromium
from .harness import eventually, make_native_host, pocket_service, register_for_chromium

pytestmark = pytest.mark.e2e

# Start a sign-in through the background relay, as the options page does, without
# waiting for it (it ends when the user has approved in the tab it opens).
START_LOGIN = """async (request) => {
  const { BackgroundClient } = await import('/lib/relay.js');
  window.login = new BackgroundClient().request(request).then(
    (result) => ({ ok: true, result }), (error) => ({ ok: false, code: error.code, message: error.message }));
}"""

TOKEN_LIKE = re.compile(r"^[A-Za-z0-9_\-.~+/=]{20,}$")
SECRET_KEY = re.compile(r"token|secret|password|credential|bearer", re.I)


def leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every (path, scalar) in a JSON value, keys included as paths."""
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in leaves(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in leaves(v, f"{path}[{i}]")]
    return [(path, value)]


def keyring_secrets(keyring_file: Path) -> set[str]:
    """What the helper app keeps in the (test) keyring: the tokens themselves."""
    found: set[str] = set()
    for _, stored in leaves(json.loads(keyring_file.read_text("utf-8"))):
        if not isinstance(stored, str):
            continue
        try:
            inner = json.loads(stored)
        except ValueError:
            inner = stored
        found.update(s for _, s in leaves(inner) if isinstance(s, str) and len(s) >= 8)
    return found


async def sign_in(chromium: Chromium, driver: Any, request: dict[str, str], approve: bool) -> Any:
    async with chromium.context.expect_page(timeout=20000) as opened:
        await driver.evaluate(START_LOGIN, request)
    tab = await opened.value
    if approve:
        await tab.wait_for_load_state()
        await tab.locator("button[value=approve]").click()
    result = await eventually(lambda: driver.evaluate("window.login"), timeout=30, what="sign-in")
    assert result["ok"] is True, result
    return result["result"]


async def test_sign_in_flows_leave_no_token_in_extension_storage(
    playwright: object, tmp_path: Path, standin: MastodonStandIn
) -> None:
    standin.auto_approve = True
    async with pocket_service(tmp_path) as service:
        host = make_native_host(
            tmp_path,
            TUCKAWAY_POCKET_URL=service.url,
            TUCKAWAY_POCKET_CONSUMER_KEY="e2e-consumer-key",
        )
        profile = tmp_path / "chromium-profile"
        register_for_chromium(profile, host.wrapper)
        async with launch_chromium(playwright, profile) as chromium:  # type: ignore[arg-type]
            # Any extension page can drive the relay; the popup opened as a tab has nothing to save.
            driver = await chromium.extension_page("popup/popup.html")
            pocket = await sign_in(chromium, driver, {"op": "login", "service": "pocket"}, True)
            assert pocket["linked"] is True, pocket
            mastodon = await sign_in(
                chromium, driver,
                {"op": "login", "service": "mastodon", "instance": standin.base_url}, False,
            )  # fmt: skip
            assert mastodon["linked"] is True, mastodon

            # Use what stores things: accounts (hello), a bookmark, default tags.
            post = standin.add_status("kept")
            await chromium.sw("() => chrome.storage.sync.set({defaultTags: ['later']})")
            hello = await driver.evaluate(
                "async () => { const { BackgroundClient } = await import('/lib/relay.js');"
                " return new BackgroundClient().hello(); }"
            )
            assert hello["accounts"]["pocket"]["linked"] and hello["accounts"]["mastodon"]["linked"]
            tab = {"id": 1, "url": standin.status_url(post)}
            done = await chromium.sw(
                "(tab) => tuckaway.onMenuClicked({menuItemId: 'bookmark-status', pageUrl: tab.url}, tab)",
                tab,
            )
            assert done["bookmarked"] is True, done

            stored = await chromium.sw(
                "async () => ({local: await chrome.storage.local.get(null),"
                " sync: await chrome.storage.sync.get(null)})"
            )

    # storage.local holds the accounts flag and the last hello's count of waiting writes
    # (a bookmark's state is asked of the server); no token, ever.
    assert stored["local"] == {"mastodonLinked": True, "pendingAtHello": 0}
    assert stored["sync"] == {"defaultTags": ["later"]}

    secrets = keyring_secrets(Path(host.env["TUCKAWAY_TEST_KEYRING_FILE"]))
    secrets |= set(standin.tokens) | {app.client_secret for app in standin.apps.values()}
    assert len(secrets) >= 3, "the sign-ins stored tokens in the keyring"
    dump = json.dumps(stored)
    assert not [s for s in secrets if s in dump], "a token is in the extension's storage"
    for area in ("local", "sync"):
        for path, value in leaves(stored[area]):
            assert not SECRET_KEY.search(path), f"storage.{area}{path}"
            if isinstance(value, str):
                assert not TOKEN_LIKE.match(value), (
                    f"storage.{area}{path} looks like a token: {value!r}"
                )
