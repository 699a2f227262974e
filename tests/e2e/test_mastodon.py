"""A linked Mastodon account (the stand-in, tests/support/mastodon_standin.py):
the bookmark menu items bookmark the post, and the popup's toggle shows the
post's real state, asked of the server in one `bookmark_state` call (the
status itself, which says `bookmarked`), and turns it off."""

from __future__ import annotations

import pytest

from support.mastodon_standin import MastodonStandIn

from .cdp import TargetClient
from .chromium import Chromium
from .harness import NativeHost, eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
def linked(native_host: NativeHost, standin: MastodonStandIn) -> MastodonStandIn:
    """The host's Mastodon account is the stand-in's user (signed in with PKCE, as a user is)."""
    standin.link(native_host.env)
    return standin


async def bookmark_button(popup: TargetClient) -> tuple[str, str, bool]:
    text, pressed, disabled = await popup.evaluate(
        "(() => { const b = document.querySelector('#bookmark');"
        " return [b.textContent, b.getAttribute('aria-pressed'), b.disabled]; })()"
    )
    return str(text), str(pressed), bool(disabled)


async def wait_button(popup: TargetClient, text: str) -> tuple[str, str, bool]:
    async def shown() -> tuple[str, str, bool] | None:
        state = await bookmark_button(popup)
        return state if state[0] == text and not state[2] else None

    found: tuple[str, str, bool] = await eventually(
        shown, timeout=20, what=f"the toggle to say {text}"
    )
    return found


async def test_bookmark_menu_items_and_the_popup_toggle(
    linked: MastodonStandIn, chromium: Chromium, native_host: NativeHost
) -> None:
    on_page = linked.add_status("a post bookmarked from its own page")
    by_link = linked.add_status("a post bookmarked from a link to it")
    page_url, link_url = linked.status_url(on_page), linked.status_url(by_link)

    # The page item on the post's page, the link item on a link to the other post.
    tab = await chromium.sw(
        "async () => (await chrome.tabs.query({active: true, lastFocusedWindow: true}))[0]"
    )
    for info in (
        {"menuItemId": "bookmark-status", "pageUrl": page_url, "frameId": 0},
        {"menuItemId": "bookmark-status-link", "linkUrl": link_url,
         "pageUrl": linked.base_url + "/home", "frameId": 0},
    ):  # fmt: skip
        result = await chromium.sw(
            "([info, tab]) => tuckaway.onMenuClicked(info, tab)",
            [info, {**tab, "url": info["pageUrl"]}],
        )
        assert isinstance(result, dict) and result.get("bookmarked") is True, result
    assert linked.bookmarked_ids() == [by_link.id, on_page.id]

    # The popup asks the server about this one post: its status, not the bookmarks list.
    status_path = f"/api/v1/statuses/{on_page.id}"
    assert not linked.requests_to(status_path, "GET")
    page = await chromium.open(page_url)
    popup = await chromium.click_action(page)
    # the popup shows its Mastodon section once it has read that an account is linked
    await eventually(
        lambda: popup.evaluate("!document.querySelector('#mastodon').hidden"),
        what="the popup's Mastodon section",
    )
    assert await wait_button(popup, "Bookmarked") == ("Bookmarked", "true", False)
    assert len(linked.requests_to(status_path, "GET")) == 1, "one bookmark_state call"
    assert not linked.requests_to("/api/v1/bookmarks", "GET"), "no paging through the bookmarks"
    assert await popup.evaluate("document.querySelector('#mastodon-message').hidden") is True

    await popup.evaluate("document.querySelector('#bookmark').click()")
    assert await wait_button(popup, "Bookmark") == ("Bookmark", "false", False)
    await eventually(lambda: linked.bookmarked_ids() == [by_link.id], what="the unbookmark")

    # Opened again, the popup shows the post as it now is.
    again = await chromium.click_action(page)
    assert await wait_button(again, "Bookmark") == ("Bookmark", "false", False)
    await again.evaluate("document.querySelector('#bookmark').click()")
    assert await wait_button(again, "Bookmarked") == ("Bookmarked", "true", False)
    await eventually(lambda: on_page.id in linked.bookmarked_ids(), what="the bookmark again")


async def test_a_bookmark_state_error_has_the_mastodon_line_and_leaves_the_save_alone(
    linked: MastodonStandIn, chromium: Chromium, native_host: NativeHost
) -> None:
    post = linked.add_status("a post whose server is busy")
    linked.rate_limit(method="GET", path=f"/api/v1/statuses/{post.id}", retry_after=30)
    page = await chromium.open(linked.status_url(post))
    popup = await chromium.click_action(page)

    async def shown() -> list[object] | None:
        seen = await popup.evaluate(
            "(() => { const m = document.querySelector('#mastodon-message');"
            " const d = document.querySelector('#detail');"
            " return [m.hidden ? '' : m.textContent, d.hidden ? '' : d.textContent,"
            " document.querySelector('#popup').dataset.state,"
            " document.querySelector('#status-text').textContent]; })()"
        )
        return list(seen) if seen[0] and seen[2] == "saved" else None

    message, detail, _, status = await eventually(
        shown, timeout=20, what="the bookmark state's error and the save"
    )
    assert message == "The service is busy. Try again in 30 s.", message
    assert (detail, status) == ("", "Saved")
    assert await bookmark_button(popup) == ("Bookmark", "false", False)
    assert native_host.item(linked.status_url(post)) is not None
