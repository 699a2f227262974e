"""Kept copies of saved pages (issue 14): saved with the click, read back in chunks."""

from __future__ import annotations

import asyncio
import io
import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from support.hostproc import HostProcess, frame, host_env
from support.readeck_standin import ReadeckStandin
from support.wallabag_standin import WallabagStandin
from test_listing import _old_database
from tuckaway import db
from tuckaway.articles import Articles, reply
from tuckaway.listing import Listing, Query
from tuckaway.store import ItemList
from tuckaway.wire.framing import MAX_ARTICLE_FRAME, MAX_REPLY, MAX_REQUEST, within_limit
from tuckaway.wire.host import ByteBudget, _read_frames

URL = "https://example.org/long-read"
#: every kind of character a page holds: ASCII, accents, CJK, astral (emoji), and the
#: ones JSON escapes (quote, backslash, controls) that make a reply grow past its text
MIXED = 'Café 東京 \U0001f600 "q" \\ \t\x01\x1f <p>a&amp;b</p>\n'


def _article(html: str, text: str = "a few plain words", **meta: Any) -> dict[str, Any]:
    return {"html": html, "text": text, **meta}


def _read_whole(host: HostProcess, **target: Any) -> tuple[str, list[dict[str, Any]]]:
    """Every chunk of a kept article, following next_offset; (html, the results)."""
    parts: list[str] = []
    results: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        reply_ = host.request(
            {"id": f"a{offset}", "op": "article", **target, "offset": offset}, timeout=60
        )
        assert reply_["ok"] is True, reply_  # a reply over 1 MiB would be an internal error
        assert len(json.dumps(reply_, ensure_ascii=False, separators=(",", ":")).encode()) <= (
            MAX_REPLY
        )
        result = reply_["result"]
        assert result["offset"] == offset
        parts.append(result["html"])
        results.append(result)
        offset = result["next_offset"]
    return "".join(parts), results


def test_a_10_mb_article_comes_back_byte_exact_in_chunks_under_1_mib(host: HostProcess) -> None:
    html = (MIXED * (10_000_000 // len(MIXED.encode())))[:3_000_000] + "end"
    html = html + "x" * (10_000_000 - len(html.encode("utf-8")))
    assert len(html.encode("utf-8")) == 10_000_000
    text = "word " * 5000
    saved = host.request(
        {"id": 1, "op": "save", "url": URL, "article": _article(html, text, title="Long")},
        timeout=60,
    )
    assert saved["ok"] is True, saved
    whole, results = _read_whole(host, item_id=saved["result"]["item_id"])
    assert whole == html
    assert len(results) > 10  # the escapes made some chunks much shorter than 1 MiB
    first = results[0]
    assert first["size"] == len(html) and first["title"] == "Long"
    assert first["word_count"] == 5000 and first["minutes"] == 22
    assert first["item_id"] == saved["result"]["item_id"] and first["url"] == URL
    by_url, _ = _read_whole(host, url=URL)
    assert by_url == html


def test_a_frame_over_16_mib_is_too_large_and_the_host_answers_the_next(
    host: HostProcess,
) -> None:
    body = json.dumps(
        {"id": 1, "op": "save", "url": URL, "article": _article("x" * (17 << 20))}
    ).encode()
    assert len(body) > MAX_ARTICLE_FRAME
    host.send_raw(frame(body))
    refused = host.recv(timeout=60)
    assert refused["id"] is None and refused["error"]["code"] == "message_too_large"
    assert host.request({"id": 2, "op": "hello"})["ok"] is True
    assert host.request({"id": 3, "op": "lookup", "url": URL})["result"]["saved"] is False


def test_only_a_save_with_an_article_may_pass_1_mib(host: HostProcess) -> None:
    big = "y" * (2 << 20)
    for n, request in enumerate(
        [
            {"op": "save", "url": URL, "title": "t", "tags": ["x"], "article_": big},
            {"op": "lookup", "url": URL, "article": {"html": big}},
            {"op": "save", "url": URL, "article": big},
        ]
    ):
        host.send({"id": n, **request})
        refused = host.recv(timeout=30)
        assert refused["id"] is None and refused["error"]["code"] == "message_too_large"
    saved = host.request({"id": 9, "op": "save", "url": URL, "article": _article(big)}, timeout=30)
    assert saved["ok"] is True


def test_the_outbox_row_holds_no_article_body(home: Path, host: HostProcess) -> None:
    body = "UNIQUEBODYMARKER " * 300_000  # 5 MB
    saved = host.request(
        {"id": 1, "op": "save", "url": URL, "tags": ["t"], "article": _article(body, body)},
        timeout=60,
    )
    assert saved["ok"] is True
    conn = sqlite3.connect(home / "data" / "tuckaway.db")
    payloads = [r[0] for r in conn.execute("SELECT payload FROM outbox")]
    assert payloads and all("UNIQUEBODYMARKER" not in p and "article" not in p for p in payloads)
    assert json.loads(payloads[0]) == {"url": URL, "tags": ["t"]}
    (count, stored), = conn.execute("SELECT count(*), sum(bytes) FROM articles")
    assert count == 1 and stored < 100_000  # compressed


def test_search_finds_a_word_only_in_the_article_and_delete_removes_it(
    host: HostProcess,
) -> None:
    host.request({"id": 1, "op": "save", "url": URL, "title": "A title",
                  "article": _article("<p>x</p>", "about the zeppelinology of cats")})
    host.request({"id": 2, "op": "save", "url": "https://example.org/other", "title": "Other"})
    found = host.request({"id": 3, "op": "list", "search": "zeppelin cats"})["result"]
    assert [i["url"] for i in found["items"]] == [URL]
    assert found["items"][0]["has_article"] is True and found["items"][0]["word_count"] == 5
    listed = host.request({"id": 4, "op": "list"})["result"]["items"]
    assert {i["url"]: i["has_article"] for i in listed} == {
        URL: True, "https://example.org/other": False}  # fmt: skip
    assert host.request({"id": 5, "op": "delete", "url": URL})["ok"] is True
    assert host.request({"id": 6, "op": "list", "search": "zeppelin"})["result"]["items"] == []
    gone = host.request({"id": 7, "op": "article", "url": URL})
    assert gone["error"]["code"] == "not_found"
    assert host.request({"id": 8, "op": "article_stats"})["result"] == {"count": 0, "bytes": 0}


def test_stats_and_clear_count_the_kept_copies(host: HostProcess) -> None:
    for n in range(3):
        host.request({"id": n, "op": "save", "url": f"{URL}/{n}",
                      "article": _article(f"<p>page {n}</p>", f"page {n}")})
    stats = host.request({"id": 10, "op": "article_stats"})["result"]
    assert stats["count"] == 3 and stats["bytes"] > 0
    cleared = host.request({"id": 11, "op": "articles_clear"})["result"]
    assert cleared == {"deleted": 3, "bytes": stats["bytes"]}
    assert host.request({"id": 12, "op": "article_stats"})["result"] == {"count": 0, "bytes": 0}
    assert host.request({"id": 13, "op": "list"})["result"]["total"] == 3  # the items stay


def test_lookup_says_whether_a_copy_is_kept(host: HostProcess) -> None:
    def has_article(rid: int, url: str) -> bool:
        result = host.request({"id": rid, "op": "lookup", "url": url})["result"]
        return bool(result["has_article"])

    host.request({"id": 1, "op": "save", "url": f"{URL}/bare"})
    host.request({"id": 2, "op": "save", "url": f"{URL}/kept", "article": _article("<p>k</p>")})
    assert not has_article(3, f"{URL}/bare")
    assert not has_article(4, f"{URL}/never-saved")
    assert has_article(5, f"{URL}/kept")
    host.request({"id": 6, "op": "articles_clear"})
    assert not has_article(7, f"{URL}/kept")


def test_a_missing_item_or_copy_is_not_found_and_a_bad_article_is_refused(
    host: HostProcess,
) -> None:
    assert host.request({"id": 1, "op": "article", "item_id": "999"})["error"]["code"] == (
        "not_found"
    )
    saved = host.request({"id": 2, "op": "save", "url": URL})["result"]
    missing = host.request({"id": 3, "op": "article", "item_id": saved["item_id"]})
    assert missing["error"]["code"] == "not_found"
    nul = host.request({"id": 4, "op": "save", "url": URL, "article": _article("a\x00b")})
    assert nul["error"]["code"] == "invalid_request"
    assert nul["error"]["fields"][0]["loc"] == "article.html"
    odd = host.request({"id": 5, "op": "save", "url": URL, "article": {"html": "x", "text": "y",
                                                                        "colour": "red"}})
    assert odd["error"]["fields"][0]["loc"] == "article.colour"
    both = host.request({"id": 6, "op": "article", "url": URL, "item_id": "1"})
    assert both["error"]["code"] == "invalid_request"


def test_a_resave_replaces_the_copy_and_its_words(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "t.db")
    items = ItemList(conn, "local")
    items.add(URL, title="t")
    articles = Articles(conn)
    articles.put(URL, _article("<p>one</p>", "alpha words"))
    articles.put(URL, _article("<p>two</p>", "beta words"))
    listing = Listing(conn, "local")
    assert listing.page(Query(search="alpha"))["items"] == []
    assert len(listing.page(Query(search="beta"))["items"]) == 1
    assert articles.stats()["count"] == 1
    stored = articles.get(URL)
    assert stored is not None and stored.html() == "<p>two</p>"


@pytest.mark.parametrize("char", ["a", "é", "東", "\U0001f600", "\x01", '"'])
def test_every_chunk_fits_the_reply_limit_whatever_the_characters(
    tmp_path: Path, char: str
) -> None:
    conn = db.connect(tmp_path / "t.db")
    html = char * 700_000 + "tail"
    Articles(conn).put(URL, _article(html, "x", title=MIXED * 50))
    stored = Articles(conn).get(URL)
    assert stored is not None
    pieces, offset = [], 0
    while True:
        result = reply(stored, "1", URL, offset, MAX_REPLY)
        envelope = {"id": "i" * 64, "ok": True, "result": result}
        size = len(json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode())
        assert size <= MAX_REPLY
        pieces.append(result["html"])
        if result["next_offset"] is None:
            break
        assert result["next_offset"] > offset
        offset = result["next_offset"]
    assert "".join(pieces) == html


def test_the_size_rule_lets_only_an_article_save_past_1_mib() -> None:
    save = {"op": "save", "url": URL, "article": {}}
    assert within_limit({"op": "lookup"}, MAX_REQUEST)
    assert not within_limit({"op": "lookup"}, MAX_REQUEST + 1)
    assert not within_limit({"op": "save", "url": URL}, MAX_REQUEST + 1)
    assert within_limit(save, MAX_ARTICLE_FRAME)
    assert not within_limit(save, MAX_ARTICLE_FRAME + 1)


def test_the_reader_stops_when_the_unhandled_frames_pass_the_byte_budget() -> None:
    one = frame({"id": 1, "op": "save", "url": URL, "article": _article("z" * (3 << 20))})
    stream = io.BytesIO(one * 10)
    loop = asyncio.new_event_loop()  # never run: nothing is handled, nothing given back
    try:
        inbox: asyncio.Queue[Any] = asyncio.Queue()
        budget = ByteBudget(8 << 20)
        reader = threading.Thread(
            target=_read_frames,
            args=(stream, loop, inbox, threading.Semaphore(256), budget),
            daemon=True,
        )
        reader.start()
        deadline = time.monotonic() + 10
        while budget.used < 6 << 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        assert reader.is_alive()  # waiting for room, not reading on
        assert budget.used <= 8 << 20
        assert stream.tell() <= 3 * len(one)  # two held, the third's header read at most
        deadline = time.monotonic() + 20
        while reader.is_alive() and time.monotonic() < deadline:  # the loop catches up
            budget.give(budget.used)
            reader.join(0.05)
        assert not reader.is_alive() and stream.tell() == 10 * len(one)
    finally:
        loop.close()


def test_a_budget_lets_one_frame_larger_than_itself_through_when_empty() -> None:
    budget = ByteBudget(10)
    budget.take(25)
    assert budget.used == 25
    budget.give(25)
    budget.take(4)
    budget.take(6)
    assert budget.used == 10


# -- the services that take the page -------------------------------------------


@contextmanager
def _linked(home: Path, standin: Any) -> Iterator[HostProcess]:
    """A host whose list lives in the service ``standin`` stands in for."""
    env = host_env(home)
    standin.link(env)
    with HostProcess(env) as host:
        yield host


def test_wallabag_gets_the_kept_html_as_content_with_a_title(home: Path) -> None:
    html = "<article><p>Kept \U0001f600 as seen</p></article>"
    with WallabagStandin() as wb, _linked(home, wb) as host:
        titled = host.request({"id": 1, "op": "save", "url": URL,
                               "article": _article(html, "Kept as seen", title="Seen")}, 30)
        assert titled["ok"] is True, titled
        assert host.request({"id": 2, "op": "save", "url": f"{URL}/bare"}, 30)["ok"] is True
        entry = wb.by_url(URL)
        assert entry is not None and entry.content == html and entry.title == "Seen"
        (post,) = [c for c in wb.calls("/api/entries") if c.method == "POST"]
        assert post.body["content"] == html
        assert len(wb.calls("/api/entries/lists")) == 1  # the bare link: url only
        listed = host.request({"id": 3, "op": "list", "search": "seen"})["result"]
        assert [i["url"] for i in listed["items"]] == [URL]
        assert host.request({"id": 4, "op": "delete", "url": URL}, 30)["ok"] is True
        stats = host.request({"id": 5, "op": "article_stats"})["result"]
        assert stats == {"count": 0, "bytes": 0}


def test_readeck_gets_the_kept_html(home: Path) -> None:
    html = "<article><h1>Über</h1><p>text</p></article>"
    with ReadeckStandin() as rd:
        with _linked(home, rd) as host:
            saved = host.request({"id": 1, "op": "save", "url": URL, "tags": ["t"],
                                  "article": _article(html, "Über text")}, 30)
            assert saved["ok"] is True, saved
            assert host.request({"id": 2, "op": "save", "url": f"{URL}/plain"}, 30)["ok"]
            kept = host.request({"id": 3, "op": "article", "item_id": saved["result"]["item_id"]})
            assert kept["result"]["html"] == html
        bookmark = rd.by_url(URL)
        assert bookmark is not None and bookmark.html == html and bookmark.labels == ["t"]
        other = rd.by_url(f"{URL}/plain")
        assert other is not None and other.html == ""
    assert rd.violations == []


async def test_serve_complete_items_describe_the_kept_page(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    from tuckaway.serve.app import create_app
    from tuckaway.serve.auth import issue_token

    conn = db.connect(tmp_path / "data" / "tuckaway.db")
    items = ItemList(conn, "local")
    items.add(URL, title="Kept")
    items.add(f"{URL}/plain", title="Plain")
    Articles(conn).put(URL, _article("<p>x</p>", "one two three " * 400, excerpt="Short",
                                     lead_image="https://example.org/i.png", lang="en"))
    client = await aiohttp_client(create_app(conn))
    token = issue_token(conn)
    body = {"consumer_key": "1234-key", "access_token": token}
    answer = await (await client.post("/v3/get", json={**body, "detailType": "complete"},
                                      headers={"X-Accept": "application/json"})).json()
    kept, plain = (next(e for e in answer["list"].values() if e["given_url"] == u)
                   for u in (URL, f"{URL}/plain"))
    assert kept["word_count"] == "1200" and kept["excerpt"] == "Short"
    assert kept["is_article"] == "1" and kept["has_image"] == "1"
    assert kept["top_image_url"] == "https://example.org/i.png"
    assert kept["time_to_read"] == 6 and kept["lang"] == "en"
    assert plain["is_article"] == "0" and plain["word_count"] == "0"
    assert "top_image_url" not in plain
    simple = await (await client.post("/v3/get", json={**body, "detailType": "simple"},
                                      headers={"X-Accept": "application/json"})).json()
    assert all(e["is_article"] == "0" for e in simple["list"].values())


def test_status_says_how_much_the_kept_copies_take(env: dict[str, str]) -> None:
    from support.hostproc import run_cli

    assert "copies:    0 pages kept, 0 bytes" in run_cli(env, "status").stdout
    with HostProcess(env) as host:
        saved = host.request({"id": 1, "op": "save", "url": URL,
                              "article": _article(MIXED * 20_000, "words " * 100)}, 30)
        assert saved["ok"] is True
    info = json.loads(run_cli(env, "status", "--json").stdout)
    assert info["articles"]["count"] == 1 and 1000 < info["articles"]["bytes"] < 100_000
    assert re.search(r"copies: +1 pages kept, [\d.]+ KB \(compressed\)",
                     run_cli(env, "status").stdout)


def test_a_repaired_database_finds_the_kept_words_again(tmp_path: Path) -> None:
    from tuckaway.repair import Report, _copy_rows

    path = tmp_path / "old.db"
    conn = db.connect(path)
    ItemList(conn, "local").add(URL, title="t")
    Articles(conn).put(URL, _article("<p>x</p>", "quokka"))
    conn.close()
    new = db.connect(tmp_path / "new.db")
    _copy_rows(path, new, Report())  # the copied rows' triggers index the kept words
    assert len(Listing(new, "local").page(Query(search="quokka"))["items"]) == 1


def test_any_spelling_of_the_url_finds_the_copy(host: HostProcess) -> None:
    saved = host.request({"id": 1, "op": "save", "url": "https://EXAMPLE.org:443/long-read",
                          "article": _article("<p>kept</p>", "kept words")})
    assert saved["ok"] is True, saved
    found = host.request({"id": 2, "op": "article", "url": URL})["result"]
    assert found["html"] == "<p>kept</p>" and found["url"] == URL
    assert found["item_id"] == saved["result"]["item_id"]
    (item,) = host.request({"id": 3, "op": "list", "search": "kept"})["result"]["items"]
    assert item["has_article"] is True and item["word_count"] == 2


def test_copies_kept_before_url_keys_are_re_keyed(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = _old_database(path, 7)
    old.execute(
        "INSERT INTO articles (url, html, text, size, word_count, bytes, captured_at) "
        "VALUES ('https://EXAMPLE.org/a', x'00', x'00', 1, 1, 2, 0)"
    )
    old.commit()
    old.close()
    conn = db.connect(path)
    assert [r[0] for r in conn.execute("SELECT url_key FROM articles")] == [
        "https://example.org/a"]  # fmt: skip


def test_copies_kept_before_the_search_index_are_found_by_their_words(tmp_path: Path) -> None:
    import zlib

    path = tmp_path / "old.db"
    old = _old_database(path, 9)
    add = ("INSERT INTO items (ns, item_id, url, url_key, title, time_added, time_updated) "
           "VALUES ('local', ?, ?, ?, ?, ?, 0)")
    old.execute(add, ("1", URL, URL, "Notes", 1))
    old.execute(add, ("2", f"{URL}/b", f"{URL}/b", "Zeppelin history", 2))
    text = zlib.compress(b"the  zeppelin, was\nlate the zeppelin")
    old.execute(
        "INSERT INTO articles (url_key, html, text, size, word_count, bytes, captured_at) "
        "VALUES (?, x'00', ?, 1, 6, 2, 0)", (URL, text))
    old.commit()
    old.close()
    conn = db.connect(path)
    words = conn.execute("SELECT words FROM articles").fetchone()[0]
    assert words == "the zeppelin, was late zeppelin"  # each piece once
    listing = Listing(conn, "local")
    found = [i["title"] for i in listing.page(Query(search="zeppelin"))["items"]]
    assert found == ["Zeppelin history", "Notes"]  # the title (10) before the copy (1)
    assert [i["title"] for i in listing.page(Query(search="late"))["items"]] == ["Notes"]


def test_a_copy_is_found_for_every_item_of_its_url_kept_before_or_after(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "t.db")
    articles = Articles(conn)
    articles.put(URL, _article("<p>x</p>", "quokka habits"))  # before the item exists
    ItemList(conn, "local").add(URL, title="one")
    ItemList(conn, "pocket").add("https://EXAMPLE.org:443/long-read", title="two")
    for ns, title in (("local", "one"), ("pocket", "two")):
        page = Listing(conn, ns).page(Query(search="quok"))
        assert [i["title"] for i in page["items"]] == [title], ns
    articles.clear()
    assert Listing(conn, "local").page(Query(search="quokka"))["items"] == []
    articles.put(URL, _article("<p>y</p>", "wombat"))
    assert len(Listing(conn, "pocket").page(Query(search="wombat"))["items"]) == 1
    assert articles.forget(URL) > 0
    assert Listing(conn, "pocket").page(Query(search="wombat"))["items"] == []
