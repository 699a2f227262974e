"""The wallabag service, end to end: the real host process and CLI against the
wallabag stand-in (:mod:`support.wallabag_standin`, written from wallabag's
EntryRestController/TagRestController), with faults."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.hostproc import HostProcess, host_env, ok, run_cli
from support.wallabag_standin import WallabagStandin

BURST = {
    "TUCKAWAY_BATCH_QUIET_MS": "1000",  # a hundred frames stay one batch on a busy machine
    "TUCKAWAY_BATCH_MAX_DELAY_MS": "5000",
    "TUCKAWAY_REQUEST_TIMEOUT_S": "5",
}


@pytest.fixture
def wb() -> Iterator[WallabagStandin]:
    with WallabagStandin() as standin:
        yield standin


@pytest.fixture
def env(home: Path, wb: WallabagStandin) -> dict[str, str]:
    env = host_env(home, **BURST)
    wb.link(env)
    return env


def test_signing_in_keeps_the_tokens_and_never_the_password(
    env: dict[str, str], home: Path, wb: WallabagStandin
) -> None:
    keyring_file = home.parent / f"{home.name}-keyring.json"
    stored = keyring_file.read_text()
    assert wb.access_token in stored and wb.refresh_token in stored
    assert "gromit-1993" not in stored
    status = run_cli(env, "status", "--json")
    assert '"backend": "wallabag"' in status.stdout


def test_hello_names_wallabag_as_the_backend(host: HostProcess, wb: WallabagStandin) -> None:
    hello = ok(host.request({"id": 1, "op": "hello"}))
    assert hello["backend"] == "wallabag"
    assert hello["accounts"]["wallabag"] == {
        "linked": True,
        "username": "wallace",
        "instance": wb.url,
    }


def test_a_hundred_bare_saves_go_out_in_mass_adds_of_ten(
    host: HostProcess, wb: WallabagStandin
) -> None:
    urls = [f"https://example.com/p/{n}" for n in range(100)]
    replies = host.burst([{"id": n, "op": "save", "url": u} for n, u in enumerate(urls)])

    assert len(wb.calls("/api/entries/lists")) == 10
    assert len(wb.api_calls()) == 10
    for url, reply in zip(urls, replies, strict=True):
        entry = wb.by_url(url)
        assert entry is not None and ok(reply)["item_id"] == str(entry.id)


def test_a_smaller_mass_action_limit_halves_the_chunks(
    host: HostProcess, wb: WallabagStandin
) -> None:
    wb.mass_limit = 4
    urls = [f"https://example.com/q/{n}" for n in range(12)]
    replies = host.burst([{"id": n, "op": "save", "url": u} for n, u in enumerate(urls)])

    assert all(r["ok"] for r in replies)
    refused = [r for r in wb.calls("/api/entries/lists") if r.status == 400]
    assert len(refused) == 2  # 10 -> 5 -> 2 (wallabag said "API limit reached" twice)
    assert all(wb.by_url(u) for u in urls)


def test_edits_on_one_entry_become_one_patch_and_tags_one_bulk_call_each_way(
    host: HostProcess, wb: WallabagStandin
) -> None:
    ok(host.request({"id": "s", "op": "save", "url": "https://example.com/a", "title": "A"}, 30))
    ok(host.request({"id": "t", "op": "save", "url": "https://example.com/b", "title": "B"}, 30))
    before = len(wb.api_calls())
    edits = [
        {"id": 1, "op": "archive", "url": "https://example.com/a"},
        {"id": 2, "op": "favorite", "url": "https://example.com/a"},
        {"id": 3, "op": "tags_add", "url": "https://example.com/a", "tags": ["x", "y"]},
        {"id": 4, "op": "tags_add", "url": "https://example.com/b", "tags": ["z"]},
        {"id": 5, "op": "tags_remove", "url": "https://example.com/a", "tags": ["y"]},
        {"id": 6, "op": "unfavorite", "url": "https://example.com/a"},
    ]
    replies = host.burst(edits)

    assert all(r["ok"] for r in replies), replies
    calls = wb.api_calls()[before:]
    assert [(c.method, c.path) for c in calls] == [
        ("PATCH", f"/api/entries/{wb.by_url('https://example.com/a').id}"),
        ("POST", "/api/entries/tags/lists"),
        ("DELETE", "/api/entries/tags/list"),  # y may have been there before the batch
    ]
    assert calls[0].body == {"archive": 1, "starred": 0}
    a, b = wb.by_url("https://example.com/a"), wb.by_url("https://example.com/b")
    assert (a.is_archived, a.is_starred, a.tags) == (1, 0, ["x"])
    assert b.tags == ["z"]


def test_a_clear_removes_each_tag_since_patch_cannot_clear(
    host: HostProcess, wb: WallabagStandin
) -> None:
    url = "https://example.com/c"
    ok(host.request({"id": "s", "op": "save", "url": url, "title": "C", "tags": ["a", "b"]}, 30))
    ok(host.request({"id": "c", "op": "tags_clear", "url": url}, 30))
    assert wb.by_url(url).tags == []
    assert wb.calls("/api/entries/tags/list", "DELETE")
    lookup = ok(host.request({"id": "l", "op": "lookup", "url": url}))
    assert lookup["tags"] == []


def test_an_unknown_url_is_looked_up_with_one_exists_call(
    host: HostProcess, wb: WallabagStandin
) -> None:
    entry = wb._new("https://example.com/elsewhere")  # saved from another device
    replies = host.burst(
        [
            {"id": 1, "op": "archive", "url": "https://example.com/elsewhere"},
            {"id": 2, "op": "archive", "url": "https://example.com/never-saved"},
        ],
    )
    assert ok(replies[0])["item_id"] == str(entry.id)
    assert replies[1]["ok"] is False and replies[1]["error"]["code"] == "unknown_item"
    assert len(wb.calls("/api/entries/exists")) == 1
    assert entry.is_archived == 1


def test_tag_rename_is_emulated_and_tag_delete_is_wallabags(
    host: HostProcess, wb: WallabagStandin
) -> None:
    for n in range(3):
        url = f"https://example.com/t/{n}"
        ok(host.request({"id": n, "op": "save", "url": url, "title": "T", "tags": ["old"]}, 30))
    ok(host.request({"id": "r", "op": "tag_rename", "old_tag": "old", "new_tag": "new"}, 30))
    assert all(e.tags == ["new"] for e in wb.entries.values())
    ok(host.request({"id": "d", "op": "tag_delete", "tag": "new"}, 30))
    assert all(e.tags == [] for e in wb.entries.values())
    assert ok(host.request({"id": "g", "op": "tags"}))["tags"] == []


def test_an_expired_token_is_renewed_once_and_the_write_goes_through(
    host: HostProcess, wb: WallabagStandin, home: Path
) -> None:
    wb.expire_token()
    result = ok(
        host.request({"id": 1, "op": "save", "url": "https://example.com/r", "title": "R"}, 30)
    )
    assert wb.refreshes == 1
    assert result["item_id"] == str(wb.by_url("https://example.com/r").id)
    stored = (home.parent / f"{home.name}-keyring.json").read_text()
    assert wb.refresh_token in stored  # the renewed pair is kept for the next process


def test_a_refused_renewal_holds_the_write_until_the_next_sign_in(
    env: dict[str, str], host: HostProcess, wb: WallabagStandin
) -> None:
    wb.expire_token()
    wb.refresh_token = "revoked"
    reply = host.request({"id": 1, "op": "save", "url": "https://example.com/h", "title": "H"}, 30)
    assert reply["ok"] is False and reply["error"]["code"] == "auth_failed"
    assert wb.by_url("https://example.com/h") is None
    wb.link(env)  # signing in again sends what was held
    assert wb.by_url("https://example.com/h") is not None


def test_server_errors_and_429_retry_with_the_wait_wallabag_asked(
    host: HostProcess, wb: WallabagStandin
) -> None:
    wb.fail_next(503)
    wb.fail_next(429, headers={"Retry-After": "1"})
    host.send({"id": 1, "op": "save", "url": "https://example.com/f", "title": "F"})
    final = host.recv_for(1, timeout=40)
    events = [e.get("reason") for e in host.events_for(1) if e.get("event") == "retrying"]
    assert ok(final)
    assert "unavailable" in events and "rate_limited" in events
    assert wb.by_url("https://example.com/f") is not None


def test_a_host_killed_mid_batch_leaves_the_saves_for_the_next_host(
    env: dict[str, str], wb: WallabagStandin
) -> None:
    slow = {**env, "TUCKAWAY_BATCH_QUIET_MS": "3000", "TUCKAWAY_BATCH_MAX_DELAY_MS": "6000"}
    with HostProcess(slow) as first:
        for n in range(5):
            first.send({"id": n, "op": "save", "url": f"https://example.com/k/{n}"})
        for n in range(5):
            assert first.recv_for(n, final=False)["event"] == "queued"
        first.proc.send_signal(signal.SIGKILL)
        assert first.wait() == -signal.SIGKILL
    assert not wb.entries
    with HostProcess(env) as second:
        deadline = time.monotonic() + 30
        while len(wb.entries) < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        second.request({"id": "h", "op": "hello"})
    assert sorted(e.url for e in wb.entries.values()) == [
        f"https://example.com/k/{n}" for n in range(5)
    ]


def test_sync_learns_changes_and_deletions_and_410_means_a_full_sync(
    env: dict[str, str], wb: WallabagStandin
) -> None:
    kept = wb._new("https://example.com/kept")
    gone = wb._new("https://example.com/gone")
    first = run_cli(env, "sync", "--json")
    assert first.returncode == 0, first.stderr
    assert '"added": 2' in first.stdout
    del wb.entries[gone.id]
    wb.deletions.append((gone.id, time.time() + 5))
    wb._assign(kept, "fresh")
    kept.updated_at = time.time() + 5
    second = run_cli(env, "sync", "--json")
    assert '"deleted": 1' in second.stdout and '"full": false' in second.stdout
    wb.deletion_cutoff = time.time() + 100
    third = run_cli(env, "sync", "--json")
    assert '"full": true' in third.stdout
    listing = run_cli(env, "list", "--all", "--json")
    assert "https://example.com/kept" in listing.stdout
    assert "https://example.com/gone" not in listing.stdout
