"""The local store implements /v3/add and the twelve /v3/send actions with Pocket's semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuckaway import db
from tuckaway.store import ItemList, Store, StoreError

URL = "https://example.org/article"


@pytest.fixture
def items(tmp_path: Path) -> ItemList:
    return Store(db.connect(tmp_path / "t.db")).items("local")


def test_add_saves_a_new_item_with_title_and_tags(items: ItemList) -> None:
    item = items.add(URL, "An article", ["read", "later"])
    assert item.item_id and item.url == URL and item.title == "An article"
    assert sorted(item.tags) == ["later", "read"]
    assert items.resolve(URL) == item.item_id


def test_add_of_a_known_url_is_the_same_item_back_in_the_list(items: ItemList) -> None:
    first = items.add(URL, tags=["a"])
    items.apply({"action": "archive", "item_id": first.item_id})
    again = items.add(URL, tags=["b"])
    assert again.item_id == first.item_id
    assert again.status == 0 and again.tags == ["a", "b"]


def test_add_action_answers_the_item_object(items: ItemList) -> None:
    results, errors = items.send([{"action": "add", "url": URL, "tags": "x,y"}])
    assert errors == [None]
    assert results[0]["given_url"] == URL and set(results[0]) >= {"item_id", "resolved_url"}


def test_archive_and_readd(items: ItemList) -> None:
    item = items.add(URL)
    assert items.apply({"action": "archive", "item_id": item.item_id}) is True
    assert items.lookup(URL).status == 1  # type: ignore[union-attr]
    readd = items.apply({"action": "readd", "item_id": item.item_id})
    assert readd["status"] == "0"
    assert items.lookup(URL).status == 0  # type: ignore[union-attr]


def test_favorite_and_unfavorite(items: ItemList) -> None:
    item = items.add(URL)
    items.apply({"action": "favorite", "item_id": item.item_id})
    assert items.lookup(URL).favorite  # type: ignore[union-attr]
    items.apply({"action": "unfavorite", "url": URL})
    assert not items.lookup(URL).favorite  # type: ignore[union-attr]


def test_delete_removes_the_item_for_good_but_a_since_sync_sees_it(items: ItemList) -> None:
    item = items.add(URL, tags=["t"])
    items.apply({"action": "delete", "item_id": item.item_id})
    assert items.lookup(URL) is None and items.resolve(URL) is None
    assert items.tags() == []
    changed = items.get({"since": 0, "state": "all"})["list"]
    assert changed[item.item_id]["status"] == "2"
    with pytest.raises(StoreError):
        items.apply({"action": "archive", "item_id": item.item_id})


def test_tags_add_remove_replace_clear(items: ItemList) -> None:
    item = items.add(URL, tags=["a"])
    target = {"item_id": item.item_id}
    items.apply({"action": "tags_add", **target, "tags": "b, c"})
    assert items.lookup(URL).tags == ["a", "b", "c"]  # type: ignore[union-attr]
    items.apply({"action": "tags_remove", **target, "tags": "a,c"})
    assert items.lookup(URL).tags == ["b"]  # type: ignore[union-attr]
    items.apply({"action": "tags_replace", **target, "tags": "x,y"})
    assert items.lookup(URL).tags == ["x", "y"]  # type: ignore[union-attr]
    items.apply({"action": "tags_clear", **target})
    assert items.lookup(URL).tags == []  # type: ignore[union-attr]


def test_tag_rename_affects_every_item_and_merges(items: ItemList) -> None:
    a = items.add("https://a.org/", tags=["old", "new"])
    b = items.add("https://b.org/", tags=["old"])
    items.apply({"action": "tag_rename", "old_tag": "old", "new_tag": "new"})
    assert items.get_item(a.item_id).tags == ["new"]  # type: ignore[union-attr]
    assert items.get_item(b.item_id).tags == ["new"]  # type: ignore[union-attr]


def test_tag_delete_affects_every_item(items: ItemList) -> None:
    items.add("https://a.org/", tags=["gone", "kept"])
    items.add("https://b.org/", tags=["gone"])
    items.apply({"action": "tag_delete", "tag": "gone"})
    assert items.tags() == ["kept"]


def test_send_answers_each_action_in_order_and_one_failure_fails_alone(
    items: ItemList,
) -> None:
    item = items.add(URL)
    results, errors = items.send([
        {"action": "favorite", "item_id": item.item_id},
        {"action": "archive", "item_id": "999999"},
        {"action": "frobnicate", "item_id": item.item_id},
        {"action": "archive", "url": URL},
    ])
    assert results == [True, False, False, True]
    assert errors[0] is None and errors[3] is None
    assert errors[1]["code"] == 404 and errors[2]["code"] == 130


def test_actions_may_name_the_item_by_url(items: ItemList) -> None:
    items.add(URL)
    assert items.apply({"action": "archive", "url": URL}) is True


def test_tag_completion_is_by_prefix_case_insensitive_and_escapes_wildcards(
    items: ItemList,
) -> None:
    items.add(URL, tags=["Python", "pytest", "rust", "100%", "a_b"])
    assert items.tags("py") == ["pytest", "Python"]
    assert items.tags("100%") == ["100%"]
    assert items.tags("a_") == ["a_b"]
    assert items.tags("%") == []


def test_get_filters_like_pocket_and_sends_an_empty_list_as_array(items: ItemList) -> None:
    assert items.get({})["list"] == []
    a = items.add("https://a.org/", "A", ["t"])
    b = items.add("https://b.org/", "B")
    items.apply({"action": "archive", "item_id": b.item_id})
    items.apply({"action": "favorite", "item_id": a.item_id})
    assert list(items.get({"state": "unread"})["list"]) == [a.item_id]
    assert list(items.get({"state": "archive"})["list"]) == [b.item_id]
    assert set(items.get({"state": "all"})["list"]) == {a.item_id, b.item_id}
    assert list(items.get({"state": "all", "favorite": "1"})["list"]) == [a.item_id]
    assert list(items.get({"state": "all", "tag": "_untagged_"})["list"]) == [b.item_id]
    complete = items.get({"detailType": "complete"})["list"][a.item_id]
    assert complete["tags"] == {"t": {"item_id": a.item_id, "tag": "t"}}


def test_namespaces_are_separate_lists(tmp_path: Path) -> None:
    store = Store(db.connect(tmp_path / "t.db"))
    store.items("local").add(URL)
    assert store.items("pocket").lookup(URL) is None


def test_remember_keeps_the_services_item_id(items: ItemList) -> None:
    item = items.remember({"item_id": 229279689, "given_url": URL, "status": "1",
                           "favorite": "1", "tags": {"x": {}}})
    assert item.item_id == "229279689" and item.status == 1 and item.favorite
    assert items.resolve(URL) == "229279689" and item.tags == ["x"]


def test_migrations_run_once_and_reopen_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    conn = db.connect(path)
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    assert version == len(db.MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    assert db.connect(path).execute("PRAGMA user_version").fetchone()[0] == version
