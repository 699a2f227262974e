"""The ``list`` op: pages of one namespace's items, searched with FTS5.

Pages are keyset pages: the cursor holds the sort key of the last item sent, so
items saved while a page is open never push an item into the next page twice or
out of it. Relevance is a score of the item alone (which columns hold each
word), not FTS5's bm25, whose corpus statistics shift as items arrive and would
reorder a search between two pages. Every page fits one native-messaging frame:
it is cut short, never refused, when the items would pass the budget. ``total``
for a state (and favorite) is one lookup in ``item_counts``, which triggers keep;
a tag or a search is counted once, with its first page, and the cursor carries
that figure to the pages after it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from tuckaway.articles import Articles
from tuckaway.errors import InvalidRequest

#: Room for one reply's items: 1 MiB less the envelope (id, next_cursor, total).
PAGE_BUDGET = 1024 * 1024 - 8 * 1024
#: Longer titles and excerpts are cut in a reply (a synced item may carry anything).
MAX_FIELD = 20_000
UNTAGGED = "_untagged_"
#: What a word found in each FTS column adds to an item's relevance.
WEIGHTS = {"title": 10, "tags": 6, "domain": 4, "url": 2, "excerpt": 1}
_WORD = re.compile(r"\w+", re.UNICODE)
#: What a word found in the kept copy of the page (issue 14) adds.
BODY_WEIGHT = 1
#: An IN list SQLite builds once per query (not a test per item).
_MATCHES = "i.rowid IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)"
#: ... and the items whose kept article holds the word.
_BODY_MATCHES = (
    "i.url_key IN (SELECT url_key FROM articles WHERE rowid IN "
    "(SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?))"
)
_STATES = {"unread": "i.status = 0", "archive": "i.status = 1", "all": "i.status != 2"}
#: The statuses each state counts in ``item_counts`` (2 is a deleted item).
_COUNTED = {"unread": "0", "archive": "1", "all": "0, 1"}


@dataclass(frozen=True)
class Query:
    """The filters and order of one ``list`` request."""

    state: str = "unread"
    favorite: bool | None = None
    tag: str | None = None
    search: str | None = None
    sort: str | None = None
    limit: int = 50
    cursor: str | None = None

    @property
    def words(self) -> list[str]:
        return [w.lower() for w in _WORD.findall(self.search or "")][:16]

    @property
    def order(self) -> str:
        """The effective sort: relevance when searching, unless asked otherwise."""
        if self.sort == "relevance" and not self.words:
            return "newest"
        return self.sort or ("relevance" if self.words else "newest")

    def fingerprint(self) -> str:
        key = json.dumps([self.state, self.favorite, self.tag, self.words, self.order])
        return hashlib.sha256(key.encode()).hexdigest()[:12]


def fts_query(words: list[str]) -> str:
    """Every word as a quoted prefix: ``rust asy`` matches "Rust async"."""
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


def domain_of(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


class Listing:
    """Pages of one namespace (``local`` or a linked account's index)."""

    def __init__(self, conn: sqlite3.Connection, ns: str) -> None:
        self.conn = conn
        self.ns = ns

    def page(self, query: Query) -> dict[str, Any]:
        """``{items, next_cursor, total}`` for one ``list`` request."""
        kept = self._kept(query)
        where, args = self._filters(query, kept)
        select, order, key_cols, score_args = self._ordering(query, kept)
        key, total = decode_cursor(query, len(key_cols)) if query.cursor else (None, None)
        if not (query.words or query.tag):
            total = self._counted(query)  # one lookup: always the fresh figure
        elif total is None and not (query.words and key is None):
            total = self._count(query, kept)
        # Only the sort keys go through the sort (a search sorts every match); the
        # page's rows are read after. A search's first page counts its matches there.
        counted = "count(*) OVER ()" if total is None else "NULL"
        base = f"SELECT {select} FROM items i WHERE {' AND '.join(where)}"  # noqa: S608
        after = ""
        if key is not None:
            after = f"WHERE ({', '.join(key_cols)}) {self._op(query)} ({', '.join('?' * len(key))})"
        sql = (
            f"SELECT {', '.join(key_cols)}, {counted} AS total FROM ({base}) {after} "  # noqa: S608
            f"ORDER BY {order} LIMIT ?"
        )
        keys = self.conn.execute(
            sql, [*score_args, *args, *(key or []), query.limit + 1]
        ).fetchall()
        if total is None:
            total = int(keys[0]["total"]) if keys else 0
        items, cut = self._fit(self._rows([int(k["rid"]) for k in keys[: query.limit]]))
        more = cut or len(keys) > query.limit
        last = keys[len(items) - 1] if items else None
        cursor = self._cursor(query, last, key_cols, total) if more and last is not None else None
        return {"items": items, "next_cursor": cursor, "total": total}

    def _counted(self, query: Query) -> int:
        """Items in a state (and favorite or not), from ``item_counts``, which triggers keep."""
        sql = (
            "SELECT coalesce(sum(n), 0) FROM item_counts "  # noqa: S608
            f"WHERE ns = ? AND status IN ({_COUNTED[query.state]})"
        )
        args: list[Any] = [self.ns]
        if query.favorite is not None:
            sql += " AND favorite = ?"
            args.append(int(query.favorite))
        return int(self.conn.execute(sql, args).fetchone()[0])

    def _count(self, query: Query, kept: frozenset[str]) -> int:
        """Items a tag or a search finds, counted (once: later pages carry it)."""
        where, args = self._filters(query, kept)
        sql = f"SELECT count(*) FROM items i WHERE {' AND '.join(where)}"  # noqa: S608
        return int(self.conn.execute(sql, args).fetchone()[0])

    def _rows(self, rids: list[int]) -> list[sqlite3.Row]:
        """The items with these rowids, in that order."""
        if not rids:
            return []
        marks = ",".join("?" * len(rids))
        sql = f"SELECT * FROM items WHERE rowid IN ({marks})"  # noqa: S608
        found = {int(r["rowid"]): r for r in self.conn.execute(sql, rids)}
        return [found[r] for r in rids if r in found]

    # -- building the query ------------------------------------------------

    def _filters(self, query: Query, kept: frozenset[str]) -> tuple[list[str], list[Any]]:
        # Each word in the item's own columns or in its kept article. Words no kept
        # article holds go in one MATCH: one list of rowids drives the query. The
        # unary + keeps SQLite off the (ns, status) index then: it would scan every
        # item in the state and probe the matches (twice the time at 100,000 items).
        plain = [w for w in query.words if w not in kept]
        lead = "+" if plain else ""
        where = [f"{lead}i.ns = ?", lead + _STATES[query.state]]
        args: list[Any] = [self.ns]
        if query.favorite is not None:
            where.append("i.favorite = ?")
            args.append(int(query.favorite))
        if query.tag == UNTAGGED:
            where.append(
                "NOT EXISTS (SELECT 1 FROM item_tags t WHERE t.ns = i.ns AND t.item_id = i.item_id)"
            )
        elif query.tag:
            where.append(
                "EXISTS (SELECT 1 FROM item_tags t WHERE t.ns = i.ns AND t.item_id = i.item_id "
                "AND t.tag = ?)"
            )
            args.append(query.tag)
        if plain:
            where.append(_MATCHES)
            args.append(fts_query(plain))
        for word in query.words:
            if word in kept:
                where.append(f"({_MATCHES} OR {_BODY_MATCHES})")
                args += [fts_query([word])] * 2
        return where, args

    def _kept(self, query: Query) -> frozenset[str]:
        """The search's words that some kept article holds (usually none: one probe each)."""
        probe = "SELECT 1 FROM articles_fts WHERE articles_fts MATCH ? LIMIT 1"
        return frozenset(
            w for w in query.words if self.conn.execute(probe, (fts_query([w]),)).fetchone()
        )

    def _ordering(
        self, query: Query, kept: frozenset[str]
    ) -> tuple[str, str, tuple[str, ...], list[Any]]:
        """Selected columns, ORDER BY, the key columns a cursor holds, the score's args."""
        cols = "i.rowid AS rid, i.time_added"
        if query.order == "oldest":
            return cols, "time_added ASC, rid ASC", ("time_added", "rid"), []
        if query.order == "title":
            cols += ", lower(i.title) AS sort_title"
            return cols, "sort_title ASC, rid ASC", ("sort_title", "rid"), []
        if query.order == "relevance":
            terms = []
            score_args: list[Any] = []
            for word in query.words:
                for column, weight in WEIGHTS.items():
                    terms.append(f"({_MATCHES}) * {weight}")
                    score_args.append(f"{{{column}}} : {fts_query([word])}")
                if word in kept:
                    terms.append(f"({_BODY_MATCHES}) * {BODY_WEIGHT}")
                    score_args.append(fts_query([word]))
            cols += f", ({' + '.join(terms)}) AS score"
            order = "score DESC, time_added DESC, rid DESC"
            return cols, order, ("score", "time_added", "rid"), score_args
        return cols, "time_added DESC, rid DESC", ("time_added", "rid"), []

    @staticmethod
    def _op(query: Query) -> str:
        """How the rows after the cursor's key compare to it, in the page's order."""
        return ">" if query.order in {"oldest", "title"} else "<"

    def _cursor(self, query: Query, row: sqlite3.Row, key_cols: tuple[str, ...], total: int) -> str:
        # The total rides along: later pages of a search need not count again.
        body = {"q": query.fingerprint(), "k": [row[c] for c in key_cols], "t": total}
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    # -- the reply ---------------------------------------------------------

    def _fit(self, rows: list[sqlite3.Row]) -> tuple[list[dict[str, Any]], bool]:
        """The rows as reply items, as many as the frame holds (at least one)."""
        tags = self._tags_of([str(r["item_id"]) for r in rows])
        kept = Articles(self.conn).summaries(r["url"] for r in rows)
        items: list[dict[str, Any]] = []
        used = 0
        for row in rows:
            item = _item(row, tags.get(str(row["item_id"]), []), kept.get(row["url"]))
            size = len(json.dumps(item, ensure_ascii=False).encode()) + 1
            if items and used + size > PAGE_BUDGET:
                return items, True
            items.append(item)
            used += size
        return items, False

    def _tags_of(self, item_ids: list[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        if not item_ids:
            return found
        marks = ",".join("?" * len(item_ids))
        rows = self.conn.execute(
            f"SELECT item_id, tag FROM item_tags WHERE ns = ? AND item_id IN ({marks}) "  # noqa: S608
            "ORDER BY tag",
            [self.ns, *item_ids],
        )
        for item_id, tag in rows:
            found.setdefault(item_id, []).append(tag)
        return found


def all_pages(listing: Listing, query: Query, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Every item the query finds (up to ``limit``), page after page."""
    left = limit
    query = replace(query, limit=200 if left is None else max(1, min(200, left)))
    while left is None or left > 0:
        page = listing.page(query)
        yield from page["items"][:left]
        if left is not None:
            left -= len(page["items"])
        if page["next_cursor"] is None:
            return
        query = replace(query, cursor=page["next_cursor"])


def decode_cursor(query: Query, length: int) -> tuple[list[Any], int | None]:
    """The sort key a cursor holds and the total it carries; refused if it belongs to
    another query."""
    assert query.cursor is not None
    try:
        padded = query.cursor + "=" * (-len(query.cursor) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        body = None
    ok = isinstance(body, dict) and isinstance(body.get("k"), list) and len(body["k"]) == length
    if not ok:
        raise InvalidRequest(
            "cursor is not one this host gave", [{"loc": "cursor", "msg": "unknown cursor"}]
        )
    assert isinstance(body, dict)
    if body.get("q") != query.fingerprint():
        msg = "cursor belongs to another filter, search or sort: start again without it"
        raise InvalidRequest(msg, [{"loc": "cursor", "msg": msg}])
    key: list[Any] = body["k"]
    total = body.get("t")
    return key, total if isinstance(total, int) and not isinstance(total, bool) else None


def _item(row: sqlite3.Row, tags: list[str], kept: dict[str, Any] | None) -> dict[str, Any]:
    """One list item; the kept copy of the page, when there is one, gives its word count."""
    word_count = kept["word_count"] if kept else row["word_count"]
    item: dict[str, Any] = {
        "item_id": str(row["item_id"]),
        "url": row["url"],
        "title": row["title"][:MAX_FIELD],
        "excerpt": (row["excerpt"] or (kept or {}).get("excerpt") or "")[:MAX_FIELD],
        "domain": domain_of(row["url"]),
        "tags": tags,
        "status": "archived" if row["status"] == 1 else "unread",
        "favorite": bool(row["favorite"]),
        "time_added": int(row["time_added"]),
        "time_updated": int(row["time_updated"]),
        "has_article": kept is not None or bool(word_count),
    }
    if word_count:
        item["word_count"] = int(word_count)
    return item
