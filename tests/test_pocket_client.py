"""The Pocket client: its models take what real services send; its errors are typed.

Models are checked on literal answers; the client itself over real HTTP
against a small aiohttp server on 127.0.0.1 that answers what each test says.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tuckaway.errors import ActionFailed, AuthFailed, RateLimited, Unavailable
from tuckaway.services.pocket.actions import to_action
from tuckaway.services.pocket.client import (
    AddResponse,
    BadRequest,
    GetResponse,
    PermissionDenied,
    PocketAuthFailed,
    PocketClient,
    PocketItem,
    PocketRateLimited,
    PocketUnavailable,
    RateLimits,
    SendResponse,
)

TOKEN = "tok-secret-0123456789"
KEY = "1234-consumerkey"

# -- models ----------------------------------------------------------------------------


def test_item_ids_may_be_numbers_or_strings() -> None:
    assert PocketItem.model_validate({"item_id": 229279689}).item_id == "229279689"
    assert PocketItem.model_validate({"item_id": "229279689"}).item_id == "229279689"
    item = PocketItem.model_validate({"item_id": "1", "resolved_id": 7, "time_added": "1700000000"})
    assert item.resolved_id == "7"
    assert item.time_added == 1700000000


def test_item_favorite_and_status_may_be_strings() -> None:
    item = PocketItem.model_validate({"item_id": "1", "favorite": "1", "status": "2"})
    assert item.favorite is True
    assert item.status == 2
    assert PocketItem.model_validate({"item_id": "1", "favorite": "0"}).favorite is False


def test_item_tags_as_pocket_object_or_list_become_names() -> None:
    as_object = {"item_id": "1", "tags": {"a": {"item_id": "1", "tag": "a"}, "b": {}}}
    as_list = {"item_id": "1", "tags": [{"tag": "a"}, "b"]}
    assert PocketItem.model_validate(as_object).tag_names == ["a", "b"]
    assert PocketItem.model_validate(as_list).to_store()["tags"] == ["a", "b"]


def test_item_to_store_says_favorite_as_pocket_does() -> None:
    data = PocketItem.model_validate({"item_id": 3, "given_url": "https://a", "favorite": 1})
    assert data.to_store() == {"item_id": "3", "given_url": "https://a", "favorite": "1"}


def test_send_answer_without_action_errors_judges_by_results() -> None:
    answer = SendResponse.model_validate(
        {"status": 1, "action_results": [True, False, {"item_id": 5, "given_url": "u"}]}
    )
    assert answer.outcome(0) == (True, True, None)
    assert answer.outcome(1)[0] is False
    ok, result, _ = answer.outcome(2)
    assert ok and isinstance(result, PocketItem) and result.item_id == "5"


def test_send_answer_with_status_0_fails_only_the_failed_action() -> None:
    answer = SendResponse.model_validate(
        {
            "status": 0,
            "action_results": [True, False],
            "action_errors": [None, {"message": "Invalid URL", "type": "Bad Request", "code": 422}],
        }
    )
    assert answer.outcome(0)[0] is True
    assert answer.outcome(1) == (False, False, "Invalid URL")


def test_send_answer_error_entries_may_be_plain_strings() -> None:
    answer = SendResponse.model_validate({"action_results": [False], "action_errors": ["nope"]})
    assert answer.outcome(0) == (False, False, "nope")


def test_get_answer_empty_list_comes_as_an_array() -> None:
    answer = GetResponse.model_validate({"status": 1, "complete": 1, "list": [], "since": "17"})
    assert answer.list == {}
    assert answer.since == 17


def test_get_answer_keys_items_by_id() -> None:
    answer = GetResponse.model_validate(
        {"list": {"9": {"item_id": 9, "given_url": "https://x", "status": "1"}}, "since": 5}
    )
    assert answer.list["9"].status == 1
    assert answer.list["9"].url == "https://x"


def test_add_answer_item_is_parsed() -> None:
    answer = AddResponse.model_validate({"item": {"item_id": "12", "normal_url": "u"}, "status": 1})
    assert answer.item is not None and answer.item.item_id == "12"


@pytest.mark.parametrize("item", [True, [], {"given_url": "u"}, None])
def test_add_answer_that_does_not_describe_the_item_has_none(item: Any) -> None:
    assert AddResponse.model_validate({"item": item, "status": 1}).item is None
    assert AddResponse.model_validate({"status": 1}).item is None


def test_rate_limits_reset_of_the_exhausted_window_wins() -> None:
    limits = RateLimits.from_headers(
        {"X-Limit-User-Remaining": "0", "X-Limit-User-Reset": "120", "X-Limit-Key-Reset": "9"}
    )
    assert limits.exhausted
    assert limits.retry_after == 120.0


def test_rate_limits_reset_without_remaining_counts_as_exhausted() -> None:
    limits = RateLimits.from_headers({"X-Limit-Key-Reset": "33"})
    assert limits.exhausted and limits.retry_after == 33.0
    assert not RateLimits.from_headers({"X-Limit-User-Remaining": "5"}).exhausted


# -- the client over HTTP ---------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Service:
    """Answers every POST with ``self.reply``; records what was asked."""

    def __init__(self) -> None:
        self.reply: Handler = self._ok
        self.seen: list[tuple[str, str, dict[str, str], Any]] = []

    @staticmethod
    async def _ok(request: web.Request) -> web.StreamResponse:
        return web.json_response({"status": 1, "action_results": []})

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        self.seen.append(
            (
                request.path,
                request.query_string,
                dict(request.headers),
                json.loads(body) if body else None,
            )
        )
        return await self.reply(request)


@pytest.fixture
async def service() -> AsyncIterator[tuple[Service, PocketClient]]:
    svc = Service()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", svc.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        client = PocketClient(session, str(server.make_url("")), KEY, TOKEN, timeout_s=1.0)
        yield svc, client
    await server.close()


def answer(status: int, body: str = "", **headers: str) -> Handler:
    async def reply(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, text=body, headers=headers)

    return reply


async def test_credentials_ride_in_the_json_body_never_the_url(
    service: tuple[Service, PocketClient],
) -> None:
    svc, client = service
    await client.send([{"action": "archive", "item_id": "1"}])
    path, query, headers, body = svc.seen[0]
    assert path == "/v3/send" and query == ""
    assert headers["X-Accept"] == "application/json"
    assert headers["Content-Type"].startswith("application/json")
    assert body == {
        "actions": [{"action": "archive", "item_id": "1"}],
        "consumer_key": KEY,
        "access_token": TOKEN,
    }


async def test_add_sends_comma_joined_tags_and_returns_the_item(
    service: tuple[Service, PocketClient],
) -> None:
    svc, client = service

    async def added(request: web.Request) -> web.StreamResponse:
        return web.json_response({"item": {"item_id": 77, "given_url": "https://a"}, "status": 1})

    svc.reply = added
    item = await client.add("https://a", "A", ["x", "y"], time=5)
    assert item.item_id == "77"
    assert svc.seen[0][3]["tags"] == "x,y" and svc.seen[0][3]["time"] == "5"


async def test_add_answered_saved_without_the_item_returns_none_and_status_0_is_refused(
    service: tuple[Service, PocketClient],
) -> None:
    svc, client = service
    svc.reply = answer(200, json.dumps({"item": True, "status": 1}))
    assert await client.add("https://a") is None
    svc.reply = answer(200, json.dumps({"status": 0}))
    with pytest.raises(BadRequest, match="did not save it"):
        await client.add("https://a")


async def test_400_is_a_bad_request_with_the_services_message(
    service: tuple[Service, PocketClient],
) -> None:
    svc, client = service
    svc.reply = answer(400, "<html>no</html>", **{"X-Error": "Invalid URL", "X-Error-Code": "422"})
    with pytest.raises(BadRequest) as caught:
        await client.send([{"action": "add", "url": "x"}])
    assert isinstance(caught.value, ActionFailed)
    assert caught.value.message == "Invalid URL" and caught.value.error_code == "422"


async def test_401_is_auth_failed_and_never_echoes_the_token(
    service: tuple[Service, PocketClient],
) -> None:
    svc, client = service
    svc.reply = answer(401, f"bad token {TOKEN}")
    with pytest.raises(PocketAuthFailed) as caught:
        await client.get(since=1)
    assert isinstance(caught.value, AuthFailed)
    assert TOKEN not in caught.value.message and "***" in caught.value.message


async def test_403_with_user_reset_is_rate_limited_for_that_long(
    service: tuple[Service, PocketClient],
) -> None:
    svc, client = service
    svc.reply = answer(403, "", **{"X-Limit-User-Remaining": "0", "X-Limit-User-Reset": "42"})
    with pytest.raises(PocketRateLimited) as caught:
        await client.send([])
    assert isinstance(caught.value, RateLimited) and caught.value.retry_after == 42.0


async def test_403_without_limits_is_permission_denied(
    service: tuple[Service, PocketClient],
) -> None:
    svc, client = service
    svc.reply = answer(403, "", **{"X-Error": "no modify permission"})
    with pytest.raises(PermissionDenied):
        await client.send([])


async def test_429_waits_as_retry_after_says(service: tuple[Service, PocketClient]) -> None:
    svc, client = service
    svc.reply = answer(429, "slow down", **{"Retry-After": "7"})
    with pytest.raises(PocketRateLimited) as caught:
        await client.send([])
    assert caught.value.retry_after == 7.0


async def test_5xx_is_unavailable(service: tuple[Service, PocketClient]) -> None:
    svc, client = service
    svc.reply = answer(503, "<html><title>Down for maintenance</title></html>")
    with pytest.raises(PocketUnavailable) as caught:
        await client.send([])
    assert isinstance(caught.value, Unavailable)
    assert "Down for maintenance" in caught.value.message


async def test_a_slow_answer_times_out_as_unavailable(
    service: tuple[Service, PocketClient],
) -> None:
    svc, client = service

    async def slow(request: web.Request) -> web.StreamResponse:
        import asyncio

        await asyncio.sleep(3)
        return web.json_response({})

    svc.reply = slow
    client.timeout_s = 0.2
    with pytest.raises(PocketUnavailable, match="did not answer"):
        await client.send([])


async def test_an_answer_that_is_not_json_is_unavailable(
    service: tuple[Service, PocketClient],
) -> None:
    svc, client = service
    svc.reply = answer(200, "status=1&action_results=")
    with pytest.raises(PocketUnavailable, match="not JSON"):
        await client.send([])


async def test_no_service_listening_is_unavailable() -> None:
    async with aiohttp.ClientSession() as session:
        client = PocketClient(session, "http://127.0.0.1:9", KEY, TOKEN, timeout_s=1.0)
        with pytest.raises(PocketUnavailable, match="cannot reach"):
            await client.get()


# -- as Pocket's server wanted it (issue 16) -------------------------------------------


def test_an_action_never_carries_an_empty_title_or_tag() -> None:
    action = to_action("save", {"url": "https://a", "title": "", "tags": ["a", " ", ""]})
    assert "title" not in action and action["tags"] == "a"
    blank = to_action("save", {"url": "https://a", "title": "   ", "tags": [" "]})
    assert "title" not in blank and "tags" not in blank
    assert to_action("save", {"url": "https://a", "title": "T"})["title"] == "T"


async def test_add_never_sends_an_empty_title_or_tag(
    service: tuple[Service, PocketClient],
) -> None:
    svc, client = service
    svc.reply = answer(200, json.dumps({"item": {"item_id": 1, "given_url": "https://a"}}))
    await client.add("https://a", "  ", ["", "x", " "])
    body = svc.seen[0][3]
    assert "title" not in body and body["tags"] == "x"


async def test_after_a_200_that_spent_the_last_call_nothing_is_sent_until_the_reset(
    service: tuple[Service, PocketClient],
) -> None:
    svc, client = service
    svc.reply = answer(
        200,
        json.dumps({"status": 1, "action_results": []}),
        **{"X-Limit-User-Remaining": "0", "X-Limit-User-Reset": "30"},
    )
    await client.send([])
    with pytest.raises(PocketRateLimited) as caught:
        await client.get(since=1)
    assert len(svc.seen) == 1
    assert 25 < caught.value.retry_after <= 30


async def test_a_200_with_calls_left_holds_nothing(service: tuple[Service, PocketClient]) -> None:
    svc, client = service
    svc.reply = answer(
        200,
        json.dumps({"status": 1, "action_results": []}),
        **{"X-Limit-User-Remaining": "1", "X-Limit-User-Reset": "30"},
    )
    await client.send([])
    await client.send([])
    assert len(svc.seen) == 2
