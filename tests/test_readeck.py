"""The Readeck service, end to end: the real host process and CLI against the
Readeck stand-in, whose every request and answer openapi-core checks against
Readeck's API description (:mod:`support.readeck_standin`)."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from support.hostproc import HostProcess, host_env, ok, run_cli
from support.readeck_standin import ReadeckStandin
from tuckaway.accounts.readeck_oauth import login_readeck
from tuckaway.context import Context
from tuckaway.settings import Settings

BURST = {
    "TUCKAWAY_BATCH_QUIET_MS": "1000",
    "TUCKAWAY_BATCH_MAX_DELAY_MS": "5000",
    "TUCKAWAY_REQUEST_TIMEOUT_S": "5",
}


@pytest.fixture
def rd() -> Iterator[ReadeckStandin]:
    with ReadeckStandin() as standin:
        yield standin
    assert standin.violations == []  # every request and answer fits Readeck's API description


@pytest.fixture
def env(home: Path, rd: ReadeckStandin) -> dict[str, str]:
    env = host_env(home, **BURST)
    rd.link(env)
    return env


def test_hello_and_status_name_readeck(
    host: HostProcess, env: dict[str, str], rd: ReadeckStandin
) -> None:
    hello = ok(host.request({"id": 1, "op": "hello"}))
    assert hello["backend"] == "readeck"
    assert hello["accounts"]["readeck"] == {"linked": True, "username": "rita", "instance": rd.url}
    status = run_cli(env, "status")
    assert f"readeck:   linked as rita on {rd.url}" in status.stdout


def test_saves_answer_with_the_bookmark_id_readeck_gave(
    host: HostProcess, rd: ReadeckStandin
) -> None:
    replies = host.burst(
        [
            {"id": n, "op": "save", "url": f"https://example.com/{n}", "tags": ["t"]}
            for n in range(5)
        ],
    )
    for n, reply in enumerate(replies):
        bookmark = rd.by_url(f"https://example.com/{n}")
        assert bookmark is not None and ok(reply)["item_id"] == bookmark.id
        assert bookmark.labels == ["t"]
    assert len(rd.calls("/api/bookmarks", "POST")) == 5


def test_all_changes_to_one_bookmark_in_a_batch_are_one_patch(
    host: HostProcess, rd: ReadeckStandin
) -> None:
    ok(host.request({"id": "s", "op": "save", "url": "https://example.com/a", "tags": ["old"]}, 30))
    before = len(rd.api_calls())
    replies = host.burst(
        [
            {"id": 1, "op": "archive", "url": "https://example.com/a"},
            {"id": 2, "op": "favorite", "url": "https://example.com/a"},
            {"id": 3, "op": "tags_add", "url": "https://example.com/a", "tags": ["x", "y"]},
            {"id": 4, "op": "tags_remove", "url": "https://example.com/a", "tags": ["old"]},
            {"id": 5, "op": "readd", "url": "https://example.com/a"},
        ],
    )
    assert all(r["ok"] for r in replies), replies
    (patch,) = rd.api_calls()[before:]
    assert patch.method == "PATCH"
    assert patch.body == {
        "is_archived": False,
        "is_marked": True,
        "add_labels": ["x", "y"],
        "remove_labels": ["old"],
    }
    bookmark = rd.by_url("https://example.com/a")
    assert (bookmark.is_archived, bookmark.is_marked, bookmark.labels) == (False, True, ["x", "y"])


def test_replace_and_clear_send_labels_and_delete_is_readecks(
    host: HostProcess, rd: ReadeckStandin
) -> None:
    url = "https://example.com/r"
    ok(host.request({"id": "s", "op": "save", "url": url, "tags": ["a"]}, 30))
    ok(host.request({"id": 1, "op": "tags_replace", "url": url, "tags": ["b", "c"]}, 30))
    assert rd.by_url(url).labels == ["b", "c"]
    ok(host.request({"id": 2, "op": "tags_clear", "url": url}, 30))
    assert rd.by_url(url).labels == []
    assert rd.calls(f"/api/bookmarks/{rd.by_url(url).id}", "PATCH")[-1].body == {"labels": []}
    ok(host.request({"id": 3, "op": "delete", "url": url}, 30))
    assert rd.by_url(url) is None
    lookup = ok(host.request({"id": "l", "op": "lookup", "url": url}))
    assert lookup["saved"] is False


def test_label_rename_and_delete(host: HostProcess, rd: ReadeckStandin) -> None:
    for n in range(2):
        ok(
            host.request(
                {"id": n, "op": "save", "url": f"https://example.com/l{n}", "tags": ["k"]}, 30
            )
        )
    ok(host.request({"id": "r", "op": "tag_rename", "old_tag": "k", "new_tag": "m"}, 30))
    assert all(b.labels == ["m"] for b in rd.bookmarks.values())
    assert rd.calls("/api/bookmarks/labels", "PATCH")[0].query == {"name": "k"}
    ok(host.request({"id": "d", "op": "tag_delete", "tag": "m"}, 30))
    assert all(b.labels == [] for b in rd.bookmarks.values())


def test_an_unknown_url_fails_alone_and_sync_learns_it(
    env: dict[str, str], host: HostProcess, rd: ReadeckStandin
) -> None:
    elsewhere = rd.add("https://example.com/elsewhere", title="E", labels=["z"])
    reply = host.request({"id": 1, "op": "archive", "url": "https://example.com/elsewhere"}, 30)
    assert reply["ok"] is False and reply["error"]["code"] == "unknown_item"
    done = run_cli(env, "sync", "--json")
    assert done.returncode == 0, done.stderr
    assert '"added": 1' in done.stdout
    assert ok(host.request({"id": 2, "op": "archive", "url": "https://example.com/elsewhere"}, 30))
    assert elsewhere.is_archived is True
    rd.bookmarks.pop(elsewhere.id)
    rd.deleted.append((elsewhere.id, time.time() + 5))
    again = run_cli(env, "sync", "--json")
    assert '"deleted": 1' in again.stdout


def test_a_revoked_token_holds_the_write_and_429_waits(
    env: dict[str, str], host: HostProcess, rd: ReadeckStandin
) -> None:
    rd.fail_next(429, headers={"Retry-After": "1"}, path="/api/bookmarks")
    rd.fail_next(502, path="/api/bookmarks")
    host.send({"id": 1, "op": "save", "url": "https://example.com/w"})
    assert ok(host.recv_for(1, timeout=40))
    reasons = [e.get("reason") for e in host.events_for(1) if e.get("event") == "retrying"]
    assert reasons == ["rate_limited", "unavailable"]
    rd.tokens.clear()
    reply = host.request({"id": 2, "op": "save", "url": "https://example.com/held"}, 30)
    assert reply["ok"] is False and reply["error"]["code"] == "auth_failed"
    rd.tokens.add("rd-standin-token-41c")
    rd.link(env)  # signing in again sends what was held
    assert rd.by_url("https://example.com/held") is not None


def test_a_host_killed_before_its_batch_leaves_it_for_the_next_host(
    env: dict[str, str], rd: ReadeckStandin
) -> None:
    slow = {**env, "TUCKAWAY_BATCH_QUIET_MS": "3000", "TUCKAWAY_BATCH_MAX_DELAY_MS": "6000"}
    with HostProcess(slow) as first:
        for n in range(3):
            first.send({"id": n, "op": "save", "url": f"https://example.com/k/{n}"})
        for n in range(3):
            assert first.recv_for(n, final=False)["event"] == "queued"
        first.proc.send_signal(signal.SIGKILL)
        assert first.wait() == -signal.SIGKILL
    assert not rd.bookmarks
    with HostProcess(env) as second:
        deadline = time.monotonic() + 30
        while len(rd.bookmarks) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        second.request({"id": "h", "op": "hello"})
    assert sorted(b.url for b in rd.bookmarks.values()) == [
        f"https://example.com/k/{n}" for n in range(3)
    ]


async def test_the_oauth_flow_registers_a_client_and_keeps_the_token(
    home: Path, rd: ReadeckStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in host_env(home).items():
        monkeypatch.setenv(key, value)
    ctx = Context.open(Settings.load())

    async def approve(url: str) -> None:  # the user's browser: follows the redirect
        async def follow() -> None:
            async with aiohttp.ClientSession() as browser, browser.get(url) as page:
                await page.read()

        asyncio.get_running_loop().create_task(follow())

    try:
        result = await login_readeck(ctx, rd.url, approve, 20)
        assert result == {"linked": True, "username": "rita"}
        creds = ctx.credentials.readeck()
        assert creds is not None and creds.access_token.startswith("rd-oauth-")
    finally:
        await ctx.aclose()


def test_a_second_list_service_is_refused_until_the_first_is_signed_out(
    env: dict[str, str], rd: ReadeckStandin
) -> None:
    pocket = run_cli(
        env, "login", "pocket", "--access-token-stdin", "--consumer-key", "k", input="tok\n"
    )
    assert pocket.returncode != 0
    assert "sign out of it first" in pocket.stderr and "logout readeck" in pocket.stderr
    assert run_cli(env, "logout", "readeck").returncode == 0
    again = run_cli(
        env, "login", "pocket", "--access-token-stdin", "--consumer-key", "k", input="tok\n"
    )
    assert again.returncode == 0, again.stderr
    assert '"backend": "pocket"' in run_cli(env, "status", "--json").stdout
