"""Items and tags with Pocket's semantics, in SQLite, one namespace per list.

Namespace ``local`` is the user's own reading list (the backend when no
account is linked, and what ``tuckaway serve`` publishes); namespace
``pocket`` is the host's index of the linked Pocket account (url -> item_id,
status, favorite, tags), kept current by successful writes and ``/v3/get``
syncs. The twelve ``/v3/send`` actions and ``/v3/add`` behave as Pocket's do:
a re-added url is the same item, moved back to the list; ``delete`` removes an
item for good (a tombstone with status 2 is kept for ``since`` syncs).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tuckaway.articles import Articles
from tuckaway.db import transaction
from tuckaway.services.pocket.actions import ACTIONS
from tuckaway.services.pocket.actions import ITEM_ACTIONS as ITEM_ACTIONS  # for serve
from tuckaway.urls import strip_userinfo, url_key

UNREAD, ARCHIVED, DELETED = 0, 1, 2


class StoreError(Exception):
    """One action the store refuses; shaped like a Pocket ``action_errors`` entry."""

    def __init__(self, message: str, code: int = 400, type_: str = "Bad Request") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.type = type_

    def to_pocket(self) -> dict[str, Any]:
        return {"message": self.message, "type": self.type, "code": self.code}


def split_tags(value: Any) -> list[str]:
    """Pocket takes tags as a comma-joined string; accept a list too. Trimmed, no empties."""
    if value is None:
        return []
    parts = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    seen: dict[str, None] = {}
    for part in parts:
        tag = part.strip()
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


@dataclass
class Item:
    item_id: str
    url: str
    title: str = ""
    status: int = UNREAD
    favorite: bool = False
    tags: list[str] = field(default_factory=list)
    time_added: int = 0
    time_updated: int = 0
    time_read: int = 0
    time_favorited: int = 0
    resolved_url: str | None = None
    excerpt: str = ""
    word_count: int | None = None

    def to_pocket(self, detail: str = "complete") -> dict[str, Any]:
        """The item as Pocket's ``/v3/get`` and ``/v3/add`` answer it (numbers as strings)."""
        data: dict[str, Any] = {
            "item_id": self.item_id,
            "resolved_id": self.item_id,
            "given_url": self.url,
            "normal_url": self.url,
            "resolved_url": self.resolved_url or self.url,
            "given_title": self.title,
            "resolved_title": self.title,
            "title": self.title,
            "favorite": "1" if self.favorite else "0",
            "status": str(self.status),
            "time_added": str(self.time_added),
            "time_updated": str(self.time_updated),
            "time_read": str(self.time_read),
            "time_favorited": str(self.time_favorited),
            "excerpt": self.excerpt,
            "is_article": "0",
            "has_image": "0",
            "has_video": "0",
            "word_count": str(self.word_count or 0),
        }
        if detail == "complete":
            data["tags"] = {t: {"item_id": self.item_id, "tag": t} for t in self.tags}
        return data

    def to_lookup(self) -> dict[str, Any]:
        """The ``lookup`` op's view (PROTOCOL.md 3)."""
        return {
            "saved": self.status != DELETED,
            "item_id": self.item_id,
            "status": "archived" if self.status == ARCHIVED else "unread",
            "favorite": self.favorite,
            "tags": list(self.tags),
        }


_LIVE_TAGS = (
    "SELECT t.tag, count(*) FROM item_tags t JOIN items i ON i.ns = t.ns AND i.item_id = t.item_id "
    "WHERE t.ns = ? AND i.status != 2 AND t.tag LIKE ? ESCAPE '\\' GROUP BY t.tag"
)


def _now() -> int:
    return int(time.time())


class Store:
    """All lists in one database connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def items(self, ns: str = "local") -> ItemList:
        return ItemList(self.conn, ns)


class ItemList:
    """One namespace's items. Each public method is one transaction."""

    def __init__(self, conn: sqlite3.Connection, ns: str) -> None:
        self.conn = conn
        self.ns = ns

    # -- reading ---------------------------------------------------------

    def _row_to_item(self, row: sqlite3.Row) -> Item:
        tags = [
            r[0]
            for r in self.conn.execute(
                "SELECT tag FROM item_tags WHERE ns = ? AND item_id = ? ORDER BY tag",
                (self.ns, row["item_id"]),
            )
        ]
        return Item(
            item_id=row["item_id"],
            url=row["url"],
            title=row["title"],
            status=row["status"],
            favorite=bool(row["favorite"]),
            tags=tags,
            time_added=row["time_added"],
            time_updated=row["time_updated"],
            time_read=row["time_read"],
            time_favorited=row["time_favorited"],
            resolved_url=row["resolved_url"],
            excerpt=row["excerpt"],
            word_count=row["word_count"],
        )

    def _by_url(self, url: str) -> sqlite3.Row | None:
        """The item ``url`` names in any spelling (:func:`tuckaway.urls.url_key`)."""
        row: sqlite3.Row | None = self.conn.execute(
            "SELECT * FROM items WHERE ns = ? AND url_key = ?", (self.ns, url_key(url))
        ).fetchone()
        return row

    def _by_id(self, item_id: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(
            "SELECT * FROM items WHERE ns = ? AND item_id = ?", (self.ns, str(item_id))
        ).fetchone()
        return row

    def get_item(self, item_id: str) -> Item | None:
        row = self._by_id(item_id)
        return None if row is None else self._row_to_item(row)

    def lookup(self, url: str) -> Item | None:
        """The live (not deleted) item saved under ``url``."""
        row = self._by_url(url)
        if row is None or row["status"] == DELETED:
            return None
        return self._row_to_item(row)

    def resolve(self, url: str) -> str | None:
        row = self._by_url(url)
        if row is None or row["status"] == DELETED:
            return None
        return str(row["item_id"])

    def tags(self, prefix: str = "", limit: int = 1000) -> list[str]:
        """Known tag names (of live items), for completion; case-insensitive prefix."""
        return [tag for tag, _ in self.tag_counts(prefix, limit, by_use=False)]

    def tag_counts(
        self, prefix: str = "", limit: int = 1000, *, by_use: bool = True
    ) -> list[tuple[str, int]]:
        """Tags of live items and how many carry each: most used first, or by name."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        order = "count(*) DESC, t.tag COLLATE NOCASE" if by_use else "t.tag COLLATE NOCASE"
        rows = self.conn.execute(
            _LIVE_TAGS + f" ORDER BY {order} LIMIT ?", (self.ns, escaped + "%", limit)
        )
        return [(r[0], int(r[1])) for r in rows]

    def query(
        self,
        *,
        state: str = "unread",
        favorite: bool | None = None,
        tag: str | None = None,
        search: str | None = None,
        domain: str | None = None,
        since: int | None = None,
        sort: str = "newest",
        count: int | None = None,
        offset: int = 0,
    ) -> list[Item]:
        """Items filtered like Pocket's ``/v3/get``."""
        where = ["i.ns = ?"]
        args: list[Any] = [self.ns]
        if since is not None:
            where.append("i.time_updated >= ?")
            args.append(since)
        elif state == "unread":
            where.append("i.status = 0")
        elif state == "archive":
            where.append("i.status = 1")
        else:
            where.append("i.status != 2")
        if since is not None and state in {"unread", "archive"}:
            where.append("i.status IN (?, 2)")
            args.append(0 if state == "unread" else 1)
        if favorite is not None:
            where.append("i.favorite = ?")
            args.append(int(favorite))
        if tag == "_untagged_":
            where.append(
                "NOT EXISTS (SELECT 1 FROM item_tags t WHERE t.ns = i.ns AND t.item_id = i.item_id)"
            )
        elif tag:
            where.append(
                "EXISTS (SELECT 1 FROM item_tags t WHERE t.ns = i.ns AND t.item_id = i.item_id "
                "AND t.tag = ?)"
            )
            args.append(tag)
        if search:
            where.append("(i.title LIKE ? OR i.url LIKE ?)")
            args += [f"%{search}%", f"%{search}%"]
        if domain:
            # a first cut in SQL; _on_domain below decides (subdomains count, paths do not)
            where.append("i.url LIKE ?")
            args.append(f"%{domain}%")
        order = {
            "newest": "i.time_added DESC, i.rowid DESC",
            "oldest": "i.time_added ASC, i.rowid ASC",
            "title": "i.title COLLATE NOCASE ASC, i.rowid ASC",
            "site": "i.url ASC",
        }.get(sort, "i.time_added DESC, i.rowid DESC")
        sql = f"SELECT i.* FROM items i WHERE {' AND '.join(where)} ORDER BY {order}"  # noqa: S608
        if not domain:  # LIMIT -1: all; Pocket took an offset without a count too
            sql += " LIMIT ? OFFSET ?"
            args += [-1 if count is None else count, offset]
        rows = self.conn.execute(sql, args).fetchall()
        if domain:
            end = None if count is None else offset + count
            rows = [r for r in rows if _on_domain(r["url"], domain)][offset:end]
        return [self._row_to_item(r) for r in rows]

    def get(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """A ``/v3/get`` answer: ``list`` is ``[]`` when empty, as Pocket sends it."""
        now = _now()
        fav = params.get("favorite")
        since = params.get("since")
        count = params.get("count")
        items = self.query(
            state=str(params.get("state") or "unread"),
            favorite=None if fav in (None, "") else str(fav) in {"1", "true", "True"},
            tag=params.get("tag") or None,
            search=params.get("search") or None,
            domain=params.get("domain") or None,
            since=None if since in (None, "") else int(since),
            sort=str(params.get("sort") or "newest"),
            count=None if count in (None, "") else int(count),
            offset=int(params.get("offset") or 0),
        )
        detail = str(params.get("detailType") or "simple")
        listing: dict[str, Any] | list[Any] = {
            item.item_id: item.to_pocket(detail) for item in items
        }
        return {
            "status": 1,
            "complete": 1,
            "list": listing or [],
            "error": None,
            "search_meta": {"search_type": "normal"},
            "since": now,
        }

    # -- writing ---------------------------------------------------------

    def add(
        self,
        url: str,
        title: str | None = None,
        tags: Iterable[str] | str | None = (),
        now: int | None = None,
        item_id: str | None = None,
    ) -> Item:
        """``/v3/add``: save ``url``; a known url is re-added (back to the list, tags merged)."""
        with transaction(self.conn):
            return self._add(url, title, split_tags(tags), now or _now(), item_id)

    def _add(
        self, url: str, title: str | None, tags: list[str], now: int, item_id: str | None
    ) -> Item:
        url = strip_userinfo(url)  # never kept (tuckaway serve's clients may send one)
        row = self._by_url(url)
        if row is None and item_id is not None:
            row = self._by_id(item_id)
        if row is None:
            cur = self.conn.execute(
                "INSERT INTO items (ns, item_id, url, url_key, title, status, time_added, "
                "time_updated) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
                (self.ns, item_id, url, url_key(url), title or "", now, now),
            )
            if item_id is None:
                item_id = str(cur.lastrowid)
                self.conn.execute(
                    "UPDATE items SET item_id = ? WHERE rowid = ?", (item_id, cur.lastrowid)
                )
        else:
            item_id = str(row["item_id"])
            revived = row["status"] == DELETED
            self.conn.execute(
                "UPDATE items SET status = 0, time_updated = ?, url = ?, url_key = ?, "
                "title = CASE WHEN ? != '' AND (title = '' OR ?) THEN ? ELSE title END, "
                "time_added = CASE WHEN ? THEN ? ELSE time_added END, "
                "favorite = CASE WHEN ? THEN 0 ELSE favorite END WHERE rowid = ?",
                (
                    now,
                    url,
                    url_key(url),
                    title or "",
                    revived,
                    title or "",
                    revived,
                    now,
                    revived,
                    row["rowid"],
                ),
            )
        self._tags_insert(item_id, tags)
        row = self._by_id(item_id)
        assert row is not None
        return self._row_to_item(row)

    def remember(self, item: Mapping[str, Any]) -> Item:
        """Upsert an item as a Pocket service described it (add result or ``/v3/get`` entry)."""
        item_id = str(item["item_id"])
        url = str(_first(item, "given_url", "normal_url", "resolved_url"))
        # The page's own title when the service found it: a link saved from the context
        # menu was given its link text ("Read more"), kept only as the fallback.
        title = str(
            item.get("resolved_title") or item.get("given_title") or item.get("title") or ""
        )
        status = int(item.get("status") or 0)
        now = _now()
        with transaction(self.conn):
            row = self._by_id(item_id)
            if row is None and url:
                row = self._by_url(url)
            if row is None:
                if not url:
                    raise StoreError("item has no url", 400)
                self.conn.execute(
                    "INSERT INTO items (ns, item_id, url, url_key, title, status, time_added, "
                    "time_updated) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
                    (
                        self.ns,
                        item_id,
                        url,
                        url_key(url),
                        title,
                        _int(item.get("time_added"), now),
                        now,
                    ),
                )
                row = self._by_id(item_id)
                assert row is not None
            self.conn.execute(
                "UPDATE items SET item_id = ?, url = CASE WHEN ? != '' THEN ? ELSE url END, "
                "url_key = CASE WHEN ? != '' THEN ? ELSE url_key END, "
                "title = CASE WHEN ? != '' THEN ? ELSE title END, status = ?, "
                "favorite = ?, resolved_url = ?, time_updated = ?, "
                "excerpt = coalesce(?, excerpt), word_count = coalesce(?, word_count) "
                "WHERE rowid = ?",
                (
                    item_id,
                    url,
                    url,
                    url,
                    url_key(url) if url else "",
                    title,
                    title,
                    status,
                    int(str(item.get("favorite") or "0") in {"1", "true", "True"}),
                    item.get("resolved_url"),
                    _int(item.get("time_updated"), now),
                    item.get("excerpt") if isinstance(item.get("excerpt"), str) else None,
                    _int(item.get("word_count"), 0) or None,
                    row["rowid"],
                ),
            )
            if "tags" in item and isinstance(item["tags"], Mapping | list):
                self.conn.execute(
                    "DELETE FROM item_tags WHERE ns = ? AND item_id = ?", (self.ns, item_id)
                )
                self._tags_insert(item_id, split_tags(list(item["tags"])))
            final = self._by_id(item_id)
            assert final is not None
            return self._row_to_item(final)

    def send(self, actions: Sequence[Mapping[str, Any]]) -> tuple[list[Any], list[Any]]:
        """``/v3/send``: each action in order, each in its own transaction."""
        results: list[Any] = []
        errors: list[Any] = []
        for action in actions:
            try:
                result = self.apply(action)
            except StoreError as exc:
                results.append(False)
                errors.append(exc.to_pocket())
            else:
                results.append(result)
                errors.append(None)
        return results, errors

    def apply(self, action: Mapping[str, Any]) -> Any:
        """One ``/v3/send`` action. ``add`` answers the item object; the others ``True``."""
        with transaction(self.conn):
            return self._apply(action)

    def _apply(self, action: Mapping[str, Any]) -> Any:
        name = action.get("action")
        now = _int(action.get("time"), _now())
        if name not in ACTIONS:
            raise StoreError(f"Invalid action: {name!r}", 130, "Bad Request")
        if name == "add":
            url = action.get("url")
            if not url and action.get("item_id"):
                row = self._by_id(str(action["item_id"]))
                if row is None:
                    raise StoreError("Item not found", 404, "Not Found")
                url = row["url"]
            if not url or not isinstance(url, str):
                raise StoreError("Missing url", 400)
            return self._add(
                url, action.get("title"), split_tags(action.get("tags")), now, None
            ).to_pocket("simple")
        if name == "tag_rename":
            old, new = action.get("old_tag"), action.get("new_tag")
            if not old or not new:
                raise StoreError("tag_rename needs old_tag and new_tag", 400)
            self._tag_rename(str(old).strip(), str(new).strip(), now)
            return True
        if name == "tag_delete":
            tag = action.get("tag")
            if not tag:
                raise StoreError("tag_delete needs tag", 400)
            self._touch_tagged(str(tag).strip(), now)
            self.conn.execute(
                "DELETE FROM item_tags WHERE ns = ? AND tag = ?", (self.ns, str(tag).strip())
            )
            return True
        row = self._target(action)
        item_id = str(row["item_id"])
        if name == "archive":
            self._set(item_id, now, "status = 1, time_read = ?", now)
        elif name == "readd":
            self._set(item_id, now, "status = 0")
            return self._row_to_item(self._by_id(item_id) or row).to_pocket("simple")
        elif name == "favorite":
            self._set(item_id, now, "favorite = 1, time_favorited = ?", now)
        elif name == "unfavorite":
            self._set(item_id, now, "favorite = 0")
        elif name == "delete":
            self._set(item_id, now, "status = 2, favorite = 0")
            Articles(self.conn).forget(str(row["url"]))  # the kept copy goes with the item
            self.conn.execute(
                "DELETE FROM item_tags WHERE ns = ? AND item_id = ?", (self.ns, item_id)
            )
        else:
            tags = split_tags(action.get("tags"))
            if name != "tags_clear" and not tags:
                raise StoreError(f"{name} needs tags", 400)
            if name in {"tags_replace", "tags_clear"}:
                self.conn.execute(
                    "DELETE FROM item_tags WHERE ns = ? AND item_id = ?", (self.ns, item_id)
                )
            if name in {"tags_add", "tags_replace"}:
                self._tags_insert(item_id, tags)
            elif name == "tags_remove":
                self.conn.executemany(
                    "DELETE FROM item_tags WHERE ns = ? AND item_id = ? AND tag = ?",
                    [(self.ns, item_id, t) for t in tags],
                )
            self._set(item_id, now, "")
        return True

    def forget(self, item_id: str) -> None:
        """Drop an item from this namespace entirely (the service deleted it)."""
        with transaction(self.conn):
            self.conn.execute(
                "DELETE FROM item_tags WHERE ns = ? AND item_id = ?", (self.ns, item_id)
            )
            self.conn.execute("DELETE FROM items WHERE ns = ? AND item_id = ?", (self.ns, item_id))

    # -- helpers ---------------------------------------------------------

    def _target(self, action: Mapping[str, Any]) -> sqlite3.Row:
        row = None
        if action.get("item_id") not in (None, ""):
            row = self._by_id(str(action["item_id"]))
        elif action.get("url"):
            row = self._by_url(str(action["url"]))
        else:
            raise StoreError(f"{action.get('action')} needs item_id or url", 400)
        if row is None or row["status"] == DELETED:
            raise StoreError("Item not found", 404, "Not Found")
        return row

    def _set(self, item_id: str, now: int, assignments: str, *args: Any) -> None:
        sets = f"{assignments}, time_updated = ?" if assignments else "time_updated = ?"
        self.conn.execute(
            f"UPDATE items SET {sets} WHERE ns = ? AND item_id = ?",  # noqa: S608
            (*args, now, self.ns, item_id),
        )

    def _tags_insert(self, item_id: str, tags: Iterable[str]) -> None:
        self.conn.executemany(
            "INSERT OR IGNORE INTO item_tags (ns, item_id, tag) VALUES (?, ?, ?)",
            [(self.ns, item_id, t) for t in tags],
        )

    def _touch_tagged(self, tag: str, now: int) -> None:
        self.conn.execute(
            "UPDATE items SET time_updated = ? WHERE ns = ? AND item_id IN "
            "(SELECT item_id FROM item_tags WHERE ns = ? AND tag = ?)",
            (now, self.ns, self.ns, tag),
        )

    def _tag_rename(self, old: str, new: str, now: int) -> None:
        self._touch_tagged(old, now)
        self.conn.execute(
            "INSERT OR IGNORE INTO item_tags (ns, item_id, tag) "
            "SELECT ns, item_id, ? FROM item_tags WHERE ns = ? AND tag = ?",
            (new, self.ns, old),
        )
        if old != new:
            self.conn.execute("DELETE FROM item_tags WHERE ns = ? AND tag = ?", (self.ns, old))


def _on_domain(url: str, domain: str) -> bool:
    """Whether ``url``'s host is ``domain`` or one of its subdomains, as Pocket matched it."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    want = domain.lower().strip(".")
    return host == want or host.endswith("." + want)


def _first(item: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if item.get(key):
            return item[key]
    return ""


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
