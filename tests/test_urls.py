"""A url's identity and hygiene: one item per spelling, no password kept, clean tags and titles.

The normal form (``tuckaway.urls``), the validator that strips user info and
refuses control characters, the real host saving three spellings as one item,
and the migration that re-keys a database built with the old schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from support.hostproc import HostProcess
from test_listing import _old_database
from tuckaway import db
from tuckaway.errors import InvalidRequest
from tuckaway.store import Store
from tuckaway.urls import strip_userinfo, url_key
from tuckaway.wire.protocol import parse_request


@pytest.mark.parametrize(
    "spelling",
    [
        "https://example.org/",
        "https://EXAMPLE.org/",
        "https://example.org",
        "https://example.org:443/",
        "HTTPS://Example.Org:443",
        "https://alice:secret@example.org/",
    ],
)
def test_every_spelling_of_a_page_has_one_key(spelling: str) -> None:
    assert url_key(spelling) == "https://example.org/"


@pytest.mark.parametrize(
    "url,key",
    [
        ("https://bücher.example/Straße", "https://xn--bcher-kva.example/Straße"),
        ("http://example.org:80/a?b=C#D", "http://example.org/a?b=C#D"),
        ("http://example.org:8080", "http://example.org:8080/"),
        ("https://example.org?q=1", "https://example.org/?q=1"),
        ("http://[::1]:80/x", "http://[::1]/x"),
        ("https://example.org/Path/", "https://example.org/Path/"),  # the path keeps its case
    ],
)
def test_the_normal_form(url: str, key: str) -> None:
    assert url_key(url) == key


def test_user_info_is_stripped_and_nothing_else_changes() -> None:
    assert strip_userinfo("https://alice:secret@Host.example:8443/a@b?c=@#@") == (
        "https://Host.example:8443/a@b?c=@#@"
    )
    assert strip_userinfo("https://Host.example/") == "https://Host.example/"


def test_the_validator_strips_user_info_from_every_url_field() -> None:
    save = parse_request({"id": 1, "op": "save", "url": "https://alice:secret@example.org/a"})
    assert save.payload()["url"] == "https://example.org/a"


@pytest.mark.parametrize(
    "fields,loc,char",
    [
        ({"tags": ["ok", "a\x00b"]}, "tags.1", "U+0000"),
        ({"tags": ["bell\x07"]}, "tags.0", "U+0007"),
        ({"tags": ["c1\x85x"]}, "tags.0", "U+0085"),
        ({"title": "a\x00title"}, "title", "U+0000"),
        ({"title": "two\nlines"}, "title", "U+000A"),
        ({"title": "del\x7f"}, "title", "U+007F"),
    ],
)
def test_control_characters_in_tags_and_titles_are_refused_naming_the_field(
    fields: dict[str, Any], loc: str, char: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_request({"id": 1, "op": "save", "url": "https://example.org/", **fields})
    [field] = caught.value.to_wire()["fields"]
    assert field["loc"] == loc and char in field["msg"]


def test_three_spellings_are_one_item_and_the_password_is_never_stored(
    host: HostProcess, home: Path
) -> None:
    first = host.request({"id": 1, "op": "save", "url": "https://alice:secret@EXAMPLE.org",
                          "tags": ["a"]})
    assert first["ok"] is True
    assert first["result"]["url"] == "https://EXAMPLE.org"
    assert first["result"]["notes"] == [
        "the user name and password in the url were removed: they are never stored or sent"
    ]
    second = host.request({"id": 2, "op": "save", "url": "https://example.org:443/",
                           "tags": ["b"]})
    assert second["result"]["item_id"] == first["result"]["item_id"]
    assert "notes" not in second["result"]
    found = host.request({"id": 3, "op": "lookup", "url": "https://example.org"})["result"]
    assert found["saved"] is True and found["tags"] == ["a", "b"]
    listed = host.request({"id": 4, "op": "list"})["result"]
    assert [i["url"] for i in listed["items"]] == ["https://example.org:443/"]  # as last given
    host.close_stdin()
    assert host.wait() == 0
    files = list(home.rglob("*.db*")) + list(home.rglob("*.log"))
    assert any(p.suffix == ".db" for p in files)
    for path in files:
        assert b"secret" not in path.read_bytes(), path


#: the schema version before the url key
BEFORE_URL_KEY = next(i for i, script in enumerate(db.MIGRATIONS) if "url_key" in script)


def _database_before_url_keys(path: Path) -> None:
    """A database as hosts before the url key wrote it, with three spellings of one page."""
    conn = _old_database(path, BEFORE_URL_KEY)
    add = ("INSERT INTO items (ns, item_id, url, title, status, favorite, time_added, "
           "time_updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    conn.executemany(add, [
        ("local", "1", "https://example.org", "old", 0, 1, 100, 100),
        ("local", "2", "https://EXAMPLE.org:443/", "newer", 1, 0, 200, 300),
        ("local", "3", "https://example.org/other", "other", 0, 0, 150, 150),
        ("pocket", "9", "https://example.org", "pocket's", 0, 0, 100, 100),
    ])
    conn.executemany("INSERT INTO item_tags (ns, item_id, tag) VALUES (?, ?, ?)", [
        ("local", "1", "a"), ("local", "2", "b"), ("local", "3", "c"), ("pocket", "9", "p"),
    ])
    conn.execute(
        "INSERT INTO outbox (service, op, payload, dedupe_key, url, created_at, updated_at) "
        "VALUES ('pocket', 'save', '{\"url\":\"https://EXAMPLE.org\"}', 'k', "
        "'https://EXAMPLE.org', 0, 0)"
    )
    conn.close()


def test_the_migration_merges_items_that_now_share_a_key(tmp_path: Path) -> None:
    path = tmp_path / "tuckaway.db"
    _database_before_url_keys(path)
    conn = db.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(db.MIGRATIONS)
    local = Store(conn).items("local")
    merged = local.lookup("https://example.org/")
    assert merged is not None
    # the newest state (archived, its url and title), every tag, favorite, the first save
    assert (merged.item_id, merged.url, merged.title) == ("2", "https://EXAMPLE.org:443/", "newer")
    assert (merged.status, merged.favorite, merged.tags) == (1, True, ["a", "b"])
    assert merged.time_added == 100
    assert local.get_item("1") is None
    assert local.lookup("https://example.org/other") is not None
    assert Store(conn).items("pocket").lookup("HTTPS://example.org:443") is not None
    # the search index follows: the merged item is found by its tags, the gone one is not
    hits = conn.execute(
        "SELECT rowid & 134217727 FROM items_search WHERE items_search MATCH 'a'"
    ).fetchall()
    assert [r[0] for r in hits] == [conn.execute(
        "SELECT rowid FROM items WHERE ns = 'local' AND item_id = '2'").fetchone()[0]]
    assert conn.execute("SELECT url FROM outbox").fetchone()[0] == "https://example.org/"
