"""The real tuckaway-host process, driven through stdin/stdout like a browser drives it."""

from __future__ import annotations

import json
import struct
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.hostproc import HostProcess, frame, run_cli

URL = "https://example.org/post"


def test_hello_reports_name_version_local_backend_and_nothing_pending(host: HostProcess) -> None:
    reply = host.request({"id": 1, "op": "hello"})
    assert reply["ok"] is True
    result = reply["result"]
    assert result["name"] == "tuckaway" and result["protocol"] == 1
    assert result["backend"] == "local" and result["pending"] == 0
    assert result["accounts"]["pocket"]["linked"] is False
    assert result["accounts"]["mastodon"]["linked"] is False


def test_save_is_queued_then_answered_with_the_item(host: HostProcess) -> None:
    host.send({"id": "s1", "op": "save", "url": URL, "title": "Post", "tags": ["a"]})
    assert host.recv_for("s1", final=False) == {"id": "s1", "event": "queued"}
    reply = host.recv_for("s1")
    assert reply["ok"] is True
    assert reply["result"]["url"] == URL and reply["result"]["item_id"]
    assert reply["result"]["item"]["given_title"] == "Post"


def test_every_op_of_the_local_backend(host: HostProcess) -> None:
    saved = host.request({"id": 1, "op": "save", "url": URL, "tags": ["one"]})
    item_id = saved["result"]["item_id"]
    steps = [
        ({"op": "archive", "url": URL}, {"item_id": item_id}),
        ({"op": "readd", "item_id": item_id}, {"item_id": item_id}),
        ({"op": "favorite", "url": URL}, {"item_id": item_id}),
        ({"op": "unfavorite", "url": URL}, {"item_id": item_id}),
        ({"op": "favorite", "url": URL}, {"item_id": item_id}),
        ({"op": "tags_add", "url": URL, "tags": ["two", "three"]}, {"item_id": item_id}),
        ({"op": "tags_remove", "url": URL, "tags": ["three"]}, {"item_id": item_id}),
        ({"op": "tag_rename", "old_tag": "two", "new_tag": "deux"}, {}),
    ]
    for n, (request, result) in enumerate(steps, start=2):
        reply = host.request({"id": n, **request})
        assert reply == {"id": n, "ok": True, "result": result}, request
    looked = host.request({"id": 20, "op": "lookup", "url": URL})["result"]
    assert looked == {"saved": True, "item_id": item_id, "status": "unread", "favorite": True,
                      "tags": ["deux", "one"], "pending": 0,
                      "has_article": False}
    assert host.request({"id": 21, "op": "tags", "prefix": "d"})["result"] == {"tags": ["deux"]}
    assert host.request({"id": 22, "op": "tags"})["result"] == {"tags": ["deux", "one"]}
    host.request({"id": 23, "op": "tags_replace", "url": URL, "tags": ["only"]})
    host.request({"id": 24, "op": "tag_delete", "tag": "only"})
    assert host.request({"id": 25, "op": "tags"})["result"] == {"tags": []}
    host.request({"id": 26, "op": "tags_add", "item_id": item_id, "tags": ["x"]})
    assert host.request({"id": 27, "op": "tags_clear", "url": URL})["ok"] is True
    assert host.request({"id": 28, "op": "delete", "url": URL})["result"] == {"item_id": item_id}
    gone = host.request({"id": 29, "op": "lookup", "url": URL})["result"]
    assert gone["saved"] is False and gone["item_id"] is None


def test_item_op_on_an_unknown_url_fails_with_unknown_item(host: HostProcess) -> None:
    reply = host.request({"id": 1, "op": "archive", "url": "https://never.example/"})
    assert reply["error"]["code"] == "unknown_item"


def test_bookmarks_without_a_mastodon_account_is_not_linked(host: HostProcess) -> None:
    reply = host.request({"id": 1, "op": "bookmarks"})
    assert reply["ok"] is False and reply["error"]["code"] == "not_linked"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"\xff\xfe\x00", b"[1,2,3]", b'"hello"', b"null", b"{}", b'{"op":"hello"}',
     b'{"id":{},"op":"hello"}', b"[" * 100000],
)
def test_garbage_gets_one_invalid_message_reply_with_null_id(
    host: HostProcess, body: bytes
) -> None:
    host.send_raw(frame(body))
    reply = host.recv()
    assert reply["id"] is None and reply["error"]["code"] == "invalid_message"
    assert host.request({"id": "after", "op": "hello"})["ok"] is True


@pytest.mark.parametrize(
    "request_,loc",
    [
        ({"id": 1, "op": "save", "url": "javascript:alert(1)"}, "url"),
        ({"id": 1, "op": "save", "url": "file:///etc/passwd"}, "url"),
        ({"id": 1, "op": "save", "url": URL, "tags": ["a,b"]}, "tags.0"),
        ({"id": 1, "op": "save", "url": ["x"]}, "url"),
        ({"id": 1, "op": "save", "url": URL, "colour": "red"}, "colour"),
        ({"id": 1, "op": "teleport"}, "op"),
        ({"id": 1}, "op"),
    ],
)
def test_invalid_requests_answer_invalid_request_with_fields(
    host: HostProcess, request_: dict[str, object], loc: str
) -> None:
    reply = host.request(request_)
    assert reply["ok"] is False and reply["error"]["code"] == "invalid_request"
    assert loc in [f["loc"] for f in reply["error"]["fields"]]
    assert "Traceback" not in json.dumps(reply)


def test_a_2_mib_message_is_drained_answered_and_serving_continues(host: HostProcess) -> None:
    big = json.dumps({"id": 1, "op": "save", "url": URL, "title": "x" * (2 << 20)}).encode()
    host.send_raw(frame(big))
    reply = host.recv()
    assert reply["id"] is None and reply["error"]["code"] == "message_too_large"
    assert host.request({"id": 2, "op": "hello"})["ok"] is True


def test_a_truncated_final_frame_is_reported_and_the_host_exits_cleanly(env: dict[str, str]) -> None:
    with HostProcess(env) as host:
        assert host.request({"id": 1, "op": "hello"})["ok"]
        host.send_raw(struct.pack("=I", 100) + b'{"id": 2, "op"')
        host.close_stdin()
        reply = host.recv()
        assert reply["error"]["code"] == "invalid_message"
        assert host.wait() == 0


def test_eof_mid_batch_delivers_every_accepted_write_then_exits_0(
    env: dict[str, str],
) -> None:
    host = HostProcess(env)
    urls = [f"https://example.org/{n}" for n in range(30)]
    host.send_raw(b"".join(frame({"id": n, "op": "save", "url": u}) for n, u in enumerate(urls)))
    host.close_stdin()
    assert host.wait() == 0
    listed = run_cli(env, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert sorted(i["url"] for i in json.loads(listed.stdout)) == sorted(urls)


def test_stdout_carries_only_frames_even_when_code_prints(env: dict[str, str]) -> None:
    # sitecustomize-free check: a print() inside the host process goes to stderr.
    with HostProcess(env, command=[sys.executable, "-c",
                                   "import sys; sys.path[:0]=__import__('os').environ['PYTHONPATH'].split(':');"
                                   "from tuckaway.wire import host; import builtins; "
                                   "orig=host.serve\n"
                                   "async def noisy(*a, **k):\n"
                                   "    print('stray print'); sys.stdout.write('stray write\\n')\n"
                                   "    __import__('os').system('echo from a child process')\n"
                                   "    return await orig(*a, **k)\n"
                                   "host.serve=noisy; sys.exit(host.main([]))"]) as proc:
        assert proc.request({"id": 1, "op": "hello"})["ok"] is True
        proc.close_stdin()
        assert proc.wait() == 0
        assert b"stray print" in proc.stderr and b"from a child process" in proc.stderr
        assert b"stray" not in proc.raw_stdout


def test_replies_keep_request_order_for_reads(host: HostProcess) -> None:
    host.send_raw(b"".join(frame({"id": n, "op": "hello"}) for n in range(50)))
    ids = [host.recv()["id"] for _ in range(50)]
    assert ids == list(range(50))


def test_double_click_is_recorded_twice_and_both_answered(host: HostProcess) -> None:
    host.send_raw(frame({"id": "a", "op": "save", "url": URL}) +
                  frame({"id": "b", "op": "save", "url": URL}))
    a, b = host.recv_for("a"), host.recv_for("b")
    assert a["result"]["item_id"] == b["result"]["item_id"]


def test_a_disallowed_chrome_origin_is_refused_with_nothing_on_stdout(env: dict[str, str]) -> None:
    proc = HostProcess(env, args=["chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"])
    proc.send({"id": 1, "op": "hello"})
    assert proc.wait() != 0
    assert proc.raw_stdout == b""
    assert b"not allowed" in proc.stderr


def test_the_extensions_own_origin_and_addon_id_are_served(env: dict[str, str]) -> None:
    from tuckaway.ids import CHROME_ORIGIN, GECKO_EXTENSION_ID

    for args in ([CHROME_ORIGIN], ["/path/org.tuckaway.host.json", GECKO_EXTENSION_ID]):
        with HostProcess(env, args=args) as proc:
            assert proc.request({"id": 1, "op": "hello"})["ok"] is True


def test_a_disallowed_firefox_addon_is_refused(env: dict[str, str]) -> None:
    proc = HostProcess(env, args=["/p/org.tuckaway.host.json", "evil@example.com"])
    assert proc.wait() != 0 and proc.raw_stdout == b""


def test_logs_go_to_a_file_in_the_state_dir(env: dict[str, str], home: Path) -> None:
    with HostProcess(env) as proc:
        proc.request({"id": 1, "op": "hello"})
    assert (home / "state" / "log" / "tuckaway.log").read_text().count("host 0.1.0 started") == 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bodies=st.lists(st.binary(min_size=0, max_size=300), min_size=1, max_size=8))
def test_random_bytes_never_crash_it_and_get_one_invalid_message_each(
    env: dict[str, str], bodies: list[bytes]
) -> None:
    bodies = [b"\x00" + b for b in bodies]  # never valid JSON: one invalid_message each
    with HostProcess(env) as proc:
        proc.send_raw(b"".join(frame(b) for b in bodies))
        replies = [proc.recv() for _ in bodies]
        assert all(r["id"] is None and r["error"]["code"] == "invalid_message" for r in replies)
        assert proc.request({"id": "alive", "op": "hello"})["ok"] is True
        proc.close_stdin()
        assert proc.wait() == 0


def test_cold_start_answers_hello_without_loading_pydantic_aiohttp_or_keyring(env: dict[str, str]) -> None:
    # Nor asyncio, nor logging.handlers (the log file opens after the first reply).
    heavy = "('pydantic','aiohttp','keyring','asyncio','logging.handlers')"
    code = ("import sys, runpy; sys.argv=['tuckaway-host'];"
            "from tuckaway.wire import host, dispatch;"
            "orig = dispatch.Dispatcher._hello\n"
            "def spy(self):\n"
            f"    r = orig(self); sys.stderr.write('LOADED:' + ','.join(m for m in {heavy} if m in sys.modules) + ';\\n'); return r\n"
            "dispatch.Dispatcher._hello = spy; sys.exit(host.main([]))")
    with HostProcess(env, command=[sys.executable, "-c", code]) as proc:
        proc.request({"id": 1, "op": "hello"})
        time.sleep(0.1)
    assert b"LOADED:;" in proc.stderr


def test_on_start_the_host_delivers_writes_an_earlier_process_left(
    env: dict[str, str], home: Path
) -> None:
    from tuckaway import db
    from tuckaway.delivery.outbox import Outbox

    conn = db.connect(home / "data" / "tuckaway.db")
    Outbox(conn, "dead-process").add_many(
        [("local", "save", {"url": f"https://left.example/{n}", "tags": []}) for n in range(5)]
    )
    conn.close()
    with HostProcess(env) as proc:
        assert proc.request({"id": 1, "op": "hello"})["result"]["pending"] == 5
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if proc.request({"id": 2, "op": "hello"})["result"]["pending"] == 0:
                break
            time.sleep(0.05)
        looked = proc.request({"id": 3, "op": "lookup", "url": "https://left.example/3"})
        assert looked["result"]["saved"] is True


def test_tags_offers_only_names_a_request_could_carry(env: dict[str, str], home: Path) -> None:
    # A service may sync in tags longer than a request may carry (100 characters): they are
    # not offered for completion, which also keeps the reply far under the 1 MiB limit.
    from tuckaway import db
    from tuckaway.store import Store

    conn = db.connect(home / "data" / "tuckaway.db")
    Store(conn).items("local").add("https://long.example/", tags=["short", "x" * 5000])
    conn.close()
    with HostProcess(env) as proc:
        reply = proc.request({"id": 1, "op": "tags"})
    assert reply["result"]["tags"] == ["short"]


def test_a_bad_config_key_takes_its_default_and_hello_says_where(
    env: dict[str, str], home: Path
) -> None:
    config = home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('# mine\nlog_level = "LOUD"\nbatch_quiet_ms = "soon"\ncolour = 1\n')
    with HostProcess(env) as proc:
        hello = proc.request({"id": 1, "op": "hello"})["result"]
        assert proc.request({"id": 2, "op": "save", "url": URL})["ok"] is True
    problems = {p["key"]: p for p in hello["problems"]}
    assert set(problems) == {"log_level", "batch_quiet_ms", "colour"}
    level = problems["log_level"]
    assert level["kind"] == "config" and level["file"] == str(config) and level["line"] == 2
    assert level["allowed"] == "DEBUG, INFO, WARNING, ERROR"
    assert f"(in {config}, line 2)" in level["text"]
    assert problems["batch_quiet_ms"]["line"] == 3 and problems["colour"]["line"] == 4
    assert "log_level" in (home / "state" / "log" / "tuckaway.log").read_text()
    # the CLI refuses the same file with the same words, no traceback
    result = run_cli(env, "list")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"is not one of DEBUG, INFO, WARNING, ERROR (in {config}, line 2)" in result.stderr


def test_a_hello_without_problems_has_no_problems_key(host: HostProcess) -> None:
    assert "problems" not in host.request({"id": 1, "op": "hello"})["result"]
