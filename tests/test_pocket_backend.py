"""The Pocket backend, end to end: the real host process against a Pocket stand-in.

The host runs as the browser runs it (``tuckaway.wire.host`` over stdin/stdout); the
account is linked with ``tuckaway login pocket --access-token-stdin``; the
service is :mod:`support.pocket_standin`, a real HTTP server on 127.0.0.1
that records every request and answers faults on demand. The batch settings
make a burst (frames written back to back) one batch on any machine.
"""

from __future__ import annotations

import asyncio
import html.parser
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import aiohttp
import pytest
import testkeyring

from support.hostproc import HostProcess, host_env, ok, run_cli, serve_process
from support.pocket_standin import ACCESS_TOKEN, CONSUMER_KEY, PocketStandin
from tuckaway.accounts.credentials import KeyringUnavailable, PocketCredentials
from tuckaway.context import Context
from tuckaway.errors import Unavailable
from tuckaway.services.base import Retry, Write
from tuckaway.services.pocket.backend import PocketBackend
from tuckaway.settings import Settings

BURST = {
    "TUCKAWAY_BATCH_QUIET_MS": "400",
    "TUCKAWAY_BATCH_MAX_DELAY_MS": "5000",
    "TUCKAWAY_REQUEST_TIMEOUT_S": "5",
}


@pytest.fixture
def pocket(tmp_path: Path) -> Iterator[PocketStandin]:
    with PocketStandin(tmp_path / "standin") as standin:
        yield standin


def link(env: dict[str, str]) -> None:
    done = run_cli(
        env,
        "login",
        "pocket",
        "--access-token-stdin",
        "--consumer-key",
        CONSUMER_KEY,
        "--username",
        "ann",
        input=ACCESS_TOKEN + "\n",
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture
def env(home: Path, pocket: PocketStandin) -> dict[str, str]:
    env = host_env(home, TUCKAWAY_POCKET_URL=pocket.url, **BURST)
    link(env)
    return env


@pytest.fixture
def host(env: dict[str, str]) -> Iterator[HostProcess]:
    with HostProcess(env) as proc:
        yield proc


def save(rid: Any, url: str, **fields: Any) -> dict[str, Any]:
    return {"id": rid, "op": "save", "url": url, **fields}


# -- batching -------------------------------------------------------------------------


def test_a_burst_of_twenty_saves_is_one_send_with_the_adds_in_arrival_order(
    host: HostProcess, pocket: PocketStandin
) -> None:
    urls = [f"https://example.com/page/{n}" for n in range(20)]
    replies = host.burst([save(n, url) for n, url in enumerate(urls)])

    assert [r.path for r in pocket.writes()] == ["/v3/send"]
    (actions,) = pocket.sends()
    assert [a["action"] for a in actions] == ["add"] * 20
    assert [a["url"] for a in actions] == urls
    for url, reply in zip(urls, replies, strict=True):
        result = ok(reply)
        stored = pocket.items.lookup(url)
        assert stored is not None
        assert result["item_id"] == stored.item_id
        assert result["url"] == url
        assert result["item"]["item_id"] == stored.item_id
    assert len({ok(r)["item_id"] for r in replies}) == 20


def test_a_lone_save_uses_v3_add(host: HostProcess, pocket: PocketStandin) -> None:
    reply = host.request(save("a", "https://example.com/lone", tags=["x", "y"], title="Lone"), 20)

    result = ok(reply)
    assert [r.path for r in pocket.writes()] == ["/v3/add"]
    body = pocket.calls("/v3/add")[0].body
    assert body["url"] == "https://example.com/lone"
    assert body["tags"] == "x,y" and body["title"] == "Lone"
    assert result["item_id"] == pocket.items.resolve("https://example.com/lone")
    lookup = ok(host.request({"id": "l", "op": "lookup", "url": "https://example.com/lone"}))
    assert lookup["saved"] is True and lookup["item_id"] == result["item_id"]
    assert sorted(lookup["tags"]) == ["x", "y"]


def test_a_double_click_is_one_action_answered_twice(
    host: HostProcess, pocket: PocketStandin
) -> None:
    first, second = host.burst(
        [save(1, "https://example.com/dbl"), save(2, "https://example.com/dbl")]
    )

    assert len(pocket.writes()) == 1
    assert ok(first)["item_id"] == ok(second)["item_id"]


def test_one_rejected_action_fails_alone_with_the_services_message(
    host: HostProcess, pocket: PocketStandin
) -> None:
    pocket.reject_action("https://example.com/bad", "Invalid URL: not reachable")
    urls = ["https://example.com/a", "https://example.com/bad", "https://example.com/c"]
    replies = host.burst([save(n, url) for n, url in enumerate(urls)])

    assert len(pocket.sends()) == 1 and len(pocket.writes()) == 1
    assert ok(replies[0])["item_id"] and ok(replies[2])["item_id"]
    assert replies[1]["ok"] is False
    assert replies[1]["error"]["code"] == "action_failed"
    assert replies[1]["error"]["message"] == "Invalid URL: not reachable"


def test_a_batch_refused_whole_is_split_until_the_bad_action_is_alone(
    host: HostProcess, pocket: PocketStandin
) -> None:
    pocket.poison("https://example.com/poison")
    urls = [f"https://example.com/{n}" for n in range(3)] + ["https://example.com/poison"]
    urls += [f"https://example.com/{n}" for n in range(3, 6)]
    replies = host.burst([save(n, url) for n, url in enumerate(urls)])

    for url, reply in zip(urls, replies, strict=True):
        if url.endswith("poison"):
            assert reply["ok"] is False and reply["error"]["code"] == "action_failed"
            assert "Invalid URL" in reply["error"]["message"]
        else:
            assert ok(reply)["item_id"] == pocket.items.resolve(url)
    sends = pocket.sends()
    assert [a["url"] for a in sends[0]] == urls
    # every action that went through went exactly once, in arrival order
    accepted = [a["url"] for s in pocket.sends(accepted=True) for a in s]
    assert accepted == [u for u in urls if not u.endswith("poison")]
    assert len(sends) <= 1 + 2 * 3  # bisection: 1 + 2 ceil(log2 7) requests at most, not 2n


def test_save_tags_add_and_archive_of_one_url_in_one_burst_land_on_the_saved_item(
    host: HostProcess, pocket: PocketStandin
) -> None:
    url = "https://example.com/together"
    replies = host.burst(
        [
            save("s", url, tags=["a"]),
            {"id": "t", "op": "tags_add", "url": url, "tags": ["b", "c"]},
            {"id": "r", "op": "archive", "url": url},
        ],
    )

    item_id = ok(replies[0])["item_id"]
    assert ok(replies[1])["item_id"] == item_id
    assert ok(replies[2])["item_id"] == item_id
    stored = pocket.items.lookup(url)
    assert stored is not None and stored.item_id == item_id
    assert sorted(stored.tags) == ["a", "b", "c"] and stored.status == 1
    # the tags rode with the save; the archive waited for its item_id
    paths = [r.path for r in pocket.writes()]
    assert paths == ["/v3/add", "/v3/send"]
    assert pocket.calls("/v3/add")[0].body["tags"] == "a,b,c"
    (archive,) = pocket.sends()[0]
    assert archive["action"] == "archive" and archive["item_id"] == item_id
    lookup = ok(host.request({"id": "l", "op": "lookup", "url": url}))
    assert lookup["status"] == "archived" and sorted(lookup["tags"]) == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("between", "tags"),
    [
        ({"op": "tags_remove", "tags": ["x"]}, ["x"]),
        ({"op": "tags_replace", "tags": ["y"]}, ["x", "y"]),
        ({"op": "tags_clear"}, ["x"]),
    ],
)
def test_a_tags_add_after_a_held_back_edit_of_a_url_being_saved_keeps_arrival_order(
    host: HostProcess, pocket: PocketStandin, between: dict[str, Any], tags: list[str]
) -> None:
    url = "https://example.com/ordered"
    replies = host.burst(
        [
            save("s", url, tags=["x", "a"]) if between["op"] == "tags_clear" else save("s", url),
            {"id": "e", "url": url, **between},
            {"id": "t", "op": "tags_add", "url": url, "tags": ["x"]},
        ],
    )

    item_id = ok(replies[0])["item_id"]
    assert ok(replies[1]) == {"item_id": item_id} and ok(replies[2]) == {"item_id": item_id}
    stored = pocket.items.lookup(url)
    assert stored is not None and sorted(stored.tags) == tags
    # the tags_add did not ride with the save: it went after the edit, in the follow-up batch
    assert [a["action"] for s in pocket.sends() for a in s][-2:] == [between["op"], "tags_add"]
    lookup = ok(host.request({"id": "l", "op": "lookup", "url": url}))
    assert sorted(lookup["tags"]) == tags


def test_a_tags_add_after_a_delete_of_a_url_being_saved_is_sent_after_it(
    host: HostProcess, pocket: PocketStandin
) -> None:
    url = "https://example.com/deleted-then-tagged"
    replies = host.burst(
        [
            save("s", url),
            {"id": "d", "op": "delete", "url": url},
            {"id": "t", "op": "tags_add", "url": url, "tags": ["x"]},
        ],
    )

    item_id = ok(replies[0])["item_id"]
    assert ok(replies[1]) == {"item_id": item_id}
    # the tags_add reached the service after the delete, which refused it: no item
    assert replies[2]["ok"] is False and replies[2]["error"]["code"] == "action_failed"
    assert pocket.items.lookup(url) is None
    assert "tags" not in pocket.writes()[0].body  # nothing folded into the save
    assert [a["action"] for a in pocket.sends()[-1]] == ["delete", "tags_add"]


def test_a_tags_add_by_item_id_waits_behind_a_held_back_edit_of_the_same_item(
    host: HostProcess, pocket: PocketStandin
) -> None:
    url = "https://example.com/known"
    item_id = ok(host.request(save("first", url), 20))["item_id"]
    replies = host.burst(
        [
            save("s", url),
            {"id": "r", "op": "tags_remove", "url": url, "tags": ["x"]},
            {"id": "t", "op": "tags_add", "item_id": item_id, "tags": ["x"]},
        ],
    )

    assert [ok(r)["item_id"] for r in replies] == [item_id] * 3
    stored = pocket.items.lookup(url)
    assert stored is not None and stored.tags == ["x"]


def test_a_tags_add_after_a_tag_delete_in_the_batch_is_not_folded_into_an_earlier_save(
    host: HostProcess, pocket: PocketStandin
) -> None:
    url = "https://example.com/tag-deleted"
    replies = host.burst(
        [
            save("s", url, tags=["x"]),
            {"id": "d", "op": "tag_delete", "tag": "x"},
            {"id": "t", "op": "tags_add", "url": url, "tags": ["x"]},
        ],
    )

    assert ok(replies[1]) == {} and ok(replies[2]) == {"item_id": ok(replies[0])["item_id"]}
    stored = pocket.items.lookup(url)
    assert stored is not None and stored.tags == ["x"]


def test_all_twelve_actions_reach_the_service_with_pockets_parameter_names(
    host: HostProcess, pocket: PocketStandin
) -> None:
    a, b = "https://example.com/one", "https://example.com/two"
    saved = host.burst([save(1, a), save(2, b, tags=["old"])])
    ida, idb = ok(saved[0])["item_id"], ok(saved[1])["item_id"]
    ops: list[dict[str, Any]] = [
        {"op": "archive", "url": a},
        {"op": "readd", "url": a},
        {"op": "favorite", "item_id": ida},
        {"op": "unfavorite", "url": a},
        {"op": "tags_add", "url": a, "tags": ["t1", "t2"]},
        {"op": "tags_remove", "url": a, "tags": ["t1"]},
        {"op": "tags_replace", "url": a, "tags": ["t3", "t4"]},
        {"op": "tag_rename", "old_tag": "t3", "new_tag": "t5"},
        {"op": "tag_delete", "tag": "t4"},
        {"op": "tags_clear", "url": b},
        {"op": "delete", "url": b},
    ]
    replies = host.burst([{"id": f"o{n}", **op} for n, op in enumerate(ops)])

    for op, reply in zip(ops, replies, strict=True):
        if op["op"] in {"tag_rename", "tag_delete"}:
            assert ok(reply) == {}, op
        else:
            assert ok(reply) == {"item_id": idb if op.get("url") == b else ida}, op
    saves, others = pocket.sends()
    assert [x["action"] for x in saves] == ["add", "add"]
    assert saves[1]["tags"] == "old"
    for action in others:
        assert action.pop("time").isdigit()
    assert others == [
        {"action": "archive", "item_id": ida},
        {"action": "readd", "item_id": ida},
        {"action": "favorite", "item_id": ida},
        {"action": "unfavorite", "item_id": ida},
        {"action": "tags_add", "item_id": ida, "tags": "t1,t2"},
        {"action": "tags_remove", "item_id": ida, "tags": "t1"},
        {"action": "tags_replace", "item_id": ida, "tags": "t3,t4"},
        {"action": "tag_rename", "old_tag": "t3", "new_tag": "t5"},
        {"action": "tag_delete", "tag": "t4"},
        {"action": "tags_clear", "item_id": idb},
        {"action": "delete", "item_id": idb},
    ]
    one = pocket.items.lookup(a)
    assert one is not None and one.tags == ["t5"] and one.status == 0 and not one.favorite
    assert pocket.items.lookup(b) is None
    lookup = ok(host.request({"id": "l", "op": "lookup", "url": a}))
    assert lookup["tags"] == ["t5"] and lookup["status"] == "unread"
    assert ok(host.request({"id": "m", "op": "lookup", "url": b}))["saved"] is False


def test_a_save_answered_without_its_item_learns_the_item_id_from_the_services_list(
    host: HostProcess, pocket: PocketStandin
) -> None:
    pocket.bare_adds = True
    lone = ok(host.request(save("a", "https://example.com/bare", title="Bare"), 20))
    urls = ["https://example.com/bare/1", "https://example.com/bare/2"]
    replies = host.burst(
        [
            save(1, urls[0]),
            save(2, urls[1]),
            {"id": "t", "op": "tags_add", "url": urls[1], "tags": ["x"]},
        ],
    )

    assert lone["item_id"] == pocket.items.resolve("https://example.com/bare")
    assert lone["item"]["item_id"] == lone["item_id"]
    ids = [ok(r)["item_id"] for r in replies]
    assert ids[:2] == [pocket.items.resolve(u) for u in urls] and all(ids)
    assert ids[2] == ids[1]  # the folded tags_add
    # one follow-up listing of what changed since each send found them
    gets = pocket.calls("/v3/get")
    assert len(gets) == 2 and all(isinstance(g.body["since"], int) for g in gets)
    lookup = ok(host.request({"id": "l", "op": "lookup", "url": urls[1]}))
    assert lookup["item_id"] == ids[1] and lookup["tags"] == ["x"]
    # an edit by address now finds the item
    assert ok(host.request({"id": "f", "op": "favorite", "url": urls[0]}, 20)) == {
        "item_id": ids[0]
    }


def test_a_save_whose_item_id_the_service_never_tells_is_not_answered_ok(
    host: HostProcess, pocket: PocketStandin
) -> None:
    url = "https://example.com/nameless"
    pocket.bare_adds = True
    pocket.unlisted.add(url)
    reply = host.request(save(1, url), 30)

    assert reply["ok"] is False and reply["error"]["code"] == "action_failed"
    assert "did not say its item id" in reply["error"]["message"]
    assert "tuckaway sync" in reply["error"]["message"]
    reasons = [e["reason"] for e in host.events_for(1) if e.get("event") == "retrying"]
    assert reasons == ["unavailable", "unavailable"]  # asked again twice, then gave up
    assert len(pocket.calls("/v3/add")) == 3


def test_a_save_result_carries_the_documented_item_fields_trimmed_not_the_whole_item(
    host: HostProcess, pocket: PocketStandin
) -> None:
    big = {str(n): {"item_id": "1", "image_id": str(n), "src": "x" * 200} for n in range(4000)}
    pocket.item_extra = {
        "excerpt": "word " * 400_000,
        "images": big,
        "videos": big,
        "authors": big,
        "domain_metadata": {"name": "x" * 500_000},
        "word_count": "1234",
        "has_image": "1",
        "resolved_title": "T" * 500_000,
    }
    lone = host.request(save("a", "https://example.com/huge"), 20)
    replies = host.burst(
        [save(1, "https://example.com/huge/1"), save(2, "https://example.com/huge/2")]
    )

    for reply in [lone, *replies]:
        assert len(json.dumps(reply)) < 16 * 1024
        item = ok(reply)["item"]
        assert item["item_id"] == ok(reply)["item_id"]
        assert item["word_count"] == "1234" and item["has_image"] == "1"
        assert item["given_url"] == ok(reply)["url"]
        assert {"images", "videos", "authors", "domain_metadata"}.isdisjoint(item)
        assert 0 < len(item["excerpt"]) <= 500 and len(item["resolved_title"]) <= 2000


def test_credentials_never_appear_in_a_url(host: HostProcess, pocket: PocketStandin) -> None:
    host.burst([save(1, "https://example.com/c1"), save(2, "https://example.com/c2")])
    host.request(save(3, "https://example.com/c3"), 20)

    assert pocket.requests
    for request in pocket.requests:
        assert request.query == ""
        assert ACCESS_TOKEN not in request.path and CONSUMER_KEY not in request.path
        assert request.body["access_token"] == ACCESS_TOKEN
        assert request.body["consumer_key"] == CONSUMER_KEY
        assert request.headers["X-Accept"] == "application/json"


def test_hello_reports_pocket_after_login_and_local_after_logout(
    home: Path, pocket: PocketStandin
) -> None:
    env = host_env(home, TUCKAWAY_POCKET_URL=pocket.url, **BURST)
    with HostProcess(env) as host:
        assert ok(host.request({"id": 1, "op": "hello"}))["backend"] == "local"
    link(env)
    with HostProcess(env) as host:
        hello = ok(host.request({"id": 2, "op": "hello"}))
        assert hello["backend"] == "pocket"
        assert hello["accounts"]["pocket"]["linked"] is True
    assert run_cli(env, "logout", "pocket").returncode == 0
    with HostProcess(env) as host:
        assert ok(host.request({"id": 3, "op": "hello"}))["backend"] == "local"
        ok(host.request(save(4, "https://example.com/after-logout"), 20))
    assert pocket.writes() == []


def test_cli_save_batches_through_the_same_path(env: dict[str, str], pocket: PocketStandin) -> None:
    urls = [f"https://example.com/cli/{n}" for n in range(5)]
    done = run_cli(env, "save", "--json", "-", input="\n".join(urls) + "\n")

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [e["state"] for e in report] == ["saved"] * 5
    assert [r.path for r in pocket.writes()] == ["/v3/send"]
    assert [a["url"] for a in pocket.sends()[0]] == urls
    assert [e["item_id"] for e in report] == [pocket.items.resolve(u) for u in urls]


# -- the index and sync ---------------------------------------------------------------


def test_an_item_op_on_a_url_neither_the_index_nor_the_service_knows_is_unknown_item(
    host: HostProcess, pocket: PocketStandin
) -> None:
    reply = host.request({"id": 1, "op": "archive", "url": "https://example.com/never"}, 20)

    assert reply["ok"] is False and reply["error"]["code"] == "unknown_item"
    # asked by url, as Pocket allowed: the service did not know it either
    (action,) = pocket.sends()[0]
    assert action["url"] == "https://example.com/never" and "item_id" not in action


def test_an_item_op_on_a_url_the_index_does_not_know_yet_goes_by_url(
    host: HostProcess, pocket: PocketStandin
) -> None:
    # saved through another batch (or device) that the index has not heard of yet
    elsewhere = pocket.items.add("https://example.com/saved-meanwhile")
    reply = host.request({"id": 1, "op": "favorite", "url": elsewhere.url}, 20)

    assert ok(reply) == {"item_id": elsewhere.item_id}
    (action,) = pocket.sends()[0]
    assert action["url"] == elsewhere.url and "item_id" not in action
    stored = pocket.items.lookup(elsewhere.url)
    assert stored is not None and stored.favorite


def test_sync_indexes_what_was_saved_elsewhere_then_only_changes(
    env: dict[str, str], pocket: PocketStandin
) -> None:
    elsewhere = pocket.items.add("https://example.com/elsewhere", "Elsewhere", ["read"])
    pocket.items.add("https://example.com/gone")

    first = run_cli(env, "sync", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) | {"since": 0} == {
        "added": 2,
        "updated": 0,
        "deleted": 0,
        "full": True,
        "since": 0,
    }
    gets = pocket.calls("/v3/get")
    assert all(g.body["detailType"] == "complete" for g in gets)
    assert "since" not in gets[0].body
    calls = len(gets)

    pocket.items.apply({"action": "delete", "url": "https://example.com/gone"})
    second = run_cli(env, "sync", "--json")
    counts = json.loads(second.stdout)
    assert counts["full"] is False and counts["deleted"] == 1
    assert isinstance(pocket.calls("/v3/get")[calls].body["since"], int)

    with HostProcess(env) as host:
        lookup = ok(host.request({"id": 1, "op": "lookup", "url": "https://example.com/elsewhere"}))
        assert lookup["saved"] and lookup["item_id"] == elsewhere.item_id
        assert lookup["tags"] == ["read"]
        assert (
            ok(host.request({"id": 2, "op": "lookup", "url": "https://example.com/gone"}))["saved"]
            is False
        )
        # an item op by url now resolves through the synced index
        archived = ok(host.request({"id": 3, "op": "archive", "url": elsewhere.url}, 20))
        assert archived == {"item_id": elsewhere.item_id}
    assert pocket.sends(accepted=True)[-1][0]["item_id"] == elsewhere.item_id


def test_sync_pages_through_a_service_that_caps_count(home: Path, tmp_path: Path) -> None:
    with PocketStandin(tmp_path / "capped", max_count=2) as pocket:
        urls = [f"https://example.com/capped/{n}" for n in range(5)]
        for n, url in enumerate(urls):
            pocket.items.add(url, now=1_700_000_000 + n)
        env = host_env(home, TUCKAWAY_POCKET_URL=pocket.url)
        link(env)
        first = json.loads(run_cli(env, "sync", "--json").stdout)
        assert first["added"] == 5
        assert [g.body["offset"] for g in pocket.calls("/v3/get")] == [0, 2, 4, 5]
        # each page says the newest update it holds: the sync keeps the newest of all
        assert first["since"] == 1_700_000_004

        # a full sync drops what the service no longer lists
        pocket.items.forget(str(pocket.items.resolve(urls[0])))
        full = json.loads(run_cli(env, "sync", "--full", "--json").stdout)
        assert full["full"] is True and full["deleted"] == 1 and full["updated"] == 4
        with HostProcess(env) as host:
            assert ok(host.request({"id": 1, "op": "lookup", "url": urls[0]}))["saved"] is False
            assert ok(host.request({"id": 2, "op": "lookup", "url": urls[4]}))["saved"] is True


def test_sync_without_an_account_is_not_linked(home: Path, pocket: PocketStandin) -> None:
    env = host_env(home, TUCKAWAY_POCKET_URL=pocket.url)
    done = run_cli(env, "sync")

    assert done.returncode == 1 and "no pocket account is linked" in done.stderr
    assert pocket.requests == []


def test_ids_the_service_sends_as_numbers_reach_the_browser_as_strings(
    home: Path, tmp_path: Path
) -> None:
    with PocketStandin(tmp_path / "numeric", numeric_ids=True) as pocket:
        env = host_env(home, TUCKAWAY_POCKET_URL=pocket.url, **BURST)
        link(env)
        with HostProcess(env) as host:
            replies = host.burst(
                [save(1, "https://example.com/n1"), save(2, "https://example.com/n2")]
            )
            lone = host.request(save(3, "https://example.com/n3"), 20)
        for reply in [*replies, lone]:
            assert isinstance(ok(reply)["item_id"], str) and ok(reply)["item_id"].isdigit()


# -- when the service says no ---------------------------------------------------------


def test_a_401_replies_auth_failed_and_keeps_the_write_for_the_next_login(
    env: dict[str, str], pocket: PocketStandin
) -> None:
    pocket.fail_next(401, headers={"X-Error": "Invalid access token", "X-Error-Code": "107"})
    with HostProcess(env) as host:
        reply = host.request(save(1, "https://example.com/held"), 20)
        assert reply["ok"] is False and reply["error"]["code"] == "auth_failed"
        assert ACCESS_TOKEN not in json.dumps(reply)
        assert ok(host.request({"id": 2, "op": "hello"}))["pending"] == 1
    assert pocket.items.lookup("https://example.com/held") is None

    # the held write is still there, and signing in again delivers it
    relinked = run_cli(
        env,
        "login",
        "pocket",
        "--access-token-stdin",
        "--consumer-key",
        CONSUMER_KEY,
        input=ACCESS_TOKEN + "\n",
    )
    assert relinked.returncode == 0, relinked.stderr
    assert "sent 1 of 1 write(s) kept while signed out" in relinked.stdout
    assert pocket.items.lookup("https://example.com/held") is not None
    assert [r.status for r in pocket.writes()] == [401, 200]
    assert json.loads(run_cli(env, "queue", "--json").stdout) == []


def test_queue_retry_delivers_a_held_write_and_exits_0_when_nothing_is_left(
    env: dict[str, str], pocket: PocketStandin
) -> None:
    pocket.fail_next(401, headers={"X-Error": "Invalid access token", "X-Error-Code": "107"})
    with HostProcess(env) as host:
        assert host.request(save(1, "https://example.com/held2"), 20)["ok"] is False
    retried = run_cli(env, "queue", "retry", "--wait", "15")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "retrying 1 write(s)" in retried.stdout
    assert "0 write(s) still waiting or failed" in retried.stdout
    assert pocket.items.lookup("https://example.com/held2") is not None


def test_a_403_rate_limit_waits_for_the_reset_then_delivers(
    host: HostProcess, pocket: PocketStandin
) -> None:
    pocket.rate_limit(reset_s=1)
    host.send(save(1, "https://example.com/limited"))
    retrying = host.recv_for(1, 20, final=False)
    while retrying.get("event") != "retrying":
        retrying = host.recv_for(1, 20, final=False)
    assert retrying == {"id": 1, "event": "retrying", "reason": "rate_limited", "retry_after": 1}

    assert ok(host.recv_for(1, 20))["item_id"] == pocket.items.resolve(
        "https://example.com/limited"
    )
    assert [r.status for r in pocket.writes()] == [403, 200]


def test_an_unavailable_keyring_keeps_the_write_waiting_with_a_message_that_says_so(
    env: dict[str, str], pocket: PocketStandin
) -> None:
    # the test keyring refuses to work without its file: the keyring is unavailable
    no_keyring = {k: v for k, v in env.items() if k != "TUCKAWAY_TEST_KEYRING_FILE"}
    url = "https://example.com/no-keyring"
    with HostProcess(no_keyring) as host:
        host.send(save(1, url))
        event = host.recv_for(1, 20, final=False)
        while event.get("event") != "retrying":
            event = host.recv_for(1, 20, final=False)
        assert event["reason"] == "unavailable"
    (entry,) = json.loads(run_cli(env, "queue", "--json").stdout)
    assert entry["state"] == "pending"
    message = entry["last_error"]["message"]
    assert "keyring is unavailable" in message and "internal error" not in message
    assert pocket.writes() == []

    # the keyring works again: the next host delivers the write
    with HostProcess(env) as host:
        ok(host.request({"id": 2, "op": "hello"}))  # the drain starts after a first reply
        deadline = time.monotonic() + 20
        while pocket.items.lookup(url) is None:
            assert time.monotonic() < deadline, "the waiting write was not delivered"
            time.sleep(0.2)
    assert json.loads(run_cli(env, "queue", "--json").stdout) == []


async def test_keyring_errors_while_reading_the_token_are_retried_not_crashes(
    home: Path, tmp_path: Path, pocket: PocketStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    with testkeyring.in_process(tmp_path / "keyring.json"):
        ctx = Context.open(Settings.load({"TUCKAWAY_HOME": str(home)}))
        try:
            ctx.credentials.save_pocket(
                PocketCredentials(pocket.url, CONSUMER_KEY, ACCESS_TOKEN, "ann")
            )

            def locked() -> None:
                raise KeyringUnavailable("the keyring is locked")

            monkeypatch.setattr(ctx.credentials, "pocket", locked)
            backend = PocketBackend(ctx)
            (outcome,) = await backend.deliver([Write(1, "save", {"url": "https://example.com/k"})])
            assert isinstance(outcome, Retry) and outcome.reason == "unavailable"
            assert "keyring is unavailable" in outcome.message
            assert "the keyring is locked" in outcome.message
            with pytest.raises(Unavailable, match="keyring is unavailable"):
                await ctx.read("sync")
        finally:
            await ctx.aclose()
    assert pocket.requests == []


@pytest.mark.parametrize("status", [500, 503])
def test_a_failing_service_is_retried_until_it_answers(
    host: HostProcess, pocket: PocketStandin, status: int
) -> None:
    pocket.fail_next(status, body="<html><title>Down for maintenance</title></html>")
    replies = host.burst([save(1, "https://example.com/r1"), save(2, "https://example.com/r2")])

    assert [ok(r)["item_id"] for r in replies] == [
        pocket.items.resolve("https://example.com/r1"),
        pocket.items.resolve("https://example.com/r2"),
    ]
    events = host.events_for(1)
    assert any(e.get("event") == "retrying" and e["reason"] == "unavailable" for e in events)
    assert [r.status for r in pocket.writes()] == [status, 200]


def test_a_slow_answer_times_out_and_is_retried(home: Path, pocket: PocketStandin) -> None:
    env = host_env(
        home, TUCKAWAY_POCKET_URL=pocket.url, **{**BURST, "TUCKAWAY_REQUEST_TIMEOUT_S": "0.5"}
    )
    link(env)
    pocket.delay(2.0, times=1)
    with HostProcess(env) as host:
        reply = host.request(save(1, "https://example.com/slow"), 20)
        assert ok(reply)["item_id"] == pocket.items.resolve("https://example.com/slow")
        assert any(e.get("reason") == "unavailable" for e in host.events_for(1))
    assert len(pocket.calls("/v3/add")) == 2


def test_the_host_syncs_on_start_without_holding_up_replies(
    home: Path, pocket: PocketStandin
) -> None:
    elsewhere = pocket.items.add("https://example.com/from-phone", tags=["phone"])
    env = host_env(home, TUCKAWAY_POCKET_URL=pocket.url, TUCKAWAY_SYNC_ON_START="1", **BURST)
    link(env)
    pocket.delay(1.0, times=1)  # a slow /v3/get
    with HostProcess(env) as host:
        assert ok(host.request({"id": 1, "op": "hello"}, 5))["backend"] == "pocket"
        deadline = time.monotonic() + 15
        while True:
            lookup = ok(host.request({"id": "l", "op": "lookup", "url": elsewhere.url}))
            if lookup["saved"]:
                break
            assert time.monotonic() < deadline, "the start-up sync did not index the item"
            time.sleep(0.2)
        assert lookup["item_id"] == elsewhere.item_id and lookup["tags"] == ["phone"]
    assert {r.path for r in pocket.requests} == {"/v3/get"}


# -- against `tuckaway serve` ---------------------------------------------------------


class _Form(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")


def approve(url: str) -> None:
    """Open the sign-in address as a browser tab would and press Approve."""

    async def run() -> None:
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as resp:
                page, where = await resp.text(), str(resp.url)
            form = _Form()
            form.feed(page)
            assert form.action, page
            data = {**form.fields, "decision": "approve"}
            async with http.post(urljoin(where, form.action), data=data) as resp:
                assert resp.status == 200, await resp.text()

    asyncio.run(run())


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """``tuckaway serve`` as a user runs it; its base URL and environment."""
    with serve_process(tmp_path / "serve-home", CONSUMER_KEY) as url:
        yield url, host_env(tmp_path / "serve-home")


def test_against_tuckaway_serve_a_burst_lands_in_its_list(
    home: Path, serve: tuple[str, dict[str, str]]
) -> None:
    url, serve_env = serve
    env = host_env(
        home, TUCKAWAY_POCKET_URL=url, TUCKAWAY_POCKET_CONSUMER_KEY=CONSUMER_KEY, **BURST
    )
    urls = [f"https://example.com/served/{n}" for n in range(4)]
    with HostProcess(env) as host:
        host.send({"id": "in", "op": "login", "service": "pocket"})
        event = host.recv_for("in", final=False)
        approve(event["url"])
        assert ok(host.recv_for("in", 30))["linked"] is True
        replies = host.burst(
            [save(n, u, tags=["served"]) for n, u in enumerate(urls)]
            + [
                {"id": "t", "op": "tags_add", "url": urls[0], "tags": ["extra"]},
                {"id": "f", "op": "favorite", "url": urls[1]},
            ],
        )
        ids = [ok(r)["item_id"] for r in replies[:4]]
        assert ok(replies[4]) == {"item_id": ids[0]} and ok(replies[5]) == {"item_id": ids[1]}

    listed = run_cli(serve_env, "list", "--all", "--json")
    assert listed.returncode == 0, listed.stderr
    by_url = {i["url"]: i for i in json.loads(listed.stdout)}
    assert [by_url[u]["item_id"] for u in urls] == ids
    assert sorted(by_url[urls[0]]["tags"]) == ["extra", "served"]
    assert by_url[urls[1]]["favorite"] is True


def test_a_running_host_uses_the_token_of_a_new_login(
    env: dict[str, str], pocket: PocketStandin
) -> None:
    with HostProcess(env) as host:
        ok(host.request(save(1, "https://example.com/old-token"), 20))
        pocket.access_token = "a-new-token-after-relink"
        done = run_cli(
            env,
            "login",
            "pocket",
            "--access-token-stdin",
            "--consumer-key",
            CONSUMER_KEY,
            input="a-new-token-after-relink\n",
        )
        assert done.returncode == 0, done.stderr
        ok(host.request(save(2, "https://example.com/new-token"), 20))
    assert [r.status for r in pocket.writes()] == [200, 200]
    assert pocket.writes()[1].body["access_token"] == "a-new-token-after-relink"


# -- as Pocket's server wanted it (issue 16) -------------------------------------------


def test_an_empty_or_blank_title_is_never_sent(host: HostProcess, pocket: PocketStandin) -> None:
    replies = host.burst(
        [
            save(1, "https://example.com/untitled", title=""),
            save(2, "https://example.com/b", title=" "),
        ],
    )
    replies.append(host.request(save(3, "https://example.com/lone", title=""), 20))

    assert all(ok(r)["item_id"] for r in replies)
    # however the writes were batched (/v3/send or /v3/add), no title went out
    sent = [a for r in pocket.writes() for a in (r.body.get("actions") or [r.body])]
    assert len(sent) == 3 and all("title" not in a for a in sent)


def test_a_400_about_the_request_itself_fails_the_batch_without_splitting_it(
    host: HostProcess, pocket: PocketStandin
) -> None:
    pocket.fail_next(400, headers={"X-Error": "Missing consumer key.", "X-Error-Code": "138"})
    urls = [f"https://example.com/req/{n}" for n in range(6)]
    replies = host.burst([save(n, url) for n, url in enumerate(urls)])

    for reply in replies:
        assert reply["ok"] is False and reply["error"]["code"] == "action_failed"
        assert reply["error"]["message"] == "Missing consumer key."
    assert len(pocket.writes()) == 1  # one call, not 2n - 1


def test_a_tag_rename_waits_behind_a_held_back_edit_of_a_tagged_item(
    host: HostProcess, pocket: PocketStandin
) -> None:
    url = "https://example.com/renamed"
    replies = host.burst(
        [
            save("s", url, tags=["x"]),
            {"id": "r", "op": "tags_remove", "url": url, "tags": ["x"]},
            {"id": "n", "op": "tag_rename", "old_tag": "x", "new_tag": "y"},
        ],
    )

    item_id = ok(replies[0])["item_id"]
    assert ok(replies[1]) == {"item_id": item_id} and ok(replies[2]) == {}
    stored = pocket.items.lookup(url)
    assert stored is not None and stored.tags == []  # x was gone before the rename
    assert [a["action"] for a in pocket.sends()[-1]] == ["tags_remove", "tag_rename"]


def test_after_a_200_that_used_up_the_allowance_the_host_waits_for_the_reset(
    host: HostProcess, pocket: PocketStandin
) -> None:
    pocket.spend_allowance(reset_s=2)
    ok(host.request(save(1, "https://example.com/last-call"), 20))
    spent_at = time.monotonic()
    host.send(save(2, "https://example.com/next"))
    event = host.recv_for(2, 20, final=False)
    while event.get("event") != "retrying":
        event = host.recv_for(2, 20, final=False)
    assert event["reason"] == "rate_limited"
    assert ok(host.recv_for(2, 20))["item_id"]
    assert time.monotonic() - spent_at >= 1.0
    assert [r.status for r in pocket.writes()] == [200, 200]  # no call that could only fail
