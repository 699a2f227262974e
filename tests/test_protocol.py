"""Request validation: every bad input becomes a clear, located error."""

from __future__ import annotations

from typing import Literal

import pytest

from tuckaway import PROTOCOL_VERSION
from tuckaway.errors import InvalidMessage, InvalidRequest
from tuckaway.wire import dispatch, protocol
from tuckaway.wire.protocol import (
    ITEM_OPS,
    LIST_OPS,
    OPS,
    READ_SERVICE,
    RESULTS,
    WRITE_OPS,
    WRITE_SERVICE,
    parse_request,
)
from tuckaway.wire.schema import json_schema


def fields_of(message: object) -> list[dict[str, str]]:
    with pytest.raises(InvalidRequest) as info:
        parse_request(message)
    return info.value.fields


@pytest.mark.parametrize("message", [[1, 2], "hello", 3, None, True])
def test_non_objects_are_invalid_messages(message: object) -> None:
    with pytest.raises(InvalidMessage):
        parse_request(message)


@pytest.mark.parametrize("rid", [None, "", "x" * 65, True, 1.5, [], {}])
def test_unusable_ids_are_invalid_messages(rid: object) -> None:
    with pytest.raises(InvalidMessage):
        parse_request({"id": rid, "op": "hello"})


def test_string_and_integer_ids_are_accepted() -> None:
    assert parse_request({"id": "a" * 64, "op": "hello"}).id == "a" * 64
    assert parse_request({"id": 7, "op": "hello"}).id == 7


def test_unknown_op_names_the_op_field() -> None:
    assert fields_of({"id": 1, "op": "explode"}) == [{"loc": "op", "msg": "unknown op 'explode'"}]


def test_unknown_fields_are_refused() -> None:
    assert fields_of({"id": 1, "op": "hello", "x": 1}) == [{"loc": "x", "msg": "unknown field"}]


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,hi", "ftp://x.org/",
     "chrome://settings", "https://", "not a url", "http://exa mple.org/\n"],
)
def test_only_http_and_https_urls_can_be_saved(url: str) -> None:
    fields = fields_of({"id": 1, "op": "save", "url": url})
    assert fields[0]["loc"] == "url"


def test_tags_with_commas_empty_or_too_long_are_refused_with_their_index() -> None:
    fields = fields_of({"id": 1, "op": "save", "url": "https://a.org/",
                        "tags": ["ok", "a,b", "  ", "x" * 101]})
    assert [f["loc"] for f in fields] == ["tags.1", "tags.2", "tags.3"]
    assert "comma" in fields[0]["msg"]


def test_tags_are_trimmed() -> None:
    req = parse_request({"id": 1, "op": "save", "url": "https://a.org/", "tags": [" x "]})
    assert req.tags == ["x"]


@pytest.mark.parametrize(
    "message,loc",
    [
        ({"id": 1, "op": "save", "url": 5}, "url"),
        ({"id": 1, "op": "save", "url": "https://a.org/", "tags": "a,b"}, "tags"),
        ({"id": 1, "op": "save", "url": "https://a.org/", "title": 3}, "title"),
        ({"id": 1, "op": "archive", "item_id": 5}, "item_id"),
        ({"id": 1, "op": "bookmarks", "limit": 41}, "limit"),
        ({"id": 1, "op": "bookmarks", "limit": "5"}, "limit"),
        ({"id": 1, "op": "tags_add", "item_id": "1", "tags": []}, "tags"),
        ({"id": 1, "op": "login", "service": "myspace"}, "service"),
    ],
)
def test_wrong_types_are_located(message: dict[str, object], loc: str) -> None:
    assert fields_of(message)[0]["loc"] == loc


def test_item_ops_need_exactly_one_of_item_id_or_url() -> None:
    assert "exactly one" in fields_of({"id": 1, "op": "archive"})[0]["msg"]
    both = {"id": 1, "op": "archive", "item_id": "1", "url": "https://a.org/"}
    assert "exactly one" in fields_of(both)[0]["msg"]


@pytest.mark.parametrize(
    ("message", "loc"),
    [
        ({"id": 1, "op": "archive"}, "url"),
        ({"id": 1, "op": "tags_add", "tags": ["a"]}, "url"),
        ({"id": 1, "op": "bookmark"}, "status_url"),
        ({"id": 1, "op": "login", "service": "mastodon"}, "instance"),
    ],
)
def test_a_whole_request_rule_names_the_field_it_is_about(
    message: dict[str, object], loc: str
) -> None:
    assert [f["loc"] for f in fields_of(message)] == [loc]


def test_mastodon_login_needs_an_instance() -> None:
    assert "instance" in fields_of({"id": 1, "op": "login", "service": "mastodon"})[0]["msg"]


URLS = [
    "https://example.com/a?b=1#c",
    "HTTP://EXAMPLE.COM",
    " https://example.com/ ",
    "https://ünïcode.example/é",
    "javascript:alert(1)",
    "file:///etc/passwd",
    "ftp://example.com/",
    "https://",
    "https:///path-only",
    "https://exa mple.com/",
    "https://example.com/\x00",
    "https://example.com/\u00a0",
    "https://example.com/\x7f",
]
TAGS = ["a", " two words ", "x" * 100, f" {'x' * 100}  ", "a,b", "", "   ", "x" * 101]


def _host_accepts(message: dict[str, object]) -> bool:
    try:
        parse_request(message)
    except InvalidRequest:
        return False
    return True


@pytest.mark.parametrize("url", URLS)
def test_the_schema_url_pattern_agrees_with_the_host(url: str) -> None:
    import re

    schema = json_schema()["$defs"]["Save"]["properties"]["url"]
    by_schema = len(url) <= schema["maxLength"] and re.search(schema["pattern"], url) is not None
    assert by_schema == _host_accepts({"id": 1, "op": "save", "url": url})


@pytest.mark.parametrize("tag", TAGS)
def test_the_schema_tag_pattern_agrees_with_the_host(tag: str) -> None:
    import re

    schema = json_schema()["$defs"]["Save"]["properties"]["tags"]["items"]
    by_schema = re.search(schema["pattern"], tag) is not None
    url = "https://a.org/"
    assert by_schema == _host_accepts({"id": 1, "op": "save", "url": url, "tags": [tag]})


def test_payload_drops_id_op_and_unset_fields() -> None:
    req = parse_request({"id": 1, "op": "save", "url": "https://a.org/"})
    assert req.payload() == {"url": "https://a.org/", "tags": []}
    assert req.is_write


def test_schema_covers_every_op_and_result() -> None:
    schema = json_schema()
    request = schema["properties"]["request"]
    ops = set()
    for ref in request["oneOf"]:
        model = schema["$defs"][ref["$ref"].split("/")[-1]]
        op = model["properties"]["op"]
        ops.update(op.get("enum") or [op.get("const")])
    assert ops == set(OPS)
    assert set(schema["properties"]["results"]["properties"]) == set(RESULTS) == set(OPS)


def test_the_op_lists_are_read_off_the_request_union() -> None:
    assert ITEM_OPS == {
        "archive", "readd", "favorite", "unfavorite", "delete",
        "tags_add", "tags_remove", "tags_replace", "tags_clear",
    }  # fmt: skip
    assert LIST_OPS == {"save", *ITEM_OPS, "tag_rename", "tag_delete"}
    assert WRITE_OPS == {*LIST_OPS, "bookmark", "unbookmark"}
    assert WRITE_SERVICE == {**dict.fromkeys(LIST_OPS, "list"), "bookmark": "mastodon",
                             "unbookmark": "mastodon"}  # fmt: skip
    assert READ_SERVICE == {"bookmarks": "mastodon", "bookmark_state": "mastodon"}
    assert len(OPS) == len(set(OPS)) == len(RESULTS)


def test_a_request_model_without_a_result_model_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Odd(protocol._Request):
        op: Literal["odd"]

    monkeypatch.setattr(protocol, "REQUEST_MODELS", (*protocol.REQUEST_MODELS, Odd))
    with pytest.raises(TypeError, match="Odd"):
        protocol._results()


def test_every_read_op_has_exactly_one_handler() -> None:
    answered, tasks, by_service = set(dispatch.ANSWERS), set(dispatch.TASKS), set(READ_SERVICE)
    assert answered | tasks | by_service == set(OPS) - WRITE_OPS
    assert not answered & tasks and not answered & by_service and not tasks & by_service


def test_the_schema_lists_the_ops_the_extension_builds_from() -> None:
    schema = json_schema()
    assert schema["protocol"] == PROTOCOL_VERSION
    assert schema["write_ops"] == sorted(WRITE_OPS)
    assert schema["item_ops"] == sorted(ITEM_OPS)
    assert schema["tag_ops"] == ["tags_add", "tags_remove", "tags_replace"]
