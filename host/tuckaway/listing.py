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

A search in a state (no tag, no favorite filter, no title sort) reads
``items_search`` alone: its rowids are search keys (``db.SEARCH_ROWID_BITS``), so
the state's matches are one key range, its newest matches the range's last keys,
and its count never reads an item. Relevance scores the newest matches first and
widens the window until no older match can reach the page (``_ranked``). Other
searches filter items with SQL over the same index.
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

from tuckaway import db
from tuckaway.articles import Articles
from tuckaway.errors import InvalidRequest

#: Room for one reply's items: 1 MiB less the envelope (id, next_cursor, total).
PAGE_BUDGET = 1024 * 1024 - 8 * 1024
#: Longer titles and excerpts are cut in a reply (a synced item may carry anything).
MAX_FIELD = 20_000
UNTAGGED = "_untagged_"
#: What a word found in each FTS column adds to an item's relevance (``body``: the
#: words of the page's kept copy, issue 14).
WEIGHTS = {"title": 10, "tags": 6, "domain": 4, "url": 2, "excerpt": 1, "body": 1}
_WORD = re.compile(r"\w+", re.UNICODE)
#: An IN list SQLite builds once per query (not a test per item).
_MATCHES = (
    f"i.rowid IN (SELECT {db.search_rowid_sql('rowid')} FROM items_search "  # noqa: S608
    "WHERE items_search MATCH ?)"
)
_STATES = {"unread": "i.status = 0", "archive": "i.status = 1", "all": "i.status != 2"}
#: The statuses each state counts in ``item_counts`` (2 is a deleted item).
_COUNTED = {"unread": "0", "archive": "1", "all": "0, 1"}
#: The status bit of each state's key ranges in ``items_search``.
_STATUS_BITS = {"unread": (0,), "archive": (1,), "all": (0, 1)}
#: Below the slot and status bits of a search key: ``time_added << 27 | rowid``.
_LOW = (1 << db.SEARCH_STATUS_SHIFT) - 1
_ROWID = (1 << db.SEARCH_ROWID_BITS) - 1
#: A search by relevance scores its newest matches first, this many, then 4 times more.
RANK_FIRST = 500


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
        ranges = self._key_ranges(query)
        if ranges is not None:
            return self._search_page(query, ranges)
        where, args = self._filters(query)
        select, order, key_cols, score_args = self._ordering(query)
        key, total = decode_cursor(query, len(key_cols)) if query.cursor else (None, None)
        if not (query.words or query.tag):
            total = self._counted(query)  # one lookup: always the fresh figure
        elif total is None and not (query.words and key is None):
            total = self._count(query)
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
        return self._reply(query, keys, key_cols, total)

    def _reply(
        self, query: Query, keys: list[Any], key_cols: tuple[str, ...], total: int
    ) -> dict[str, Any]:
        """The page's items (read by rowid) and the cursor after the last one sent."""
        items, cut = self._fit(self._rows([int(k["rid"]) for k in keys[: query.limit]]))
        more = cut or len(keys) > query.limit
        last = keys[len(items) - 1] if items else None
        cursor = self._cursor(query, last, key_cols, total) if more and last is not None else None
        return {"items": items, "next_cursor": cursor, "total": total}

    # -- a search in one state, on the index alone ---------------------------

    def _key_ranges(self, query: Query) -> list[tuple[int, int]] | None:
        """The search's key ranges in ``items_search``, or None when it filters items."""
        if not query.words or query.tag or query.favorite is not None:
            return None
        if query.order == "title":
            return None
        row = self.conn.execute("SELECT id FROM search_ns WHERE ns = ?", (self.ns,)).fetchone()
        if row is None or int(row[0]) >= db.SEARCH_OVERFLOW_SLOT:
            return None
        top = self.conn.execute("SELECT max(rowid) FROM items").fetchone()[0]
        if top is not None and int(top) > _ROWID:
            return None  # some items are keyed by rowid alone (slot 7)
        slot = int(row[0]) << db.SEARCH_SLOT_SHIFT
        starts = [slot | b << db.SEARCH_STATUS_SHIFT for b in _STATUS_BITS[query.state]]
        return [(start, start | _LOW) for start in starts]

    def _search_page(self, query: Query, ranges: list[tuple[int, int]]) -> dict[str, Any]:
        match = fts_query(query.words)
        by_score = query.order == "relevance"
        key, total = None, None
        if query.cursor:
            key, total = decode_cursor(query, 3 if by_score else 2)
        if total is None:
            total = sum(self._fts_count(match, lo, hi) for lo, hi in ranges)
        want = query.limit + 1
        if by_score:
            after = None if key is None else (_int(key[0]), _low(key[1], key[2]))
            ranked = self._ranked(query.words, ranges, after, want)
            keys = [_key_row(k, score) for score, k in ranked]
            return self._reply(query, keys, ("score", "time_added", "rid"), total)
        newest = query.order == "newest"
        cut = None if key is None else _low(key[0], key[1])
        found = self._in_order(match, ranges, want, newest=newest, after=cut)
        return self._reply(query, [_key_row(k) for k in found], ("time_added", "rid"), total)

    def _fts_count(self, match: str, lo: int, hi: int) -> int:
        sql = (
            "SELECT count(*) FROM items_search WHERE items_search MATCH ? AND rowid BETWEEN ? AND ?"
        )
        return int(self.conn.execute(sql, (match, lo, hi)).fetchone()[0])

    def _in_order(
        self,
        match: str,
        ranges: list[tuple[int, int]],
        limit: int,
        *,
        newest: bool = True,
        after: int | None = None,
    ) -> list[int]:
        """The keys of the first ``limit`` matches, newest (or oldest) first, past the
        ``after`` key's low bits. (Each range gives its first ``limit``: the merged
        first ``limit`` hold every match from the last one's time on.)"""
        found: list[int] = []
        for lo, hi in ranges:
            if after is not None and newest:
                hi = min(hi, (lo | after) - 1)
            elif after is not None:
                lo = max(lo, (lo | after) + 1)
            sql = (
                "SELECT rowid FROM items_search WHERE items_search MATCH ? "  # noqa: S608
                f"AND rowid BETWEEN ? AND ? ORDER BY rowid {'DESC' if newest else 'ASC'} LIMIT ?"
            )
            found += [int(r[0]) for r in self.conn.execute(sql, (match, lo, hi, limit))]
        found.sort(key=lambda k: k & _LOW, reverse=newest)
        return found[:limit]

    def _ranked(
        self,
        words: list[str],
        ranges: list[tuple[int, int]],
        after: tuple[int, int] | None,
        limit: int,
    ) -> list[tuple[int, int]]:
        """The first ``limit`` (score, key) by relevance, then time, below ``after``.

        Scores the newest matches; while an older match could still score as high
        as the page's last item (``_best_older``), the window grows, up to every
        match. An older match scoring the same sorts after it: it is older."""
        match = fts_query(words)
        window = RANK_FIRST
        while True:
            keys = self._in_order(match, ranges, window)
            if not keys:
                return []
            complete = len(keys) < window
            since = keys[-1] & _LOW
            scores = self._scores(words, ranges, since)
            ranked = sorted(((scores.get(k, 0), k) for k in keys), key=_rank, reverse=True)
            if after is not None:
                ranked = [r for r in ranked if (r[0], r[1] & _LOW) < after]
            page = ranked[:limit]
            if complete:
                return page
            if len(page) == limit and page[-1][0] >= self._best_older(
                words, ranges, since, page[-1][0]
            ):
                return page
            window *= 4

    def _scores(
        self, words: list[str], ranges: list[tuple[int, int]], since: int
    ) -> dict[int, int]:
        """Each match's relevance (from ``since`` on): the weights of the columns
        holding each word, one FTS5 query per word and column (the columns after
        the title are first asked together: most words are in none of them)."""
        every = fts_query(words)
        title, *rest = WEIGHTS
        scores: dict[int, int] = {}
        for word in words:
            phrase = fts_query([word])
            columns = [title]
            if self._keys(_in(rest, phrase, every), ranges, since):
                columns += rest
            for column in columns:
                for key in self._keys(_in([column], phrase, every), ranges, since):
                    scores[key] = scores.get(key, 0) + WEIGHTS[column]
        return scores

    def _keys(self, match: str, ranges: list[tuple[int, int]], since: int) -> list[int]:
        """The keys of the matches in the ranges from ``since`` (low bits) on."""
        sql = "SELECT rowid FROM items_search WHERE items_search MATCH ? AND rowid BETWEEN ? AND ?"
        found: list[int] = []
        for lo, hi in ranges:
            found += [int(r[0]) for r in self.conn.execute(sql, (match, lo | since, hi))]
        return found

    def _best_older(
        self, words: list[str], ranges: list[tuple[int, int]], before: int, need: int
    ) -> int:
        """The most a match older than ``before`` could score (once past ``need``, a
        figure past it): each word's weight in every column where an older match
        holds it. Proving a column holds no word takes a pass over the older
        matches, so the columns after the title are first asked all at once."""
        every = fts_query(words)
        title, *rest = WEIGHTS
        phrases = [fts_query([w]) for w in words]
        best = sum(
            WEIGHTS[title] for p in phrases if self._older(_in([title], p, every), ranges, before)
        )
        if best > need or not self._older(_in(rest, " OR ".join(phrases), every), ranges, before):
            return best
        for phrase in phrases:
            if len(phrases) > 1 and not self._older(_in(rest, phrase, every), ranges, before):
                continue
            for column in rest:
                if self._older(_in([column], phrase, every), ranges, before):
                    best += WEIGHTS[column]
                    if best > need:
                        return best
        return best

    def _older(self, match: str, ranges: list[tuple[int, int]], before: int) -> bool:
        """Whether some match in the ranges is older than ``before`` (low bits)."""
        sql = (
            "SELECT 1 FROM items_search WHERE items_search MATCH ? "
            "AND rowid BETWEEN ? AND ? ORDER BY rowid DESC LIMIT 1"
        )
        for lo, _ in ranges:
            if self.conn.execute(sql, (match, lo, (lo | before) - 1)).fetchone():
                return True
        return False

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

    def _count(self, query: Query) -> int:
        """Items a tag or a search finds, counted (once: later pages carry it)."""
        where, args = self._filters(query)
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

    def _filters(self, query: Query) -> tuple[list[str], list[Any]]:
        # The words go in one MATCH: one list of rowids drives the query. The unary +
        # keeps SQLite off the (ns, status) index then: it would scan every item in the
        # state and probe the matches (twice the time at 100,000 items).
        lead = "+" if query.words else ""
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
        if query.words:
            where.append(_MATCHES)
            args.append(fts_query(query.words))
        return where, args

    def _ordering(self, query: Query) -> tuple[str, str, tuple[str, ...], list[Any]]:
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
        raise _unknown_cursor()
    assert isinstance(body, dict)
    if body.get("q") != query.fingerprint():
        msg = "cursor belongs to another filter, search or sort: start again without it"
        raise InvalidRequest(msg, [{"loc": "cursor", "msg": msg}])
    key: list[Any] = body["k"]
    total = body.get("t")
    return key, total if isinstance(total, int) and not isinstance(total, bool) else None


def _int(value: Any) -> int:
    """A number a cursor holds (refused if it is not one)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _unknown_cursor()


def _unknown_cursor() -> InvalidRequest:
    return InvalidRequest(
        "cursor is not one this host gave", [{"loc": "cursor", "msg": "unknown cursor"}]
    )


def _low(time_added: Any, rid: Any) -> int:
    """A (time_added, rowid) sort key as the low bits of a search key."""
    clamped = min(max(_int(time_added), 0), db.SEARCH_TIME_MAX)
    return clamped << db.SEARCH_ROWID_BITS | (_int(rid) & _ROWID)


def _in(columns: list[str], words: str, every: str) -> str:
    """An FTS5 query: ``words`` in one of ``columns``, in an item that holds ``every`` word."""
    return f"{{{' '.join(columns)}}} : ({words}) AND ({every})"


def _rank(entry: tuple[int, int]) -> tuple[int, int]:
    return entry[0], entry[1] & _LOW


def _key_row(key: int, score: int | None = None) -> dict[str, int | None]:
    """A search key as the row the page's reply and cursor read."""
    time_added = (key & _LOW) >> db.SEARCH_ROWID_BITS
    return {"rid": key & _ROWID, "time_added": time_added, "score": score}


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
