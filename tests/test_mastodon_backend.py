"""Bookmarks through the real host process, against the Mastodon 4.x stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import testkeyring

from support.hostproc import HostProcess
from support.mastodon_standin import MastodonStandIn
from tuckaway.accounts.credentials import KeyringUnavailable, MastodonCredentials
from tuckaway.context import Context
from tuckaway.errors import Unavailable
from tuckaway.services.base import Retry, Write
from tuckaway.services.mastodon.backend import MastodonBackend
from tuckaway.settings import Settings


@pytest.fixture
def mhost(mastodon_env: dict[str, str]) -> Iterator[HostProcess]:
    with HostProcess(mastodon_env) as proc:
        yield proc


@pytest.mark.parametrize(
    ("param", "extra"),
    [("max_id", {}), ("older_than", {}), ("older_than", {"filter": "f" * 80})],
    ids=["max_id", "other-cursor", "long-query"],
)
def test_bookmarks_page_through_45_in_bookmark_order_without_gaps_or_repeats(
    mhost: HostProcess, standin: MastodonStandIn, param: str, extra: dict[str, str]
) -> None:
    standin.cursor_param, standin.cursor_extra = param, extra
    posts = [standin.add_status(f"post {n}") for n in range(45)]
    for post in reversed(posts):  # bookmark order differs from posting order
        standin.bookmark(post.id)
    seen: list[str] = []
    sizes: list[int] = []
    max_id = None
    for n in range(10):
        request = {"id": n, "op": "bookmarks", "limit": 20}
        if max_id is not None:
            request["max_id"] = max_id
        reply = mhost.request(request)
        assert reply["ok"] is True, reply
        statuses = reply["result"]["statuses"]
        sizes.append(len(statuses))
        seen += [s["id"] for s in statuses]
        max_id = reply["result"]["next_max_id"]
        if max_id is None:
            break
    assert sizes == [20, 20, 5]
    assert seen == standin.bookmarked_ids() == [p.id for p in posts]
    asked = [r.query for r in standin.requests_to("/api/v1/bookmarks")]
    assert [q.get("limit") for q in asked] == ["20"] * 3
    assert all(q.get(param) is None or int(q[param]) < 6000 for q in asked)  # bookmark ids
    assert all(q.items() >= extra.items() for q in asked[1:])  # the next link's whole query


def test_bookmarks_trim_each_status_to_the_protocol_fields(
    mhost: HostProcess, standin: MastodonStandIn
) -> None:
    post = standin.add_status(content_html="<p>Hi <b>there</b><script>x()</script></p>" + "y" * 900)
    standin.bookmark(post.id)
    reply = mhost.request({"id": 1, "op": "bookmarks"})
    (status,) = reply["result"]["statuses"]
    assert set(status) == {"id", "url", "created_at", "acct", "text"}
    assert status["id"] == post.id and status["acct"] == "alice"
    assert status["url"] == f"{standin.base_url}/@alice/{post.id}"
    assert status["text"].startswith("Hi there") and "<" not in status["text"]
    assert len(status["text"]) <= 500
    assert reply["result"]["next_max_id"] is None


def test_a_page_of_huge_statuses_stays_far_under_the_reply_limit(
    mhost: HostProcess, standin: MastodonStandIn
) -> None:
    for n in range(40):
        post = standin.add_status(
            content_html="<p>" + "<b>word</b> " * 6000 + "</p>",
            extra={
                "id": f"{n:02d}" + "9" * 30_000,
                "url": "https://m.example/@a/" + "u" * 30_000,
                "account": {"acct": "a" * 30_000 + "@m.example"},
                "created_at": "2024-05-01T12:00:00.000Z" + "z" * 10_000,
            },
        )
        standin.bookmark(post.id)
    reply = mhost.request({"id": 1, "op": "bookmarks", "limit": 40}, 30)

    assert reply["ok"] is True, reply["error"]
    assert len(json.dumps(reply)) < 256 * 1024
    statuses = reply["result"]["statuses"]
    assert len(statuses) == 40
    for status in statuses:
        assert len(status["id"]) <= 64 and len(status["acct"]) <= 300
        assert len(status["created_at"]) <= 64 and len(status["text"]) <= 500
        # a url too long to use gives way to the status's uri
        assert status["url"].startswith(f"{standin.base_url}/users/alice/statuses/")


def test_a_page_cursor_the_host_never_gave_out_is_an_invalid_request(mhost: HostProcess) -> None:
    for cursor in ("~#0123456789abcdef", "~***"):
        reply = mhost.request({"id": cursor, "op": "bookmarks", "max_id": cursor})
        assert reply["ok"] is False and reply["error"]["code"] == "invalid_request"
        assert reply["error"]["fields"][0]["loc"] == "max_id"


def test_empty_bookmarks_have_no_cursor(mhost: HostProcess) -> None:
    reply = mhost.request({"id": 1, "op": "bookmarks"})
    assert reply == {"id": 1, "ok": True, "result": {"statuses": [], "next_max_id": None}}


def test_bookmark_by_id_is_queued_then_answered(
    mhost: HostProcess, standin: MastodonStandIn
) -> None:
    post = standin.add_status()
    mhost.send({"id": "b", "op": "bookmark", "status_id": post.id})
    assert mhost.recv_for("b", final=False) == {"id": "b", "event": "queued"}
    reply = mhost.recv_for("b")
    assert reply["result"] == {
        "status_id": post.id,
        "url": standin.status_url(post),
        "bookmarked": True,
    }
    assert standin.bookmarked_ids() == [post.id]


@pytest.mark.parametrize(
    "form", ["/@alice/{id}", "/@bob@elsewhere.example/{id}", "/web/statuses/{id}"]
)
def test_bookmark_by_local_url(mhost: HostProcess, standin: MastodonStandIn, form: str) -> None:
    post = standin.add_status()
    url = standin.base_url + form.format(id=post.id)
    reply = mhost.request({"id": 1, "op": "bookmark", "status_url": url})
    assert reply["ok"] is True and reply["result"]["status_id"] == post.id
    assert standin.bookmarked_ids() == [post.id]
    assert standin.requests_to("/api/v2/search") == []


def test_bookmark_by_remote_url_resolves_it_on_the_own_server(
    mhost: HostProcess, standin: MastodonStandIn
) -> None:
    remote = standin.add_remote_status("https://other.example/@bob/1234")
    reply = mhost.request(
        {"id": 1, "op": "bookmark", "status_url": "https://other.example/@bob/1234"}
    )
    assert reply["result"] == {
        "status_id": remote.id,
        "url": "https://other.example/@bob/1234",
        "bookmarked": True,
    }
    assert standin.requests_to("/api/v2/search")[0].query["resolve"] == "true"
    assert standin.bookmarked_ids() == [remote.id]


def test_unbookmark_removes_the_bookmark(mhost: HostProcess, standin: MastodonStandIn) -> None:
    post = standin.add_status()
    standin.bookmark(post.id)
    reply = mhost.request({"id": 1, "op": "unbookmark", "status_id": post.id})
    assert reply["result"] == {
        "status_id": post.id,
        "url": standin.status_url(post),
        "bookmarked": False,
    }
    assert standin.bookmarked_ids() == []


def test_bookmark_state_tells_whether_a_post_is_bookmarked_in_one_call(
    mhost: HostProcess, standin: MastodonStandIn
) -> None:
    post = standin.add_status()
    url = standin.base_url + f"/@alice/{post.id}"
    before = mhost.request({"id": 1, "op": "bookmark_state", "status_url": url})
    assert before["result"] == {
        "status_id": post.id, "url": standin.status_url(post), "bookmarked": False,
    }
    standin.bookmark(post.id)
    after = mhost.request({"id": 2, "op": "bookmark_state", "status_id": post.id})
    assert after["result"]["bookmarked"] is True
    assert len(standin.requests_to(f"/api/v1/statuses/{post.id}")) == 2
    assert standin.requests_to("/api/v1/bookmarks") == []


def test_bookmark_state_of_a_remote_post_resolves_it_on_the_own_server(
    mhost: HostProcess, standin: MastodonStandIn
) -> None:
    remote = standin.add_remote_status("https://other.example/@bob/99")
    standin.bookmark(remote.id)
    reply = mhost.request(
        {"id": 1, "op": "bookmark_state", "status_url": "https://other.example/@bob/99"}
    )
    assert reply["result"] == {
        "status_id": remote.id, "url": "https://other.example/@bob/99", "bookmarked": True,
    }
    missing = mhost.request(
        {"id": 2, "op": "bookmark_state", "status_url": "https://nowhere.example/@x/1"}
    )
    assert missing["ok"] is False and missing["error"]["code"] == "not_found"


def test_bookmark_state_without_an_account_is_not_linked(host: HostProcess) -> None:
    reply = host.request({"id": 1, "op": "bookmark_state", "status_id": "1"})
    assert reply["ok"] is False and reply["error"]["code"] == "not_linked"


def test_missing_status_is_not_found(mhost: HostProcess, standin: MastodonStandIn) -> None:
    reply = mhost.request({"id": 1, "op": "bookmark", "status_id": "404404"})
    assert reply["ok"] is False and reply["error"]["code"] == "not_found"
    unknown = mhost.request(
        {"id": 2, "op": "bookmark", "status_url": "https://nowhere.example/@x/77"}
    )
    assert unknown["ok"] is False and unknown["error"]["code"] == "not_found"


def test_rejected_token_is_auth_failed_and_the_write_stays_held(
    mhost: HostProcess, standin: MastodonStandIn
) -> None:
    post = standin.add_status()
    standin.tokens.clear()
    reply = mhost.request({"id": 1, "op": "bookmark", "status_id": post.id})
    assert reply["ok"] is False and reply["error"]["code"] == "auth_failed"
    assert standin.access_token not in str(reply)
    assert mhost.request({"id": 2, "op": "hello"})["result"]["pending"] == 1
    listed = mhost.request({"id": 3, "op": "bookmarks"})
    assert listed["ok"] is False and listed["error"]["code"] == "auth_failed"


def test_rate_limited_bookmark_is_retried_then_answered(
    mhost: HostProcess, standin: MastodonStandIn
) -> None:
    post = standin.add_status()
    standin.rate_limit(reset_in=None, retry_after=1, path="/api/v1/statuses")
    mhost.send({"id": "r", "op": "bookmark", "status_id": post.id})
    assert mhost.recv_for("r", final=False)["event"] == "queued"
    retrying = mhost.recv_for("r", final=False)
    assert retrying == {"id": "r", "event": "retrying", "reason": "rate_limited", "retry_after": 1}
    reply = mhost.recv_for("r", timeout=20)
    assert reply["ok"] is True and reply["result"]["bookmarked"] is True
    assert len(standin.requests_to(f"/api/v1/statuses/{post.id}/bookmark")) == 2


def test_failing_server_is_retried_as_unavailable(
    mhost: HostProcess, standin: MastodonStandIn
) -> None:
    post = standin.add_status()
    standin.inject(503, path="/api/v1/statuses", headers={"Retry-After": "1"})
    mhost.send({"id": "u", "op": "bookmark", "status_id": post.id})
    mhost.recv_for("u", final=False)
    retrying = mhost.recv_for("u", final=False)
    assert retrying["event"] == "retrying" and retrying["reason"] == "unavailable"
    assert mhost.recv_for("u", timeout=20)["ok"] is True


def test_rate_limited_read_answers_rate_limited_with_retry_after(
    mhost: HostProcess, standin: MastodonStandIn
) -> None:
    standin.rate_limit(reset_in=None, retry_after=30, path="/api/v1/bookmarks")
    reply = mhost.request({"id": 1, "op": "bookmarks"})
    assert reply["error"]["code"] == "rate_limited" and reply["error"]["retry_after"] == 30


async def test_keyring_errors_while_reading_the_token_wait_instead_of_failing(
    home: Path, tmp_path: Path, standin: MastodonStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = standin.add_status()
    with testkeyring.in_process(tmp_path / "keyring.json"):
        ctx = Context.open(Settings.load({"TUCKAWAY_HOME": str(home)}))
        try:
            ctx.credentials.save_mastodon(
                MastodonCredentials(standin.base_url, standin.access_token, "alice")
            )

            def locked() -> None:
                raise KeyringUnavailable("the keyring is locked")

            monkeypatch.setattr(ctx.credentials, "mastodon", locked)
            outcomes = await MastodonBackend(ctx).deliver(
                [
                    Write(1, "bookmark", {"status_id": post.id}),
                    Write(2, "unbookmark", {"status_id": post.id}),
                ]
            )
            for outcome in outcomes:
                assert isinstance(outcome, Retry) and outcome.reason == "unavailable"
                assert "keyring is unavailable" in outcome.message
            with pytest.raises(Unavailable, match="keyring is unavailable"):
                await ctx.read("bookmarks")  # every read op's way in
            with pytest.raises(Unavailable, match="keyring is unavailable"):
                await ctx.read("bookmark_state", status_id=post.id)
        finally:
            await ctx.aclose()
    assert standin.requests == []


def test_a_write_after_an_answer_that_used_up_the_allowance_waits_for_the_reset(
    mhost: HostProcess, standin: MastodonStandIn
) -> None:
    first, second = standin.add_status(), standin.add_status()
    standin.exhaust(reset_in=3, path="/api/v1/statuses")
    assert mhost.request({"id": 1, "op": "bookmark", "status_id": first.id})["ok"] is True
    mhost.send({"id": 2, "op": "bookmark", "status_id": second.id})
    assert mhost.recv_for(2, final=False)["event"] == "queued"
    retrying = mhost.recv_for(2, final=False)
    assert retrying["event"] == "retrying" and retrying["reason"] == "rate_limited"
    assert 1 <= retrying["retry_after"] <= 4
    assert len(standin.requests_to("/api/v1/statuses")) == 1  # not sent before the reset
    assert mhost.recv_for(2, timeout=20)["ok"] is True
    assert standin.bookmarked_ids() == [second.id, first.id]


def test_a_read_after_an_answer_that_used_up_the_allowance_is_rate_limited(
    mhost: HostProcess, standin: MastodonStandIn
) -> None:
    standin.exhaust(reset_in=30, path="/api/v1/bookmarks")
    assert mhost.request({"id": 1, "op": "bookmarks"})["ok"] is True
    reply = mhost.request({"id": 2, "op": "bookmarks"})
    assert reply["ok"] is False and reply["error"]["code"] == "rate_limited"
    assert 25 <= reply["error"]["retry_after"] <= 30
    assert len(standin.requests_to("/api/v1/bookmarks")) == 1


def test_long_cursors_of_two_host_processes_paging_at_once_are_both_kept(home: Path) -> None:
    from tuckaway.services.mastodon.backend import _store_cursor, _stored_query

    settings = Settings.load({"TUCKAWAY_HOME": str(home)})
    one, two = Context.open(settings), Context.open(settings)  # two processes, one database
    _store_cursor(one, "~#a", "older_than=1&filter=x")
    _store_cursor(two, "~#b", "older_than=2&filter=y")
    assert _stored_query(one, "~#b") == "older_than=2&filter=y"
    assert _stored_query(two, "~#a") == "older_than=1&filter=x"
    for n in range(205):  # only the newest 200 are kept
        _store_cursor(one, f"~#n{n}", f"older_than={n}")
    assert _stored_query(one, "~#a") is None
    assert _stored_query(one, "~#n4") is None
    assert _stored_query(two, "~#n5") == "older_than=5"


# -- scopes (issue 16) ----------------------------------------------------------------

#: what Tuckaway asked for before it asked for read:statuses
OLD_SCOPES = "read:bookmarks write:bookmarks read:search read:accounts"


def test_the_sign_in_is_granted_exactly_the_scopes_it_asks_for(
    mastodon_env: dict[str, str], standin: MastodonStandIn
) -> None:
    # mastodon_env signed in through `tuckaway login mastodon` (app, PKCE, token)
    (token,) = [t for t in standin.tokens.values() if t.token == standin.access_token]
    assert token.scope.split() == [
        "read:bookmarks", "write:bookmarks", "read:search", "read:accounts", "read:statuses",
    ]
    (app,) = standin.apps.values()
    assert app.scopes == token.scope
    (exchange,) = standin.requests_to("/oauth/token")
    assert "code_verifier=" in exchange.body


@pytest.mark.parametrize("given", ["id", "local_url"])
def test_bookmark_state_for_a_sign_in_without_read_statuses_asks_the_search(
    env: dict[str, str], standin: MastodonStandIn, given: str
) -> None:
    standin.link_token(env, OLD_SCOPES)
    post = standin.add_status(username="carol")
    marked = standin.add_status(username="carol")
    standin.bookmark(marked.id)
    with HostProcess(env) as host:
        answers = []
        for n, status in enumerate((post, marked, post)):
            ask: dict[str, object] = {"id": n, "op": "bookmark_state"}
            if given == "id":
                ask["status_id"] = status.id
            else:
                ask["status_url"] = f"{standin.base_url}/web/statuses/{status.id}"
            reply = host.request(ask)
            assert reply["ok"] is True, reply
            answers.append(reply["result"])
    assert answers == [
        {"status_id": post.id, "url": standin.status_url(post), "bookmarked": False},
        {"status_id": marked.id, "url": standin.status_url(marked), "bookmarked": True},
        {"status_id": post.id, "url": standin.status_url(post), "bookmarked": False},
    ]
    # one refused status read, then only the search (the refusal is remembered)
    assert len(standin.requests_to("/api/v1/statuses/")) == 1
    searches = standin.requests_to("/api/v2/search")
    assert len(searches) == 3 and all(s.query["resolve"] == "true" for s in searches)
    assert searches[0].query["q"] == f"{standin.base_url}/@alice/{post.id}"


def test_a_sign_in_without_read_statuses_still_bookmarks_and_lists(
    env: dict[str, str], standin: MastodonStandIn
) -> None:
    standin.link_token(env, OLD_SCOPES)
    post = standin.add_status()
    with HostProcess(env) as host:
        marked = host.request({"id": 1, "op": "bookmark", "status_id": post.id})
        listed = host.request({"id": 2, "op": "bookmarks"})
    assert marked["ok"] is True and marked["result"]["bookmarked"] is True
    assert [s["id"] for s in listed["result"]["statuses"]] == [post.id]


def test_a_token_without_the_bookmark_scopes_is_refused_as_action_failed(
    env: dict[str, str], standin: MastodonStandIn
) -> None:
    standin.link_token(env, "read:accounts read:statuses read:search")
    post = standin.add_status()
    with HostProcess(env) as host:
        marked = host.request({"id": 1, "op": "bookmark", "status_id": post.id})
        listed = host.request({"id": 2, "op": "bookmarks"})
    assert marked["ok"] is False and marked["error"]["code"] == "action_failed"
    assert "outside the authorized scopes" in marked["error"]["message"]
    assert listed["ok"] is False and listed["error"]["code"] == "action_failed"
    assert standin.bookmarked_ids() == []


def test_unbookmarking_a_deleted_post_succeeds_as_not_bookmarked(
    mhost: HostProcess, standin: MastodonStandIn
) -> None:
    post = standin.add_status()
    del standin.statuses[post.id]  # deleted on the server (its bookmark went with it)
    reply = mhost.request({"id": 1, "op": "unbookmark", "status_id": post.id})
    assert reply == {
        "id": 1, "ok": True,
        "result": {"status_id": post.id, "url": None, "bookmarked": False},
    }
    (asked,) = standin.requests_to(f"/api/v1/statuses/{post.id}/unbookmark")
    assert asked.method == "POST"
    gone = mhost.request({"id": 2, "op": "bookmark", "status_id": post.id})
    assert gone["ok"] is False and gone["error"]["code"] == "not_found"  # bookmarking: no


@pytest.mark.parametrize("page", ["/@alice/media", "/@alice/with_replies", "/@alice/followers"])
def test_an_account_page_of_the_own_server_is_no_post(
    mhost: HostProcess, standin: MastodonStandIn, page: str
) -> None:
    reply = mhost.request({"id": 1, "op": "bookmark", "status_url": standin.base_url + page})
    assert reply["ok"] is False and reply["error"]["code"] == "not_found"
    assert [r.path for r in standin.requests_to("/api/v1/statuses")] == []  # no id "media"
    assert standin.requests_to("/api/v2/search")[0].query["q"] == standin.base_url + page
