"""Hostile input against the real host process: one answer per frame, and the host lives.

Lone surrogates (valid JSON, not encodable as UTF-8), ids JavaScript cannot
hold, any JSON value in any field of any op, a poisoned write beside good ones,
and a crash that must end in an answer and exit 1, not an abort.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.hostproc import HostProcess, frame
from tuckaway.wire.protocol import MAX_SAFE_ID, MODELS

URL = "https://example.org/post"
STATUS = "https://mastodon.example/@a/1"

#: a valid request of each op (without id): the field under test is replaced in it
TEMPLATES: dict[str, dict[str, Any]] = {
    "hello": {},
    "save": {"url": URL},
    "tags_add": {"url": URL, "tags": ["t"]},
    "tags_remove": {"url": URL, "tags": ["t"]},
    "tags_replace": {"url": URL, "tags": ["t"]},
    "tag_rename": {"old_tag": "a", "new_tag": "b"},
    "tag_delete": {"tag": "a"},
    "lookup": {"url": URL},
    "tags": {},
    "list": {},
    "bookmark": {"status_url": STATUS},
    "unbookmark": {"status_url": STATUS},
    "bookmark_state": {"status_url": STATUS},
    "bookmarks": {},
    "login": {"service": "pocket"},
    "logout": {"service": "pocket"},
    "settings": {},
    "settings_set": {"reset": ["pocket_url"]},
    "article": {"url": URL},
    "article_stats": {},
    "articles_clear": {},
}
for _op in ("archive", "readd", "favorite", "unfavorite", "delete", "tags_clear"):
    TEMPLATES[_op] = {"url": URL}
#: a valid value here would slow every later write of the test's host by up to minutes
SKIP = {("settings_set", f) for f in ("batch_quiet_ms", "batch_max_delay_ms", "batch_max_actions")}

_odd = st.sampled_from(["\ud800", "\udfff", "\udc80", "\x00", "\x7f", "\u2028", "\U0001f600"])
_text = st.text(st.one_of(st.characters(), _odd), max_size=12) | _odd | st.just("a\udc80b")
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**53 - 2, max_value=2**53 + 2)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=6,
)


def _usable_id(value: Any) -> Any:
    """The id a reply to a message with this id carries (None when it cannot be echoed)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE_ID else None
    if isinstance(value, str) and 1 <= len(value) <= 64:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return None
        return value
    return None


def _finals(proc: HostProcess, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
    """The next ``count`` final replies (events skipped), then nothing more."""
    deadline = time.monotonic() + timeout
    finals: list[dict[str, Any]] = []
    while len(finals) < count:
        message = proc.recv(timeout=max(0.1, deadline - time.monotonic()))
        if "ok" in message:
            finals.append(message)
    extra = [m for m in proc.drain(0.3) if "ok" in m]
    assert extra == [], f"more than one answer: {extra!r}"
    return finals


@pytest.mark.timeout(600)
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(value=JSON)
def test_any_json_value_in_every_field_of_every_op_gets_one_answer_per_frame(
    host: HostProcess, value: Any
) -> None:
    frames: list[bytes] = []
    expected: Counter[Any] = Counter()
    n = 0
    for op, model in MODELS.items():
        for field in model.model_fields:
            if (op, field) in SKIP:
                continue
            n += 1
            message: dict[str, Any] = {"id": f"r{n}", "op": op, **TEMPLATES[op], field: value}
            expected[_usable_id(value) if field == "id" else f"r{n}"] += 1
            frames.append(frame(json.dumps(message).encode()))  # \ud800 goes as an escape
    host.send_raw(b"".join(frames))
    finals = _finals(host, len(frames))
    assert Counter(m["id"] for m in finals) == expected
    for reply in finals:
        if not reply["ok"]:
            assert reply["error"]["code"] != "internal", reply
    assert host.request({"id": "alive", "op": "hello"})["ok"] is True


def test_a_write_behind_a_held_write_of_its_url_hears_its_reason_at_once(
    host: HostProcess,
) -> None:
    # No Mastodon account: the bookmark is held; the unbookmark after it cannot overtake
    # it (it waits, pending, for a sign-in), and once waited without any final answer (the hypothesis test's
    # failure: its examples share one host, so an earlier example's held bookmark
    # blocked a later one's writes).
    held = host.request({"id": 1, "op": "bookmark", "status_url": STATUS})
    assert held["error"]["code"] == "not_linked"
    behind = host.request({"id": 2, "op": "unbookmark", "status_url": STATUS}, timeout=10)
    assert behind["error"] == held["error"]
    assert host.request({"id": 3, "op": "hello"})["result"]["pending"] == 2


@pytest.mark.parametrize(
    "body",
    [
        b'{"id":"\\ud800","op":"lookup","url":"http://a.example/"}',
        b'{"id":"\\ud800","op":"hello"}',
        b'{"id":"a\\udfffb","op":"save","url":"http://a.example/"}',
    ],
)
def test_a_lone_surrogate_id_is_refused_naming_id_and_the_host_lives(
    host: HostProcess, body: bytes
) -> None:
    host.send_raw(frame(body))
    reply = host.recv()
    assert reply["id"] is None and reply["error"]["code"] == "invalid_request"
    assert [f["loc"] for f in reply["error"]["fields"]] == ["id"]
    assert host.request({"id": "after", "op": "hello"})["ok"] is True


@pytest.mark.parametrize(
    "fields,loc",
    [
        ({"url": URL, "tags": ["ok", "x\ud800"]}, "tags.1"),
        ({"url": URL, "title": "\udc00"}, "title"),
        ({"url": "https://a.example/\ud800"}, "url"),
        ({"url": URL, "\ud800": 1}, "\\ud800"),
    ],
)
def test_a_lone_surrogate_anywhere_is_refused_naming_the_field(
    host: HostProcess, fields: dict[str, Any], loc: str
) -> None:
    reply = host.request({"id": 7, "op": "save", **fields})
    assert reply["id"] == 7 and reply["error"]["code"] == "invalid_request"
    assert [f["loc"] for f in reply["error"]["fields"]] == [loc]


def test_a_poisoned_write_fails_alone_and_its_batch_lands(host: HostProcess) -> None:
    saves = [{"id": i, "op": "save", "url": f"https://example.org/{i}", "tags": ["t"]}
             for i in range(5)]
    saves[2]["tags"] = ["\ud800"]
    host.send_raw(b"".join(frame(s) for s in saves))  # one read: one batch
    finals = {m["id"]: m for m in _finals(host, 5)}
    assert finals[2]["error"]["code"] == "invalid_request"
    assert all(finals[i]["ok"] is True for i in (0, 1, 3, 4))
    for i in (0, 1, 3, 4):
        found = host.request({"id": f"l{i}", "op": "lookup", "url": f"https://example.org/{i}"})
        assert found["result"]["saved"] is True


@pytest.mark.parametrize("rid", [2**53, -(2**53), 2**64, 10**30])
def test_an_id_javascript_cannot_hold_is_not_echoed(host: HostProcess, rid: int) -> None:
    host.send({"id": rid, "op": "lookup", "url": URL})
    reply = host.recv()
    assert reply["id"] is None and reply["error"]["code"] == "invalid_message"
    assert str(2**53 - 1) in reply["error"]["message"]


@pytest.mark.parametrize("rid", [2**53 - 1, -(2**53 - 1)])
def test_the_largest_safe_ids_are_echoed(host: HostProcess, rid: int) -> None:
    assert host.request({"id": rid, "op": "lookup", "url": URL})["ok"] is True
    assert host.request({"id": rid, "op": "hello"})["ok"] is True


def test_a_crash_is_answered_logged_and_exits_1_without_an_abort(env: dict[str, str]) -> None:
    code = ("import sys; sys.path[:0]=__import__('os').environ['PYTHONPATH'].split(':');"
            "from tuckaway.wire import host, dispatch\n"
            "orig = dispatch.Dispatcher.handle_many\n"
            "def boom(self, messages):\n"
            "    if any(m.get('op') == 'boom' for m in messages): raise RuntimeError('planted')\n"
            "    return orig(self, messages)\n"
            "dispatch.Dispatcher.handle_many = boom; sys.exit(host.main([]))")
    with HostProcess(env, command=[sys.executable, "-c", code]) as proc:
        assert proc.request({"id": 1, "op": "hello"})["ok"] is True
        proc.send({"id": 2, "op": "boom"})  # stdin stays open: the reader thread is blocked
        reply = proc.recv()
        assert reply["ok"] is False and reply["error"]["code"] == "internal"
        assert proc.wait(timeout=20) == 1
    assert b"Fatal Python error" not in proc.stderr
    log = (env_home(env) / "state" / "log" / "tuckaway.log").read_text()
    assert "host crashed" in log and "planted" in log


def env_home(env: dict[str, str]) -> Any:
    from pathlib import Path

    return Path(env["TUCKAWAY_HOME"])
