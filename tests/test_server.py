"""`tuckaway serve` answers Pocket's v3 API over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tuckaway import db
from tuckaway.serve.app import create_app, start_server
from tuckaway.serve.auth import hash_secret, issue_token

KEY = "1234-testkeytestkey"
JSON = {"X-Accept": "application/json"}
A = "https://example.org/a"
B = "https://example.org/b"

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "tuckaway.db"


@pytest.fixture
def conn(db_path: Path) -> sqlite3.Connection:
    return db.connect(db_path)


@pytest.fixture
def token(conn: sqlite3.Connection) -> str:
    return issue_token(conn)


@pytest.fixture
async def client(aiohttp_client: MakeClient, conn: sqlite3.Connection) -> Client:
    return await aiohttp_client(create_app(conn))


async def call(client: Client, path: str, token: str | None, **body: Any) -> aiohttp.ClientResponse:
    payload: dict[str, Any] = {"consumer_key": KEY, **body}
    if token is not None:
        payload["access_token"] = token
    return await client.post(path, json=payload, headers=JSON)


async def ok(client: Client, path: str, token: str, **body: Any) -> Any:
    resp = await call(client, path, token, **body)
    assert resp.status == 200, (resp.status, resp.headers.get("X-Error"))
    return await resp.json()


async def send(client: Client, token: str, *actions: dict[str, Any]) -> Any:
    return await ok(client, "/v3/send", token, actions=list(actions))


async def listing(client: Client, token: str, **params: Any) -> dict[str, Any]:
    answer = await ok(client, "/v3/get", token, detailType="complete", **params)
    return {} if answer["list"] == [] else answer["list"]


async def item_of(client: Client, token: str, url: str) -> dict[str, Any] | None:
    for item in (await listing(client, token, state="all")).values():
        if item["given_url"] == url:
            found: dict[str, Any] = item
            return found
    return None


def error_of(resp: aiohttp.ClientResponse) -> tuple[int, str]:
    return resp.status, resp.headers.get("X-Error-Code", "")


# -- /v3/add -------------------------------------------------------------------


async def test_add_saves_the_url_and_answers_the_item(client: Client, token: str) -> None:
    before = int(time.time())
    answer = await ok(client, "/v3/add", token, url=A, title="Page A", tags="x, y", time=1700000000)
    item = answer["item"]
    assert answer["status"] == 1
    assert item["given_url"] == A and item["resolved_title"] == "Page A"
    assert before <= int(item["time_added"]) <= time.time() and item["status"] == "0"
    assert set(item["tags"]) == {"x", "y"}
    assert isinstance(item["item_id"], str)


@pytest.mark.parametrize("when", [1700000000.0, "1700000000", 1796083200123, "soon", None])
async def test_add_stores_the_servers_time_whatever_time_the_client_sends(
    client: Client, token: str, when: Any
) -> None:
    # Pocket's /v3/add did not check `time`; clients send Date.now() milliseconds
    before = int(time.time())
    item = (await ok(client, "/v3/add", token, url=A, time=when))["item"]
    for field in ("time_added", "time_updated"):
        assert before <= int(item[field]) <= time.time()


async def test_add_of_a_known_url_is_the_same_item(client: Client, token: str) -> None:
    first = (await ok(client, "/v3/add", token, url=A))["item"]
    await send(client, token, {"action": "archive", "item_id": first["item_id"]})
    again = (await ok(client, "/v3/add", token, url=A, tags="later"))["item"]
    assert again["item_id"] == first["item_id"] and again["status"] == "0"


async def test_add_accepts_a_form_encoded_body_and_the_token_in_the_query(
    client: Client, token: str
) -> None:
    resp = await client.post(
        "/v3/add", params={"access_token": token}, data={"consumer_key": KEY, "url": A}
    )
    assert resp.status == 200
    assert (await resp.json())["item"]["given_url"] == A


@pytest.mark.parametrize("url", ["javascript:alert(1)", "file:///etc/passwd", "example.org", ""])
async def test_add_refuses_a_url_that_is_not_http(client: Client, token: str, url: str) -> None:
    resp = await call(client, "/v3/add", token, url=url)
    assert resp.status == 400 and resp.headers["X-Error"]
    assert await item_of(client, token, url) is None


async def test_a_body_that_is_not_json_is_a_400(client: Client, token: str) -> None:
    resp = await client.post(
        "/v3/add", data=b"{not json", headers={**JSON, "Content-Type": "application/json"}
    )
    assert resp.status == 400 and "JSON" in resp.headers["X-Error"]


# -- authentication ----------------------------------------------------------


@pytest.mark.parametrize("path", ["/v3/add", "/v3/send", "/v3/get"])
async def test_a_missing_access_token_is_401_code_107(client: Client, path: str) -> None:
    resp = await call(client, path, None, url=A, actions=[])
    assert error_of(resp) == (401, "107")
    assert resp.headers["X-Error"] == "Invalid access token"


async def test_an_unknown_access_token_is_401(client: Client, token: str) -> None:
    resp = await call(client, "/v3/get", token + "x")
    assert error_of(resp) == (401, "107")


async def test_a_missing_consumer_key_is_400_code_138(client: Client, token: str) -> None:
    resp = await client.post("/v3/get", json={"access_token": token}, headers=JSON)
    assert error_of(resp) == (400, "138")


async def test_a_token_issued_to_one_consumer_key_does_not_work_with_another(
    client: Client, conn: sqlite3.Connection
) -> None:
    bound = issue_token(conn, consumer_key="other-key")
    assert error_of(await call(client, "/v3/get", bound)) == (401, "107")
    resp = await client.post(
        "/v3/get", json={"consumer_key": "other-key", "access_token": bound}, headers=JSON
    )
    assert resp.status == 200


async def test_tokens_are_stored_only_as_hashes(
    client: Client, conn: sqlite3.Connection, token: str, db_path: Path
) -> None:
    await ok(client, "/v3/add", token, url=A)
    conn.execute("PRAGMA wal_checkpoint(FULL)")
    files = [p for p in db_path.parent.iterdir() if p.is_file()]
    blob = b"".join(p.read_bytes() for p in files)
    assert token.encode() not in blob
    assert hash_secret(token).encode() in blob


@pytest.mark.parametrize(
    "host", ["evil.example", "127.evil.example", "127.0.0.1.nip.io:8080", "localhost.evil.com"]
)
async def test_a_request_whose_host_is_not_loopback_is_refused(
    client: Client, token: str, host: str
) -> None:
    # Names that only look local would let a DNS-rebinding page talk to the list.
    payload = {"consumer_key": KEY, "access_token": token}
    resp = await client.post("/v3/get", json=payload, headers={**JSON, "Host": host})
    assert resp.status == 403 and resp.headers["X-Error"] == "Host not allowed."


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost", "[::1]:9000", "127.1.2.3"])
async def test_a_request_to_a_loopback_host_is_served(
    client: Client, token: str, host: str
) -> None:
    payload = {"consumer_key": KEY, "access_token": token}
    resp = await client.post("/v3/get", json=payload, headers={**JSON, "Host": host})
    assert resp.status == 200


# -- /v3/send: the twelve actions ----------------------------------------------


@pytest.fixture
async def two_items(client: Client, token: str) -> dict[str, str]:
    a = (await ok(client, "/v3/add", token, url=A, tags="a,b"))["item"]["item_id"]
    b = (await ok(client, "/v3/add", token, url=B, tags="b"))["item"]["item_id"]
    return {"a": a, "b": b}


async def test_send_add_saves_and_answers_the_item_object(client: Client, token: str) -> None:
    url = "https://example.org/new"
    answer = await send(client, token, {"action": "add", "url": url, "tags": "n", "title": "N"})
    assert answer["status"] == 1 and answer["action_errors"] == [None]
    assert answer["action_results"][0]["given_url"] == url
    item = await item_of(client, token, url)
    assert item is not None and set(item["tags"]) == {"n"} and item["given_title"] == "N"


async def test_send_archive_moves_the_item_to_the_archive(
    client: Client, token: str, two_items: dict[str, str]
) -> None:
    answer = await send(client, token, {"action": "archive", "item_id": two_items["a"]})
    assert answer == {"status": 1, "action_results": [True], "action_errors": [None]}
    assert list(await listing(client, token, state="archive")) == [two_items["a"]]
    assert list(await listing(client, token, state="unread")) == [two_items["b"]]


async def test_send_readd_moves_an_archived_item_back(
    client: Client, token: str, two_items: dict[str, str]
) -> None:
    await send(client, token, {"action": "archive", "item_id": two_items["a"]})
    answer = await send(client, token, {"action": "readd", "item_id": two_items["a"]})
    assert answer["action_errors"] == [None] and answer["action_results"][0] is not False
    assert two_items["a"] in await listing(client, token, state="unread")


async def test_send_favorite_and_unfavorite(
    client: Client, token: str, two_items: dict[str, str]
) -> None:
    await send(client, token, {"action": "favorite", "item_id": two_items["a"]})
    assert list(await listing(client, token, favorite=1)) == [two_items["a"]]
    await send(client, token, {"action": "unfavorite", "item_id": two_items["a"]})
    assert await listing(client, token, favorite=1) == {}


async def test_send_delete_removes_the_item(
    client: Client, token: str, two_items: dict[str, str]
) -> None:
    await send(client, token, {"action": "delete", "item_id": two_items["a"]})
    assert list(await listing(client, token, state="all")) == [two_items["b"]]


@pytest.mark.parametrize(
    ("action", "tags_after"),
    [
        ({"action": "tags_add", "tags": "c,d"}, {"a", "b", "c", "d"}),
        ({"action": "tags_remove", "tags": "a"}, {"b"}),
        ({"action": "tags_replace", "tags": "z"}, {"z"}),
        ({"action": "tags_clear"}, set()),
    ],
    ids=["tags_add", "tags_remove", "tags_replace", "tags_clear"],
)
async def test_send_tag_actions_change_the_items_tags(
    client: Client,
    token: str,
    two_items: dict[str, str],
    action: dict[str, Any],
    tags_after: set[str],
) -> None:
    answer = await send(client, token, {**action, "item_id": two_items["a"]})
    assert answer["action_results"] == [True]
    item = await item_of(client, token, A)
    assert item is not None and set(item.get("tags", {})) == tags_after


async def test_send_tag_rename_renames_it_on_every_item(
    client: Client, token: str, two_items: dict[str, str]
) -> None:
    await send(client, token, {"action": "tag_rename", "old_tag": "b", "new_tag": "bee"})
    assert set(await listing(client, token, tag="bee")) == set(two_items.values())
    assert await listing(client, token, tag="b") == {}


async def test_send_tag_delete_removes_it_from_every_item(
    client: Client, token: str, two_items: dict[str, str]
) -> None:
    await send(client, token, {"action": "tag_delete", "tag": "b"})
    assert await listing(client, token, tag="b") == {}
    assert list(await listing(client, token, tag="_untagged_")) == [two_items["b"]]


async def test_send_names_items_by_url_too(
    client: Client, token: str, two_items: dict[str, str]
) -> None:
    await send(client, token, {"action": "archive", "url": B})
    assert list(await listing(client, token, state="archive")) == [two_items["b"]]


async def test_send_runs_a_batch_in_order_with_one_result_each(
    client: Client, token: str, two_items: dict[str, str]
) -> None:
    answer = await send(
        client,
        token,
        {"action": "favorite", "item_id": two_items["a"]},
        {"action": "archive", "item_id": two_items["a"]},
        {"action": "tags_add", "item_id": two_items["b"], "tags": "t"},
    )
    assert answer["action_results"] == [True, True, True]
    assert list(await listing(client, token, state="archive", favorite=1)) == [two_items["a"]]


async def test_send_accepts_actions_as_a_json_string_in_a_form(
    client: Client, token: str, two_items: dict[str, str]
) -> None:
    actions = json.dumps([{"action": "archive", "item_id": int(two_items["a"]), "time": "1"}])
    resp = await client.post(
        "/v3/send", data={"consumer_key": KEY, "access_token": token, "actions": actions}
    )
    assert resp.status == 200 and (await resp.json())["action_results"] == [True]


async def test_send_accepts_the_get_form_of_pockets_docs(
    client: Client, token: str, two_items: dict[str, str]
) -> None:
    actions = json.dumps([{"action": "archive", "time": 1348853312, "item_id": two_items["b"]}])
    resp = await client.get(
        "/v3/send", params={"actions": actions, "access_token": token, "consumer_key": KEY}
    )
    assert resp.status == 200 and (await resp.json())["action_results"] == [True]
    assert list(await listing(client, token, state="archive")) == [two_items["b"]]


async def test_send_an_unknown_action_fails_alone_with_code_130(
    client: Client, token: str, two_items: dict[str, str]
) -> None:
    answer = await send(
        client,
        token,
        {"action": "explode", "item_id": two_items["a"]},
        {"action": "archive", "item_id": two_items["a"]},
    )
    assert answer["status"] == 0
    assert answer["action_results"] == [False, True]
    assert answer["action_errors"][0]["code"] == 130 and answer["action_errors"][1] is None


async def test_send_an_action_on_an_unknown_item_fails_alone(
    client: Client, token: str, two_items: dict[str, str]
) -> None:
    answer = await send(
        client,
        token,
        {"action": "archive", "item_id": "999999"},
        {"action": "favorite", "item_id": two_items["b"]},
    )
    assert answer["action_results"] == [False, True]
    assert answer["action_errors"][0]["message"]


@pytest.mark.parametrize(
    "actions",
    [
        {"action": "archive"},
        "not json",
        [{"action": "archive"}],
        [{"action": "add", "title": "no url"}],
        [{"action": "add", "url": "javascript:alert(1)"}],
        [{"action": "tags_add", "url": "file:///etc/passwd", "tags": "x"}],
        ["archive"],
        [{"action": "tags_add", "item_id": {"id": 1}, "tags": "x"}],
    ],
    ids=[
        "object",
        "bad-json",
        "no-target",
        "add-without-url",
        "javascript-url",
        "file-url",
        "string-action",
        "item-id-object",
    ],
)
async def test_send_refuses_a_malformed_batch_whole(
    client: Client, token: str, two_items: dict[str, str], actions: Any
) -> None:
    batch = [{"action": "archive", "item_id": two_items["a"]}]
    batch_value: Any = batch + actions if isinstance(actions, list) else actions
    resp = await call(client, "/v3/send", token, actions=batch_value)
    assert resp.status == 400 and resp.headers["X-Error"]
    assert resp.headers["X-Error-Code"] == "130"
    assert list(await listing(client, token, state="archive")) == []


async def test_send_without_actions_is_a_400(client: Client, token: str) -> None:
    assert (await call(client, "/v3/send", token)).status == 400


# -- /v3/get -------------------------------------------------------------------


async def test_get_of_an_empty_list_answers_an_empty_array_with_status_2(
    client: Client, token: str
) -> None:
    answer = await ok(client, "/v3/get", token)
    assert answer["list"] == [] and answer["status"] == 2 and answer["since"] == 0
    answer = await ok(client, "/v3/get", token, since=1796083200)
    assert answer["list"] == [] and answer["since"] == 1796083200


async def test_get_filters_sorts_and_pages_like_pocket(client: Client, token: str) -> None:
    for n, (url, title) in enumerate(
        [
            ("https://one.example/x", "Zebra"),
            ("https://two.example/y", "apple"),
            ("https://one.example/z", "Mango"),
        ]
    ):
        await ok(client, "/v3/add", token, url=url, title=title, time=1000 + n)

    def titles(answer: dict[str, Any]) -> list[str]:
        return [i["resolved_title"] for i in answer.values()]

    assert titles(await listing(client, token, sort="oldest")) == ["Zebra", "apple", "Mango"]
    assert titles(await listing(client, token, sort="title")) == ["apple", "Mango", "Zebra"]
    assert titles(await listing(client, token, sort="newest", count=1, offset=1)) == ["apple"]
    assert titles(await listing(client, token, domain="one.example", sort="oldest")) == [
        "Zebra",
        "Mango",
    ]
    assert titles(await listing(client, token, search="mang")) == ["Mango"]


async def test_get_detail_type_simple_leaves_out_tags(client: Client, token: str) -> None:
    await ok(client, "/v3/add", token, url=A, tags="x")
    simple = (await ok(client, "/v3/get", token, detailType="simple"))["list"]
    complete = (await ok(client, "/v3/get", token, detailType="complete"))["list"]
    assert "tags" not in next(iter(simple.values()))
    assert list(next(iter(complete.values()))["tags"]) == ["x"]


async def test_get_since_reports_deleted_items_with_status_2(client: Client, token: str) -> None:
    item_id = (await ok(client, "/v3/add", token, url=A, time=1000))["item"]["item_id"]
    await send(client, token, {"action": "delete", "item_id": item_id, "time": 2000})
    assert await listing(client, token, state="all") == {}
    changed = await listing(client, token, state="all", since=1500)
    assert changed[item_id]["status"] == "2"


@pytest.mark.parametrize(
    "params", [{"count": "many"}, {"since": "yesterday"}, {"state": "everything"}]
)
async def test_get_refuses_bad_parameters(
    client: Client, token: str, params: dict[str, Any]
) -> None:
    resp = await call(client, "/v3/get", token, **params)
    assert resp.status == 400 and resp.headers["X-Error"]


# -- as Pocket did it (issue 16) -------------------------------------------------


async def test_a_client_time_in_milliseconds_never_dates_an_item_into_the_future(
    client: Client, token: str, two_items: dict[str, str]
) -> None:
    # node-getpocket and friends send Date.now(): Pocket stored its own clock
    millis = int(time.time() * 1000)
    await send(client, token, {"action": "favorite", "item_id": two_items["a"], "time": millis})
    item = (await listing(client, token, state="all"))[two_items["a"]]
    assert int(item["time_updated"]) <= time.time()
    assert int(item["time_favorited"]) <= time.time()
    later = int(time.time()) + 2
    assert (await ok(client, "/v3/get", token, since=later))["list"] == []


async def test_an_old_client_time_still_counts_as_a_change_now(
    client: Client, token: str, two_items: dict[str, str]
) -> None:
    synced = int(time.time())
    await send(client, token, {"action": "archive", "item_id": two_items["b"], "time": "1000"})
    changed = await listing(client, token, state="all", since=synced)
    assert changed[two_items["b"]]["status"] == "1"
    item = changed[two_items["b"]]
    assert int(item["time_updated"]) >= int(item["time_added"]) >= synced - 1


@pytest.mark.parametrize("since", ["1796083200.0", 1796083200.5, "0.0"])
async def test_get_takes_a_decimal_since_as_pockyt_sends_it(
    client: Client, token: str, since: Any
) -> None:
    assert (await call(client, "/v3/get", token, since=since)).status == 200


async def test_get_items_carry_sort_id_and_pockets_other_fields(client: Client, token: str) -> None:
    for url in (A, B, "https://example.org/c"):
        await ok(client, "/v3/add", token, url=url)
    answer = await ok(client, "/v3/get", token, sort="oldest")
    entries = list(answer["list"].values())
    assert [e["given_url"] for e in sorted(entries, key=lambda e: e["sort_id"])] == [
        A,
        B,
        "https://example.org/c",
    ]
    assert {(e["is_index"], e["lang"], e["time_to_read"]) for e in entries} == {("0", "", 0)}
    assert answer["status"] == 1
    assert answer["since"] == max(int(e["time_updated"]) for e in entries)


async def test_get_state_queue_and_read_are_unread_and_archive(
    client: Client, token: str, two_items: dict[str, str]
) -> None:
    await send(client, token, {"action": "archive", "item_id": two_items["a"]})
    assert list(await listing(client, token, state="queue")) == [two_items["b"]]
    assert list(await listing(client, token, state="read")) == [two_items["a"]]
    assert list(await listing(client, token, state="ARCHIVE")) == [two_items["a"]]


async def test_get_offset_without_count_skips_that_many(client: Client, token: str) -> None:
    for url in (A, B, "https://example.org/c"):
        await ok(client, "/v3/add", token, url=url)
    answer = await listing(client, token, sort="oldest", offset=1)
    assert [i["given_url"] for i in answer.values()] == [B, "https://example.org/c"]


async def test_get_domain_takes_in_subdomains_but_not_lookalikes(
    client: Client, token: str
) -> None:
    urls = [
        "https://one.example/a",
        "https://www.one.example/b",
        "http://news.one.example:8080/c",
        "https://notone.example/d",
        "https://other.example/one.example/e",
    ]
    for url in urls:
        await ok(client, "/v3/add", token, url=url)
    found = await listing(client, token, domain="one.example", sort="oldest")
    assert [i["given_url"] for i in found.values()] == urls[:3]
    paged = await listing(client, token, domain="one.example", sort="oldest", count=1, offset=1)
    assert [i["given_url"] for i in paged.values()] == urls[1:2]


async def test_get_content_type_finds_nothing_serve_cannot_know(client: Client, token: str) -> None:
    await ok(client, "/v3/add", token, url=A)
    answer = await ok(client, "/v3/get", token, contentType="article")
    assert answer["list"] == [] and answer["status"] == 2
    assert (await call(client, "/v3/get", token, contentType="podcast")).status == 400


@pytest.mark.parametrize(
    "action",
    [
        {"action": "archive", "item_id": "abc"},
        {"action": "archive", "item_id": ""},
        {"action": "archive", "item_id": "-1"},
        {"action": "archive", "url": A, "time": "12abc"},
        {"action": "archive", "url": A, "time": 1.5},
        {"action": "add", "url": A, "title": ""},
        {"action": "add", "url": A, "tags": "a,,b"},
        {"action": "add", "url": A, "tags": ""},
        {"action": "tags_add", "url": A, "tags": ["a", "b"]},
        {"action": "tags_add", "url": A},
        {"action": "tags_remove", "url": A, "tags": "a,"},
        {"action": "tag_rename", "old_tag": "a"},
        {"action": "tag_rename", "old_tag": "", "new_tag": "b"},
        {"action": "tag_delete", "tag": ""},
        {"action": ""},
    ],
    ids=[
        "item-id-letters",
        "item-id-empty",
        "item-id-negative",
        "time-letters",
        "time-fraction",
        "empty-title",
        "empty-tag-inside",
        "empty-tags",
        "tags-as-list",
        "tags-missing",
        "trailing-comma",
        "rename-without-new",
        "rename-empty-old",
        "delete-empty-tag",
        "empty-action-name",
    ],
)
async def test_send_refuses_what_pockets_validators_refused(
    client: Client, token: str, two_items: dict[str, str], action: dict[str, Any]
) -> None:
    batch = [{"action": "archive", "item_id": two_items["a"]}, action]
    resp = await call(client, "/v3/send", token, actions=batch)
    assert error_of(resp) == (400, "130") and resp.headers["X-Error"]
    assert list(await listing(client, token, state="archive")) == []


async def test_send_refuses_an_empty_batch(client: Client, token: str) -> None:
    assert error_of(await call(client, "/v3/send", token, actions=[])) == (400, "130")


@pytest.mark.parametrize(
    "body", [{"title": ""}, {"tags": "a,,b"}, {"tags": []}, {"tags": ["a", ""]}]
)
async def test_add_refuses_an_empty_title_or_tag(
    client: Client, token: str, body: dict[str, Any]
) -> None:
    assert (await call(client, "/v3/add", token, url=A, **body)).status == 400
    assert await listing(client, token, state="all") == {}


@pytest.mark.parametrize(
    "params",
    [{"favorite": "yes"}, {"sort": "random"}, {"detailType": "full"}, {"since": "-5"}],
)
async def test_get_refuses_values_pocket_refused(
    client: Client, token: str, params: dict[str, Any]
) -> None:
    assert (await call(client, "/v3/get", token, **params)).status == 400


async def test_oauth_takes_get_as_pypocket_sends_it(
    client: Client, app_callback: tuple[str, list[str]]
) -> None:
    redirect_uri, _ = app_callback
    query = {"consumer_key": KEY, "redirect_uri": redirect_uri}
    resp = await client.get("/v3/oauth/request", params=query, headers=JSON)
    code = (await resp.json())["code"]
    await answer_approval_page(client, code, redirect_uri, "approve")
    resp = await client.get(
        "/v3/oauth/authorize", params={"consumer_key": KEY, "code": code}, headers=JSON
    )
    assert resp.status == 200 and (await resp.json())["username"] == "local"


# -- rate limits -----------------------------------------------------------------


async def test_every_answer_carries_rate_limit_headers(client: Client, token: str) -> None:
    for resp in (
        await call(client, "/v3/get", token),
        await call(client, "/v3/get", "nope"),
        await client.get("/auth/authorize?request_token=nope"),
        await client.post("/v3/oauth/request", json={}),
    ):
        for scope in ("User", "Key"):
            for part in ("Limit", "Remaining", "Reset"):
                assert resp.headers[f"X-Limit-{scope}-{part}"].isdigit(), (scope, part)


async def test_calls_count_down_the_users_remaining_calls(client: Client, token: str) -> None:
    first = await call(client, "/v3/get", token)
    second = await call(client, "/v3/get", token)
    remaining = int(first.headers["X-Limit-User-Remaining"])
    assert int(second.headers["X-Limit-User-Remaining"]) == remaining - 1


async def test_an_exhausted_rate_limit_is_403_until_the_window_resets(
    aiohttp_client: MakeClient, conn: sqlite3.Connection, token: str
) -> None:
    now = [1000.0]
    client = await aiohttp_client(create_app(conn, rate_limit=2, clock=lambda: now[0]))
    assert (await call(client, "/v3/get", token)).status == 200
    assert (await call(client, "/v3/get", token)).status == 200
    limited = await call(client, "/v3/get", token)
    assert limited.status == 403
    assert limited.headers["X-Error-Code"].startswith("51")
    assert limited.headers["X-Limit-User-Remaining"] == "0"
    assert int(limited.headers["Retry-After"]) == 3600
    now[0] += 3600
    assert (await call(client, "/v3/get", token)).status == 200


async def test_an_exhausted_consumer_key_limit_is_403(
    aiohttp_client: MakeClient, conn: sqlite3.Connection
) -> None:
    client = await aiohttp_client(create_app(conn, key_rate_limit=1))
    body = {"consumer_key": KEY, "redirect_uri": "http://127.0.0.1:9/cb"}
    assert (await client.post("/v3/oauth/request", json=body, headers=JSON)).status == 200
    limited = await client.post("/v3/oauth/request", json=body, headers=JSON)
    assert limited.status == 403 and limited.headers["X-Limit-Key-Remaining"] == "0"
    assert limited.headers["Retry-After"].isdigit()
    other = {**body, "consumer_key": "another-app"}
    assert (await client.post("/v3/oauth/request", json=other, headers=JSON)).status == 200


# -- OAuth -----------------------------------------------------------------------


async def test_oauth_request_answers_a_code_and_the_state(client: Client) -> None:
    resp = await client.post(
        "/v3/oauth/request",
        json={"consumer_key": KEY, "redirect_uri": "http://127.0.0.1:9/cb", "state": "s1"},
        headers=JSON,
    )
    answer = await resp.json()
    assert resp.status == 200 and answer["state"] == "s1" and len(answer["code"]) >= 30


async def test_oauth_request_answers_form_encoded_without_x_accept(client: Client) -> None:
    resp = await client.post(
        "/v3/oauth/request", data={"consumer_key": KEY, "redirect_uri": "myapp:done"}
    )
    assert resp.status == 200
    assert resp.content_type == "application/x-www-form-urlencoded"
    assert list(parse_qs(await resp.text())) == ["code"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"redirect_uri": "http://127.0.0.1:9/cb"}, 400, "138"),
        ({"consumer_key": KEY}, 400, "140"),
        ({"consumer_key": KEY, "redirect_uri": "javascript:alert(1)"}, 400, "181"),
        ({"consumer_key": "someone-else", "redirect_uri": "http://127.0.0.1:9/"}, 403, "152"),
    ],
    ids=["no-consumer-key", "no-redirect", "javascript-redirect", "other-consumer-key"],
)
async def test_oauth_request_errors(
    aiohttp_client: MakeClient,
    conn: sqlite3.Connection,
    body: dict[str, str],
    status: int,
    code: str,
) -> None:
    client = await aiohttp_client(create_app(conn, consumer_key=KEY))
    resp = await client.post("/v3/oauth/request", json=body, headers=JSON)
    assert error_of(resp) == (status, code) and resp.headers["X-Error"]


@pytest.fixture
async def app_callback(aiohttp_server: Any) -> AsyncIterator[tuple[str, list[str]]]:
    """The signing-in application's loopback redirect listener."""
    hits: list[str] = []

    async def callback(request: web.Request) -> web.Response:
        hits.append(str(request.rel_url))
        return web.Response(text="You can close this tab.")

    app = web.Application()
    app.router.add_get("/callback", callback)
    server = await aiohttp_server(app, host="127.0.0.1")
    yield f"http://127.0.0.1:{server.port}/callback?session=42", hits


async def request_code(client: Client, redirect_uri: str) -> str:
    resp = await client.post(
        "/v3/oauth/request",
        json={"consumer_key": KEY, "redirect_uri": redirect_uri, "state": "st"},
        headers=JSON,
    )
    return str((await resp.json())["code"])


async def answer_approval_page(
    client: Client, code: str, redirect_uri: str, decision: str
) -> aiohttp.ClientResponse:
    """What a person does in the browser: open the page, press a button."""
    page = await client.get(
        "/auth/authorize", params={"request_token": code, "redirect_uri": redirect_uri}
    )
    text = await page.text()
    assert page.status == 200
    assert "wants to access your Tuckaway list" in text and "Approve" in text and "Deny" in text
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', text))
    assert fields["request_token"] == code and fields["form_token"]
    return await client.post("/auth/authorize", data={**fields, "decision": decision})


async def authorize(client: Client, code: str) -> aiohttp.ClientResponse:
    return await client.post(
        "/v3/oauth/authorize", json={"consumer_key": KEY, "code": code}, headers=JSON
    )


async def test_the_full_oauth_dance_issues_a_working_token(
    client: Client, app_callback: tuple[str, list[str]]
) -> None:
    redirect_uri, hits = app_callback
    code = await request_code(client, redirect_uri)
    landed = await answer_approval_page(client, code, redirect_uri, "approve")
    assert landed.status == 200 and await landed.text() == "You can close this tab."
    assert hits == ["/callback?session=42"]
    assert landed.history[0].status == 302

    resp = await authorize(client, code)
    answer = await resp.json()
    assert resp.status == 200 and answer["username"] == "local"
    item = (await ok(client, "/v3/add", answer["access_token"], url=A))["item"]
    assert item["given_url"] == A


async def test_oauth_authorize_answers_form_encoded_without_x_accept(
    client: Client, app_callback: tuple[str, list[str]]
) -> None:
    redirect_uri, _ = app_callback
    code = await request_code(client, redirect_uri)
    await answer_approval_page(client, code, redirect_uri, "approve")
    resp = await client.post("/v3/oauth/authorize", data={"consumer_key": KEY, "code": code})
    fields = parse_qs(await resp.text())
    assert fields["username"] == ["local"] and fields["access_token"][0]


async def test_a_denied_code_is_403_code_158(
    client: Client, app_callback: tuple[str, list[str]]
) -> None:
    redirect_uri, hits = app_callback
    code = await request_code(client, redirect_uri)
    landed = await answer_approval_page(client, code, redirect_uri, "deny")
    assert landed.status == 200 and hits == ["/callback?session=42"]
    assert error_of(await authorize(client, code)) == (403, "158")


async def test_a_code_used_twice_is_403_code_159(
    client: Client, app_callback: tuple[str, list[str]]
) -> None:
    redirect_uri, _ = app_callback
    code = await request_code(client, redirect_uri)
    await answer_approval_page(client, code, redirect_uri, "approve")
    assert (await authorize(client, code)).status == 200
    assert error_of(await authorize(client, code)) == (403, "159")


async def test_a_code_not_yet_approved_is_403(client: Client) -> None:
    code = await request_code(client, "http://127.0.0.1:9/cb")
    resp = await authorize(client, code)
    assert error_of(resp) == (403, "158") and "not approved" in resp.headers["X-Error"]


async def test_oauth_authorize_errors_for_missing_and_unknown_codes(client: Client) -> None:
    resp = await client.post("/v3/oauth/authorize", json={"consumer_key": KEY}, headers=JSON)
    assert error_of(resp) == (400, "182")
    assert error_of(await authorize(client, "no-such-code")) == (400, "185")


async def test_the_approval_page_for_an_unknown_code_is_a_400_page(client: Client) -> None:
    resp = await client.get("/auth/authorize", params={"request_token": "nope"})
    assert resp.status == 400 and resp.content_type == "text/html"
    assert "Unknown request" in await resp.text()


async def test_the_approval_page_escapes_what_the_application_sent(client: Client) -> None:
    resp = await client.post(
        "/v3/oauth/request",
        json={"consumer_key": "<b>x</b>-1", "redirect_uri": "http://127.0.0.1:9/<i>"},
        headers=JSON,
    )
    code = (await resp.json())["code"]
    page = await client.get("/auth/authorize", params={"request_token": code})
    text = await page.text()
    assert "<b>" not in text and "&lt;b&gt;" in text
    assert page.headers["X-Frame-Options"] == "DENY"


async def test_the_approval_form_needs_the_pages_form_token(client: Client) -> None:
    code = await request_code(client, "http://127.0.0.1:9/cb")
    resp = await client.post(
        "/auth/authorize",
        data={"request_token": code, "form_token": "forged", "decision": "approve"},
        allow_redirects=False,
    )
    assert resp.status == 403
    assert error_of(await authorize(client, code)) == (403, "158")


async def test_the_approval_page_refuses_a_different_redirect(client: Client) -> None:
    code = await request_code(client, "http://127.0.0.1:9/cb")
    resp = await client.get(
        "/auth/authorize",
        params={"request_token": code, "redirect_uri": "http://127.0.0.1:9/elsewhere"},
    )
    assert resp.status == 400


async def test_a_code_is_answered_only_once_on_the_page(client: Client) -> None:
    code = await request_code(client, "http://127.0.0.1:9/cb")
    page = await client.get("/auth/authorize", params={"request_token": code})
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)">', await page.text()))
    first = await client.post(
        "/auth/authorize", data={**fields, "decision": "deny"}, allow_redirects=False
    )
    assert first.status == 302 and first.headers["Location"] == "http://127.0.0.1:9/cb"
    second = await client.post(
        "/auth/authorize", data={**fields, "decision": "approve"}, allow_redirects=False
    )
    assert second.status == 400
    assert error_of(await authorize(client, code)) == (403, "158")


# -- in-process and subprocess servers ---------------------------------------------


async def test_start_server_listens_on_a_free_loopback_port(
    conn: sqlite3.Connection, token: str
) -> None:
    async with await start_server(conn, port=0) as server:
        assert server.url.startswith("http://127.0.0.1:") and server.port > 0
        async with aiohttp.ClientSession() as session:
            payload = {"consumer_key": KEY, "access_token": token, "url": A}
            async with session.post(f"{server.url}/v3/add", json=payload) as resp:
                assert resp.status == 200


async def test_the_serve_command_prints_a_token_and_answers_v3_add(
    env: dict[str, str], tmp_path: Path
) -> None:
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tuckaway.cli",
            "serve",
            "--port",
            "0",
            "--ready-file",
            str(ready),
            "--issue-token",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        for _ in range(300):
            if ready.exists() or proc.poll() is not None:
                break
            await asyncio.sleep(0.05)
        assert ready.exists(), "the server did not report ready"
        url = ready.read_text().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        assert proc.stdout is not None
        token = proc.stdout.readline().decode().strip()
        async with aiohttp.ClientSession() as session:
            payload = {"consumer_key": KEY, "access_token": token, "url": A, "tags": "cli"}
            async with session.post(f"{url}/v3/add", json=payload, headers=JSON) as resp:
                assert resp.status == 200
                assert (await resp.json())["item"]["given_url"] == A
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert out == b""  # the token line was the only output, already read
    assert f"serving on {url}".encode() in err
    listed = subprocess.run(
        [sys.executable, "-m", "tuckaway.cli", "list", "--json"],
        capture_output=True,
        env=env,
        check=True,
    )
    assert A in listed.stdout.decode()


def test_the_serve_command_refuses_a_non_loopback_host(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tuckaway.cli", "serve", "--port", "0", "--host", "0.0.0.0"],
        capture_output=True,
        env=env,
        timeout=30,
    )
    assert done.returncode == 2 and done.stdout == b""
    assert b"TLS" in done.stderr and b"--allow-remote" in done.stderr
