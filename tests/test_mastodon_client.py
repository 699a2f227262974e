"""The Mastodon client against the 4.x stand-in on 127.0.0.1, in process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import testkeyring

from support.mastodon_standin import MastodonStandIn
from tuckaway.accounts.credentials import MastodonCredentials
from tuckaway.context import Context
from tuckaway.errors import ActionFailed, AuthFailed, NotFound, NotLinked, RateLimited
from tuckaway.services.mastodon.client import (
    Forbidden,
    MastodonClient,
    ServiceUnavailable,
    Status,
    Unprocessable,
    html_to_text,
    local_status_id,
    retry_after_of,
)
from tuckaway.settings import Settings


@pytest.fixture
async def standin() -> AsyncIterator[MastodonStandIn]:
    async with MastodonStandIn() as m:
        yield m


@pytest.fixture
async def ctx(home: Path, tmp_path: Path) -> AsyncIterator[Context]:
    with testkeyring.in_process(tmp_path / "keyring.json"):
        context = Context.open(
            Settings.load({"TUCKAWAY_HOME": str(home), "TUCKAWAY_REQUEST_TIMEOUT_S": "2"})
        )
        yield context
        await context.aclose()


@pytest.fixture
async def client(ctx: Context, standin: MastodonStandIn) -> MastodonClient:
    ctx.credentials.save_mastodon(
        MastodonCredentials(standin.base_url, standin.access_token, "alice")
    )
    return await MastodonClient.for_context(ctx)


async def test_client_without_an_account_is_not_linked(ctx: Context) -> None:
    with pytest.raises(NotLinked):
        await MastodonClient.for_context(ctx)


async def test_bookmark_sends_the_bearer_token_and_reads_the_status(
    client: MastodonClient, standin: MastodonStandIn
) -> None:
    post = standin.add_status("hi <there>", card_url="https://example.org/a")
    status = await client.bookmark(post.id)
    assert status.id == post.id and status.bookmarked is True
    assert status.card is not None and status.card.url == "https://example.org/a"
    assert standin.requests_to("/api/v1/statuses")[-1].bearer == standin.access_token
    assert standin.bookmarked_ids() == [post.id]
    assert (await client.unbookmark(post.id)).bookmarked is False
    assert standin.bookmarked_ids() == []


async def test_missing_status_is_not_found(client: MastodonClient) -> None:
    with pytest.raises(NotFound):
        await client.bookmark("999")


async def test_invalid_token_is_auth_failed(
    client: MastodonClient, standin: MastodonStandIn
) -> None:
    standin.tokens.clear()
    with pytest.raises(AuthFailed) as caught:
        await client.bookmarks()
    assert standin.access_token not in caught.value.message


async def test_a_revoked_token_gets_mastodons_real_401_on_the_bookmarks_page(
    ctx: Context, standin: MastodonStandIn
) -> None:
    standin.auto_approve = True
    redirect = "http://127.0.0.1:1/callback"
    http = await ctx.http()
    async with http.post(
        f"{standin.base_url}/api/v1/apps",
        data={"client_name": "t", "redirect_uris": redirect, "scopes": "read write"},
    ) as resp:
        app = await resp.json()
    async with http.get(
        f"{standin.base_url}/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": redirect,
            "scope": "read",
        },
        allow_redirects=False,
    ) as resp:
        code = parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]
    grant = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "redirect_uri": redirect,
    }
    async with http.post(f"{standin.base_url}/oauth/token", data=grant) as resp:
        token = (await resp.json())["access_token"]
    revoke = {"client_id": app["client_id"], "client_secret": app["client_secret"], "token": token}
    async with http.post(f"{standin.base_url}/oauth/revoke", data=revoke) as resp:
        assert resp.status == 200
    assert standin.revoked == [token]

    async with http.get(
        f"{standin.base_url}/api/v1/bookmarks", headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        assert resp.status == 401
        assert await resp.json() == {"error": "The access token is invalid"}
    with pytest.raises(AuthFailed, match="The access token is invalid") as caught:
        await MastodonClient(http, standin.base_url, token).bookmarks()
    assert token not in caught.value.message


@pytest.mark.parametrize(
    ("status", "error"),
    [(403, Forbidden), (422, Unprocessable), (500, ServiceUnavailable), (503, ServiceUnavailable)],
)
async def test_http_errors_are_typed(
    client: MastodonClient, standin: MastodonStandIn, status: int, error: type[Exception]
) -> None:
    standin.inject(status, path="/api/v1/bookmarks")
    with pytest.raises(error):
        await client.bookmarks()


async def test_rate_limit_says_when_to_come_back(
    client: MastodonClient, standin: MastodonStandIn
) -> None:
    standin.rate_limit(reset_in=120)
    with pytest.raises(RateLimited) as caught:
        await client.bookmarks()
    assert 100 <= caught.value.retry_after <= 121
    other = MastodonClient(client.http, standin.base_url, standin.issue_token())
    standin.rate_limit(reset_in=None, retry_after=7)
    with pytest.raises(RateLimited) as caught:
        await other.bookmarks()
    assert caught.value.retry_after == 7


async def test_a_429_holds_the_next_call_too_until_the_wait_is_over(
    client: MastodonClient, standin: MastodonStandIn
) -> None:
    standin.rate_limit(reset_in=None, retry_after=30)
    with pytest.raises(RateLimited):
        await client.bookmarks()
    again = MastodonClient(client.http, standin.base_url, standin.access_token)
    with pytest.raises(RateLimited) as caught:
        await again.bookmark("1")
    assert 25 <= caught.value.retry_after <= 30
    assert len(standin.requests) == 1  # the server said stop: it was not asked again


async def test_an_answer_that_uses_up_the_allowance_holds_the_next_call_until_the_reset(
    client: MastodonClient, standin: MastodonStandIn
) -> None:
    post = standin.add_status()
    standin.exhaust(reset_in=20, path="/api/v1/statuses")
    assert (await client.bookmark(post.id)).bookmarked is True
    with pytest.raises(RateLimited, match="rate limit") as caught:
        await client.bookmarks()
    assert 15 <= caught.value.retry_after <= 20
    assert len(standin.requests) == 1
    # another token has its own allowance
    other = MastodonClient(client.http, standin.base_url, standin.issue_token())
    assert [s.id for s in (await other.bookmarks()).statuses] == [post.id]


async def test_an_allowance_left_or_a_reset_passed_does_not_hold_anything(
    client: MastodonClient, standin: MastodonStandIn
) -> None:
    standin.exhaust(reset_in=-5, path="/api/v1/bookmarks")
    await client.bookmarks()
    await asyncio.sleep(1.1)  # a reset in the past still waits the 1 s minimum
    await client.bookmarks()
    await client.bookmarks()  # the stand-in's usual answers have 299 left
    assert len(standin.requests) == 3


async def test_slow_server_is_unavailable(client: MastodonClient, standin: MastodonStandIn) -> None:
    standin.inject(None, delay=3.0, path="/api/v1/bookmarks")
    with pytest.raises(ServiceUnavailable):
        await client.bookmarks()


async def test_pages_follow_the_link_header_with_bookmark_ids(
    client: MastodonClient, standin: MastodonStandIn
) -> None:
    for n in range(5):
        standin.bookmark(standin.add_status(f"post {n}").id)
    first = await client.bookmarks(limit=3)
    assert [s.id for s in first.statuses] == standin.bookmarked_ids()[:3]
    assert first.next_max_id is not None
    assert first.next_max_id == str(sorted(standin.bookmarks, reverse=True)[2])
    second = await client.bookmarks(limit=3, max_id=first.next_max_id)
    assert [s.id for s in second.statuses] == standin.bookmarked_ids()[3:]
    assert second.next_max_id is None


async def test_pages_follow_the_next_link_as_given_whatever_its_cursor_is_called(
    client: MastodonClient, standin: MastodonStandIn
) -> None:
    standin.cursor_param = "older_than"
    standin.cursor_extra = {"exclude": "reblogs"}
    for n in range(5):
        standin.bookmark(standin.add_status(f"post {n}").id)
    first = await client.bookmarks(limit=3)
    assert first.next_url is not None and first.next_max_id is None
    second = await client.bookmarks(url=first.next_url)
    assert [s.id for s in first.statuses + second.statuses] == standin.bookmarked_ids()
    assert second.next_url is None
    asked = standin.requests_to("/api/v1/bookmarks")[-1].query
    assert asked == {
        "limit": "3",
        "exclude": "reblogs",
        "older_than": str(sorted(standin.bookmarks)[2]),
    }


async def test_a_next_link_to_another_server_is_not_followed(
    client: MastodonClient, standin: MastodonStandIn
) -> None:
    standin.next_base = "http://127.0.0.2:9"
    for n in range(3):
        standin.bookmark(standin.add_status(f"post {n}").id)
    page = await client.bookmarks(limit=2)
    assert len(page.statuses) == 2 and page.next_url is None and page.next_max_id is None
    with pytest.raises(ActionFailed, match="another server"):
        await client.bookmarks(url="http://127.0.0.2:9/api/v1/bookmarks?max_id=1")
    assert all(r.path == "/api/v1/bookmarks" for r in standin.requests)


async def test_a_full_last_page_is_followed_by_an_empty_one_without_cursor(
    client: MastodonClient, standin: MastodonStandIn
) -> None:
    for n in range(2):
        standin.bookmark(standin.add_status(f"post {n}").id)
    first = await client.bookmarks(limit=2)
    assert first.next_max_id is not None
    empty = await client.bookmarks(limit=2, max_id=first.next_max_id)
    assert empty.statuses == [] and empty.next_max_id is None


async def test_resolve_reads_ids_from_local_urls(
    client: MastodonClient, standin: MastodonStandIn
) -> None:
    post = standin.add_status()
    base = standin.base_url
    for url in (
        f"{base}/@alice/{post.id}",
        f"{base}/@bob@other.example/{post.id}",
        f"{base}/web/statuses/{post.id}",
    ):
        assert await client.resolve(status_url=url) == post.id
    assert standin.requests_to("/api/v2/search") == []


async def test_resolve_asks_the_server_about_remote_urls(
    client: MastodonClient, standin: MastodonStandIn
) -> None:
    remote = standin.add_remote_status("https://other.example/@bob/1234")
    assert await client.resolve(status_url="https://other.example/@bob/1234") == remote.id
    search = standin.requests_to("/api/v2/search")[-1]
    assert search.query["resolve"] == "true" and search.query["type"] == "statuses"
    with pytest.raises(NotFound):
        await client.resolve(status_url="https://nowhere.example/@x/1")


def test_local_status_id_only_for_the_own_server() -> None:
    assert local_status_id("https://m.example", "https://m.example/@a/123") == "123"
    assert local_status_id("https://m.example", "https://M.example:443/@a@b.c/9/") == "9"
    assert local_status_id("https://m.example", "https://other.example/@a/123") is None
    assert local_status_id("https://m.example", "https://m.example/about") is None
    assert local_status_id("https://m.example", "https://m.example/notice/AbC9") == "AbC9"


@pytest.mark.parametrize(
    "path",
    ["/@bob/media", "/@bob/with_replies", "/@bob/followers", "/@bob/following",
     "/@bob@b.c/media", "/web/statuses/abc", "/users/bob/statuses/x1", "/@bob/tagged"],
)  # fmt: skip
def test_account_pages_and_other_non_numeric_paths_are_no_post(path: str) -> None:
    assert local_status_id("https://m.example", "https://m.example" + path) is None


#: each endpoint Tuckaway calls, and the one scope of Tuckaway's it needs
ENDPOINT_SCOPES = [
    ("GET", "/api/v1/statuses/{id}", "read:statuses"),
    ("POST", "/api/v1/statuses/{id}/bookmark", "write:bookmarks"),
    ("POST", "/api/v1/statuses/{id}/unbookmark", "write:bookmarks"),
    ("GET", "/api/v1/bookmarks", "read:bookmarks"),
    ("GET", "/api/v2/search?q=x&resolve=true", "read:search"),
    ("GET", "/api/v1/accounts/verify_credentials", "read:accounts"),
]


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINT_SCOPES)
async def test_the_stand_in_asks_each_endpoint_s_scope_as_mastodon_does(
    ctx: Context, standin: MastodonStandIn, method: str, path: str, scope: str
) -> None:
    post = standin.add_status()
    url = standin.base_url + path.format(id=post.id)
    http = await ctx.http()
    everything_else = [s for _, _, s in ENDPOINT_SCOPES if s != scope]
    for granted, status in (
        (everything_else, 403),
        ([scope], 200),
        ([scope.split(":")[0]], 200),  # read / write cover their read:* / write:*
    ):
        auth = {"Authorization": f"Bearer {standin.issue_token(' '.join(granted))}"}
        async with http.request(method, url, headers=auth) as resp:
            assert resp.status == status, (granted, await resp.text())
            if status == 403:
                assert await resp.json() == {
                    "error": "This action is outside the authorized scopes"
                }


async def test_a_token_without_read_statuses_reads_a_status_through_the_search(
    ctx: Context, standin: MastodonStandIn
) -> None:
    post = standin.add_status(username="carol")
    standin.bookmark(post.id)
    token = standin.issue_token("read:bookmarks write:bookmarks read:search read:accounts")
    client = MastodonClient(await ctx.http(), standin.base_url, token)
    for _ in range(2):
        status = await client.read_status(post.id, "alice")
        assert status.id == post.id and status.bookmarked is True
    with pytest.raises(NotFound):
        await client.read_status("404404", "alice")
    assert len(standin.requests_to("/api/v1/statuses/")) == 1  # refused once, then not asked
    full = MastodonClient(await ctx.http(), standin.base_url, standin.access_token)
    assert (await full.read_status(post.id, "alice")).bookmarked is True
    assert len(standin.requests_to("/api/v2/search")) == 3


def test_html_is_stripped_to_plain_text() -> None:
    content = (
        '<p>Hello &amp; <a href="https://x.example"><span class="invisible">https://</span>'
        "x.example</a></p><p>line<br>two<script>alert(1)</script></p>"
    )
    assert html_to_text(content) == "Hello & https://x.example\n\nline\ntwo"


def test_html_longer_than_the_cap_is_cut_before_it_is_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tuckaway.services.mastodon import client as mastodon_client

    fed: list[int] = []
    feed = mastodon_client._TextOf.feed

    def counting(self: mastodon_client._TextOf, data: str) -> None:
        fed.append(len(data))
        feed(self, data)

    monkeypatch.setattr(mastodon_client._TextOf, "feed", counting)
    text = html_to_text("<p>start</p>" + "<i>x</i>" * 2_000_000)
    assert text.startswith("start") and sum(fed) <= mastodon_client.HTML_CAP
    spoiler = Status.model_validate(
        {"id": "1", "account": {"id": "1"}, "content": "", "spoiler_text": "s" * 100_000}
    )
    assert len(spoiler.plain_text()) <= 500


def test_models_tolerate_forks() -> None:
    status = Status.model_validate(
        {
            "id": 42,
            "url": None,
            "uri": "https://f.example/objects/42",
            "created_at": "2024-01-01T00:00:00Z",
            "account": {"id": 7, "acct": "z@f.example", "pleroma": {}},
            "content": None,
            "spoiler_text": "spoiler",
            "card": {"url": ""},
            "pleroma": {"local": False},
        }
    )
    assert status.id == "42" and status.account.id == "7"
    assert status.link == "https://f.example/objects/42"
    assert status.card is not None and status.card.url is None
    assert status.summary()["text"] == "spoiler"
    long = Status.model_validate({"id": "1", "account": {"id": "1"}, "content": "x" * 9000})
    assert len(long.plain_text()) == 500


def test_retry_after_prefers_the_header_then_the_reset_time() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert retry_after_of({"Retry-After": "12"}, now) == 12
    assert retry_after_of({"X-RateLimit-Reset": "2024-05-01T12:01:30.000Z"}, now) == 90
    assert retry_after_of({"X-RateLimit-Reset": "2024-05-01T11:00:00.000Z"}, now) == 1
    assert retry_after_of({}, now) == 60


async def test_bookmarks_missing_on_the_server_checks_the_token_first(
    client: MastodonClient, standin: MastodonStandIn
) -> None:
    standin.inject(404, path="/api/v1/bookmarks", body="<h1>Not Found</h1>")
    with pytest.raises(NotFound, match="no Mastodon bookmarks API"):
        await client.bookmarks()
    standin.inject(404, path="/api/v1/bookmarks", body="<h1>Not Found</h1>")
    standin.tokens.clear()
    with pytest.raises(AuthFailed):
        await client.bookmarks()
