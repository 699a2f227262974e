"""The list op: keyset pages, filters, search ranking, the 1 MiB cap, tag counts."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import pytest
from bench.listing import seed_items

from support.hostproc import HostProcess, run_cli
from tuckaway import db
from tuckaway import listing as listing_module
from tuckaway.errors import InvalidRequest
from tuckaway.listing import Listing, Query, all_pages
from tuckaway.store import ItemList, Store


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    return db.connect(tmp_path / "t.db", synchronous="OFF")


@pytest.fixture
def items(conn: sqlite3.Connection) -> ItemList:
    return Store(conn).items("local")


def _ids(page: dict[str, object]) -> list[str]:
    return [i["item_id"] for i in page["items"]]  # type: ignore[attr-defined]


def _titles(listing: Listing, **query: object) -> list[str]:
    return [i["title"] for i in all_pages(listing, Query(**query))]  # type: ignore[arg-type]


def test_pages_are_stable_while_saves_arrive_from_another_connection(
    tmp_path: Path, items: ItemList
) -> None:
    for n in range(25):
        items.add(f"https://example.org/{n}", f"item {n}", now=1000 + n % 3)  # ties on time
    other = Store(db.connect(tmp_path / "t.db")).items("local")
    listing = Listing(items.conn, "local")
    seen: list[str] = []
    query = Query(limit=4)
    while True:
        page = listing.page(query)
        seen += _ids(page)
        other.add(f"https://example.org/new-{len(seen)}", "new", now=1000 + len(seen) % 3)
        other.add(f"https://example.org/later-{len(seen)}", "later")
        if page["next_cursor"] is None:
            break
        query = Query(limit=4, cursor=str(page["next_cursor"]))
    originals = [i.item_id for i in items.query(state="unread") if i.title.startswith("item")]
    assert sorted(s for s in seen if s in originals) == sorted(originals)  # none skipped
    assert len(seen) == len(set(seen))  # none twice


def test_filters_state_favorite_tag_and_untagged(items: ItemList) -> None:
    a = items.add("https://a.example/", "A", ["python"], now=1)
    b = items.add("https://b.example/", "B", ["rust", "python"], now=2)
    items.add("https://c.example/", "C", now=3)
    d = items.add("https://d.example/", "D", now=4)
    items.apply({"action": "archive", "item_id": b.item_id})
    items.apply({"action": "favorite", "item_id": a.item_id})
    items.apply({"action": "delete", "item_id": d.item_id})
    listing = Listing(items.conn, "local")
    assert _titles(listing) == ["C", "A"]
    assert _titles(listing, state="archive") == ["B"]
    assert _titles(listing, state="all") == ["C", "B", "A"]
    assert _titles(listing, state="all", favorite=True) == ["A"]
    assert _titles(listing, state="all", favorite=False) == ["C", "B"]
    assert _titles(listing, state="all", tag="python") == ["B", "A"]
    assert _titles(listing, state="all", tag="_untagged_") == ["C"]
    assert _titles(listing, state="all", sort="oldest") == ["A", "B", "C"]
    assert _titles(listing, state="all", sort="title") == ["A", "B", "C"]
    page = listing.page(Query(state="all", limit=1))
    assert page["total"] == 3 and page["next_cursor"] is not None


def test_an_item_says_what_the_page_shows(items: ItemList) -> None:
    items.add("https://www.example.org/post", "Post", ["b", "a"], now=5)
    (item,) = Listing(items.conn, "local").page(Query())["items"]
    assert item == {
        "item_id": item["item_id"],
        "url": "https://www.example.org/post",
        "title": "Post",
        "excerpt": "",
        "domain": "example.org",
        "tags": ["a", "b"],
        "status": "unread",
        "favorite": False,
        "time_added": 5,
        "time_updated": 5,
        "has_article": False,
    }


def test_search_matches_prefixes_of_every_word_in_title_url_domain_tags(
    items: ItemList,
) -> None:
    items.add("https://blog.example/one", "Async Rust in practice", now=1)
    items.add("https://rustacean.example/two", "Something else", now=2)
    items.add("https://c.example/three", "Untitled", ["rust-lang"], now=3)
    items.add("https://d.example/four", "Python asyncio", now=4)
    listing = Listing(items.conn, "local")
    assert set(_titles(listing, search="rus")) == {
        "Async Rust in practice",
        "Something else",
        "Untitled",
    }
    assert _titles(listing, search="rust asy") == ["Async Rust in practice"]
    assert _titles(listing, search="blog") == ["Async Rust in practice"]  # the domain
    assert _titles(listing, search="zzz") == []
    assert _titles(listing, search='"()*') == _titles(listing)  # no words: no search


def test_relevance_puts_title_matches_before_tag_then_excerpt_matches(
    conn: sqlite3.Connection,
) -> None:
    synced = Store(conn).items("pocket")  # a linked account's index pages the same way
    for n, (title, tags, excerpt) in enumerate(
        [
            ("Weekly notes", [], "a long read about gardening"),
            ("Gardening for beginners", [], ""),
            ("Untitled", ["gardening"], ""),
        ]
    ):
        synced.remember(
            {
                "item_id": str(100 + n),
                "given_url": f"https://p.example/{n}",
                "given_title": title,
                "tags": tags,
                "excerpt": excerpt,
                "word_count": "1200",
                "time_added": str(10 - n),
            }
        )
    listing = Listing(conn, "pocket")
    assert _titles(listing, search="garden") == [
        "Gardening for beginners",
        "Untitled",
        "Weekly notes",
    ]
    assert _titles(listing, search="garden", sort="newest") == [
        "Weekly notes",
        "Gardening for beginners",
        "Untitled",
    ]
    first = listing.page(Query(search="garden", limit=1))
    assert first["items"][0]["word_count"] == 1200 and first["items"][0]["has_article"]
    Store(conn).items("pocket").add("https://p.example/new", "Gardening news")
    second = listing.page(Query(search="garden", limit=5, cursor=first["next_cursor"]))
    assert [i["title"] for i in second["items"]] == ["Untitled", "Weekly notes"]


def test_tags_follow_every_write_into_the_search_index(items: ItemList) -> None:
    item = items.add("https://example.org/x", "X", ["alpha"])
    listing = Listing(items.conn, "local")
    assert _titles(listing, search="alpha") == ["X"]
    items.apply({"action": "tags_replace", "item_id": item.item_id, "tags": ["beta"]})
    assert _titles(listing, search="alpha") == []
    items.apply({"action": "tag_rename", "old_tag": "beta", "new_tag": "gamma"})
    assert _titles(listing, search="gamma") == ["X"]
    items.forget(item.item_id)
    assert items.conn.execute("SELECT count(*) FROM items_search").fetchone()[0] == 0


def test_a_cursor_from_another_query_is_refused(items: ItemList) -> None:
    for n in range(3):
        items.add(f"https://example.org/{n}")
    listing = Listing(items.conn, "local")
    cursor = listing.page(Query(limit=1))["next_cursor"]
    with pytest.raises(InvalidRequest, match="another filter"):
        listing.page(Query(limit=1, state="all", cursor=cursor))
    with pytest.raises(InvalidRequest, match="not one this host gave"):
        listing.page(Query(cursor="not-a-cursor"))


def test_tag_counts_count_live_items_most_used_first(items: ItemList) -> None:
    items.add("https://a.example/", tags=["x", "y"])
    items.add("https://b.example/", tags=["y"])
    gone = items.add("https://c.example/", tags=["x", "z"])
    items.apply({"action": "delete", "item_id": gone.item_id})
    assert items.tag_counts() == [("y", 2), ("x", 1)]
    assert items.tags() == ["x", "y"]


def _old_database(path: Path, version: int) -> sqlite3.Connection:
    """A database file as a host of schema ``version`` left it."""
    old = sqlite3.connect(path, isolation_level=None)
    old.create_function("tuckaway_url_key", 1, lambda u: u)  # migration 7's, as given
    for script in db.MIGRATIONS[:version]:
        for statement in db._statements(script):
            old.execute(statement)
    old.execute(f"PRAGMA user_version={version}")
    return old


def test_an_older_database_gets_its_items_indexed(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = _old_database(path, 2)
    old.execute(
        "INSERT INTO items (ns, item_id, url, title, time_added, time_updated) "
        "VALUES ('local', '7', 'https://old.example/page', 'Kept from before', 1, 1)"
    )
    old.execute("INSERT INTO item_tags VALUES ('local', '7', 'archive-me')")
    old.close()
    conn = db.connect(path)
    assert _titles(Listing(conn, "local"), search="archive") == ["Kept from before"]


def _seed(path: Path, count: int, title: str | None = None) -> None:
    conn = db.connect(path, synchronous="OFF")
    seed_items(conn, count, title)  # written by SQL: the triggers index them as saves
    conn.close()


def test_search_over_100k_items_answers_quickly(tmp_path: Path) -> None:
    _seed(tmp_path / "big.db", 100_000)
    listing = Listing(db.connect(tmp_path / "big.db"), "local")
    start = time.perf_counter()
    page = listing.page(Query(search="pyth asy", limit=50))
    took = time.perf_counter() - start
    assert page["total"] == 25_000  # "python async note N" and "async python note N"
    assert len(page["items"]) == 50
    assert all("python" in i["title"] and "async" in i["title"] for i in page["items"])
    assert took < 2.0  # generous on a shared CI machine; the bench measures it properly


def test_the_host_cuts_a_page_of_10kb_titles_under_1mib(home: Path, host: HostProcess) -> None:
    host.request({"id": 0, "op": "hello"})
    _seed(home / "data" / "tuckaway.db", 300, title="é" * 10_000)  # 20 KB of UTF-8 each
    seen: list[str] = []
    cursor = None
    while True:
        message: dict[str, object] = {"id": f"p{len(seen)}", "op": "list", "limit": 200}
        if cursor:
            message["cursor"] = cursor
        reply = host.request(message)
        assert reply["ok"], reply
        size = len(json.dumps(reply, ensure_ascii=False, separators=(",", ":")).encode())
        assert size < 1024 * 1024
        assert reply["result"]["total"] == 300
        seen += [i["item_id"] for i in reply["result"]["items"]]
        cursor = reply["result"]["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 300


def test_the_host_lists_searches_and_counts_tags(host: HostProcess) -> None:
    for n, tags in enumerate([["rust"], ["rust", "web"], []]):
        host.request({"id": f"s{n}", "op": "save", "url": f"https://e{n}.example/", "tags": tags})
    reply = host.request({"id": "l", "op": "list", "search": "e1", "state": "all"})
    assert [i["url"] for i in reply["result"]["items"]] == ["https://e1.example/"]
    reply = host.request({"id": "t", "op": "tags", "counts": True})
    assert reply["result"] == {"tags": [{"tag": "rust", "count": 2}, {"tag": "web", "count": 1}]}
    reply = host.request({"id": "bad", "op": "list", "limit": 500})
    assert reply["error"]["code"] == "invalid_request"
    assert reply["error"]["fields"][0]["loc"] == "limit"
    reply = host.request({"id": "c", "op": "list", "cursor": "zz"})
    assert reply["error"]["fields"] == [{"loc": "cursor", "msg": "unknown cursor"}]


def test_cli_list_search(env: dict[str, str]) -> None:
    run_cli(env, "save", "https://a.example/", "--title", "Async Rust")
    run_cli(env, "save", "https://b.example/", "--title", "Baking bread")
    out = run_cli(env, "list", "--search", "asy", "ru", "--json")
    assert [i["title"] for i in json.loads(out.stdout)] == ["Async Rust"]
    assert "nothing matches" in run_cli(env, "list", "--search", "zebra").stdout


def test_a_link_gets_the_title_the_service_found_not_its_link_text(
    conn: sqlite3.Connection,
) -> None:
    synced = Store(conn).items("pocket")
    url = "https://news.example/story"
    synced.remember({"item_id": "9", "given_url": url, "given_title": "Read more"})
    assert synced.lookup(url).title == "Read more"  # type: ignore[union-attr]
    synced.remember(
        {
            "item_id": "9",
            "given_url": url,
            "given_title": "Read more",
            "resolved_title": "The story",
        }
    )
    assert _titles(Listing(conn, "pocket"), search="story") == ["The story"]


def test_totals_follow_every_write_and_an_older_database_gets_its_counts(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = _old_database(path, 5)
    for n, (status, favorite) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (0, 0)]):
        old.execute(
            "INSERT INTO items (ns, item_id, url, status, favorite, time_added, time_updated) "
            "VALUES ('local', ?, ?, ?, ?, ?, ?)",
            (str(n), f"https://old.example/{n}", status, favorite, n, n),
        )
    old.close()
    conn = db.connect(path)
    items = Store(conn).items("local")
    listing = Listing(conn, "local")
    new = items.add("https://new.example/", "New")
    items.apply({"action": "favorite", "item_id": new.item_id})
    items.apply({"action": "archive", "item_id": "0"})
    items.apply({"action": "delete", "item_id": "1"})
    items.forget("5")
    Store(conn).items("pocket").add("https://elsewhere.example/")  # another namespace
    for state in ("unread", "archive", "all"):
        for favorite in (None, True, False):
            query = Query(state=state, favorite=favorite)
            assert listing.page(query)["total"] == len(list(all_pages(listing, query)))


def test_a_search_counts_its_matches_once_and_later_pages_carry_the_total(
    items: ItemList,
) -> None:
    for n in range(7):
        items.add(f"https://example.org/{n}", f"garden {n}", now=n)
    items.add("https://example.org/other", "kitchen")
    listing = Listing(items.conn, "local")
    first = listing.page(Query(search="gard", limit=3))
    assert first["total"] == 7 and len(first["items"]) == 3
    items.add("https://example.org/late", "garden late")  # counted by the next search
    second = listing.page(Query(search="gard", limit=3, cursor=first["next_cursor"]))
    assert second["total"] == 7
    assert listing.page(Query(search="gard"))["total"] == 8
    assert listing.page(Query(search="zebra"))["total"] == 0


# -- a search on the index alone (items_search keyed by namespace, state, time) ------

_VOCAB = ("garden", "gardening", "rust", "rusty", "music", "note", "tea", "travel")


def _random_items(conn: sqlite3.Connection, seed: int, count: int) -> None:
    """Items in two namespaces, in every state, with ties on time and words in every
    column, written by SQL as a sync would (the triggers index them)."""
    import random

    rnd = random.Random(seed)

    def words(n: int) -> str:
        return " ".join(rnd.choice(_VOCAB) for _ in range(rnd.randint(0, n)))

    for n in range(count):
        ns = rnd.choice(("local", "local", "pocket"))
        conn.execute(
            "INSERT INTO items (ns, item_id, url, url_key, title, excerpt, status, favorite, "
            "time_added, time_updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                ns,
                str(n),
                f"https://{rnd.choice(_VOCAB)}.example/{words(2).replace(' ', '-')}/{n}",
                f"https://k.example/{n}",
                words(4),
                words(6),
                rnd.choice((0, 0, 1, 2)),
                rnd.choice((0, 1)),
                rnd.randint(1, count // 3),  # many ties on time
                0,
            ),
        )
        for tag in {rnd.choice(_VOCAB) for _ in range(rnd.randint(0, 2))}:
            conn.execute("INSERT INTO item_tags VALUES (?, ?, ?)", (ns, str(n), tag))


def _every_page(listing: Listing, query: Query) -> tuple[list[str], list[int]]:
    seen: list[str] = []
    totals: list[int] = []
    while True:
        page = listing.page(query)
        seen += _ids(page)
        totals.append(page["total"])
        if page["next_cursor"] is None:
            return seen, totals
        query = replace(query, cursor=page["next_cursor"])


def test_a_search_on_the_index_alone_pages_as_the_item_filter_does(
    conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    _random_items(conn, 1, 300)
    monkeypatch.setattr(listing_module, "RANK_FIRST", 3)  # the window grows, often
    fast = Listing(conn, "local")
    used: list[bool] = []
    ranges = fast._key_ranges

    def spy(query: Query) -> object:
        found = ranges(query)
        used.append(found is not None)
        return found

    monkeypatch.setattr(fast, "_key_ranges", spy)
    slow = Listing(conn, "local")
    monkeypatch.setattr(slow, "_key_ranges", lambda q: None)  # the SQL filter over items
    for ns in ("local", "pocket"):
        fast.ns = slow.ns = ns
        for state in ("unread", "archive", "all"):
            for sort in (None, "newest", "oldest"):
                for search in ("garden", "gard rus", "rust tea mus", "t", "zebra"):
                    for limit in (2, 9):
                        query = Query(state=state, sort=sort, search=search, limit=limit)
                        got, want = _every_page(fast, query), _every_page(slow, query)
                        assert got == want, (ns, state, sort, search, limit)
    assert used and all(used)  # every search here read the index alone
    hits = sum(1 for _ in all_pages(fast, Query(state="all", search="garden")))
    assert hits > 20  # the data holds real matches to order


def test_an_old_match_that_scores_higher_leads_past_the_newest_window(
    items: ItemList, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing_module, "RANK_FIRST", 2)
    items.add("https://old.example/", "Garden planning", ["garden"], now=2)  # title + tag
    items.add("https://older.example/", "Garden", now=1)  # title only, older still
    for n in range(10):
        items.add(f"https://new.example/{n}", f"Garden diary {n}", now=100 + n)
    listing = Listing(items.conn, "local")
    titles = _titles(listing, search="garden")
    assert titles[0] == "Garden planning"
    assert titles[1:] == [f"Garden diary {n}" for n in range(9, -1, -1)] + ["Garden"]
    assert len(_titles(listing, search="garden", limit=3)) == 12  # pages of 3 agree


def test_search_pages_are_stable_while_matching_saves_arrive(
    tmp_path: Path, items: ItemList
) -> None:
    for n in range(30):
        items.add(f"https://example.org/{n}", f"garden {n}", ["garden"] * (n % 2), now=50 + n % 4)
    other = Store(db.connect(tmp_path / "t.db")).items("local")
    listing = Listing(items.conn, "local")
    for sort in (None, "newest", "oldest"):
        seen: list[str] = []
        query = Query(search="gard", sort=sort, limit=4)
        while True:
            page = listing.page(query)
            seen += _ids(page)
            new = f"https://example.org/{sort}-{len(seen)}"
            other.add(new, "garden new", now=50 + len(seen) % 4)
            other.add(f"https://example.org/{sort}-late-{len(seen)}", "gardening later")
            if page["next_cursor"] is None:
                break
            query = replace(query, cursor=page["next_cursor"])
        originals = [str(n + 1) for n in range(30)]
        assert sorted(s for s in seen if s in originals) == sorted(originals), sort
        assert len(seen) == len(set(seen)), sort


def test_the_search_index_follows_archive_delete_and_a_new_time(items: ItemList) -> None:
    item = items.add("https://example.org/x", "Tea ceremony", now=10)
    listing = Listing(items.conn, "local")
    items.apply({"action": "archive", "item_id": item.item_id})
    assert _titles(listing, search="tea") == []
    assert _titles(listing, search="tea", state="archive") == ["Tea ceremony"]
    items.apply({"action": "readd", "item_id": item.item_id})
    assert _titles(listing, search="tea") == ["Tea ceremony"]
    items.conn.execute("UPDATE items SET time_added = 99 WHERE item_id = ?", (item.item_id,))
    (found,) = listing.page(Query(search="tea"))["items"]
    assert found["time_added"] == 99
    # a new id brings the tags filed under it (a synced item's id can change)
    items.conn.execute("INSERT INTO item_tags VALUES ('local', 'renamed', 'matcha')")
    assert _titles(listing, search="matcha") == []
    items.conn.execute("UPDATE items SET item_id = 'renamed' WHERE item_id = ?", (item.item_id,))
    assert _titles(listing, search="matcha") == ["Tea ceremony"]
    item = items.get_item("renamed") or item
    items.apply({"action": "delete", "item_id": item.item_id})
    assert _titles(listing, search="tea", state="all") == []
    assert items.conn.execute("SELECT count(*) FROM items_search").fetchone()[0] == 0


def test_namespaces_past_the_seventh_and_huge_rowids_are_searched_too(
    conn: sqlite3.Connection,
) -> None:
    for n in range(9):  # "local" is slot 0; the eighth namespace on share slot 7
        Store(conn).items(f"acct{n}").add(f"https://example.org/{n}", f"Rust {n}", now=n)
    slots = [r[0] for r in conn.execute("SELECT rowid >> 60 FROM items_search ORDER BY 1")]
    assert slots == [1, 2, 3, 4, 5, 6, 7, 7, 7]
    for n in range(9):
        assert _titles(Listing(conn, f"acct{n}"), search="rus") == [f"Rust {n}"]
    local = Store(conn).items("local")
    local.add("https://example.org/a", "Rust a", now=5)
    conn.execute(
        "INSERT INTO items (rowid, ns, item_id, url, url_key, title, time_added, time_updated) "
        "VALUES (?, 'local', 'big', 'https://example.org/big', 'k', 'Rust big', 9, 9)",
        (1 << 27,),
    )
    assert _titles(Listing(conn, "local"), search="rust") == ["Rust big", "Rust a"]
    assert _titles(Listing(conn, "local"), search="rust", sort="oldest") == ["Rust a", "Rust big"]


def test_a_relevance_cursor_with_a_forged_key_is_refused(items: ItemList) -> None:
    for n in range(3):
        items.add(f"https://example.org/{n}", f"garden {n}", now=n)
    listing = Listing(items.conn, "local")
    cursor = listing.page(Query(search="garden", limit=1))["next_cursor"]
    body = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    body["k"][0] = "ten"
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).decode()
    with pytest.raises(InvalidRequest, match="cursor"):
        listing.page(Query(search="garden", limit=1, cursor=forged))
