"""Kept copies of saved pages (issue 14): the article as the browser showed it.

One row per url in ``articles`` (by its :func:`~tuckaway.urls.url_key`, as items
are), html and text zlib-compressed, written once (never into the outbox). The
text's distinct words are kept beside it, uncompressed (``articles.words``), and
triggers put them in the ``body`` column of ``list {search}``'s index
(``items_search``) for every item of that url: a copy kept, replaced or dropped
by any writer is found, or no longer found, at once.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tuckaway.db import search_words, transaction
from tuckaway.urls import url_key

#: reading speed for ``minutes`` (words a minute, a common adult average)
WORDS_PER_MINUTE = 230
#: fields kept beside the html and text, as the save's ``article`` names them
META_FIELDS = ("title", "byline", "site_name", "lang", "excerpt", "lead_image")
_LEVEL = 6


def count_words(text: str) -> int:
    return len(text.split())


def reading_minutes(words: int) -> int:
    return math.ceil(words / WORDS_PER_MINUTE) if words else 0


@dataclass(frozen=True)
class Stored:
    """One kept article, its html still compressed until :meth:`html` is asked."""

    rowid: int
    url_key: str
    meta: dict[str, str | None]
    word_count: int
    size: int
    stored_bytes: int
    captured_at: int
    packed_html: bytes

    def html(self) -> str:
        return zlib.decompress(self.packed_html).decode("utf-8")


class Articles:
    """The kept articles of one database connection. Each method joins the caller's
    transaction when one is open (a save's article commits with its write)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def put(self, url: str, article: Mapping[str, Any], now: float | None = None) -> int:
        """Keep ``article`` (``html``, ``text`` and the :data:`META_FIELDS`) for ``url``,
        replacing an older copy; returns the bytes stored."""
        text = str(article.get("text") or "")
        html = str(article["html"])
        packed_html = zlib.compress(html.encode("utf-8"), _LEVEL)
        packed_text = zlib.compress(text.encode("utf-8"), _LEVEL)
        size = len(packed_html) + len(packed_text)
        meta = [article.get(name) for name in META_FIELDS]
        captured = int(now if now is not None else time.time())
        counts = (len(html), count_words(text), size, captured)
        with transaction(self.conn):
            self.conn.execute(
                "INSERT INTO articles (url_key, html, text, title, byline, site_name, lang, "
                "excerpt, lead_image, size, word_count, bytes, captured_at, words) "
                "VALUES (?, ?, ?, coalesce(?, ''), ?, ?, ?, coalesce(?, ''), ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (url_key) DO UPDATE SET html = excluded.html, text = excluded.text, "
                "title = excluded.title, byline = excluded.byline, "
                "site_name = excluded.site_name, lang = excluded.lang, "
                "excerpt = excluded.excerpt, lead_image = excluded.lead_image, "
                "size = excluded.size, word_count = excluded.word_count, "
                "bytes = excluded.bytes, captured_at = excluded.captured_at, "
                "words = excluded.words",
                (url_key(url), packed_html, packed_text, *meta, *counts, search_words(text)),
            )
        return size

    def get(self, url: str) -> Stored | None:
        row = self.conn.execute(
            "SELECT rowid, url_key, html, title, byline, site_name, lang, excerpt, lead_image, "
            "size, word_count, bytes, captured_at FROM articles WHERE url_key = ?",
            (url_key(url),),
        ).fetchone()
        if row is None:
            return None
        return Stored(
            rowid=int(row["rowid"]),
            url_key=str(row["url_key"]),
            meta={name: row[name] for name in META_FIELDS},
            word_count=int(row["word_count"]),
            size=int(row["size"]),
            stored_bytes=int(row["bytes"]),
            captured_at=int(row["captured_at"]),
            packed_html=bytes(row["html"]),
        )

    def text(self, url: str) -> str | None:
        row = self.conn.execute(
            "SELECT text FROM articles WHERE url_key = ?", (url_key(url),)
        ).fetchone()
        return None if row is None else zlib.decompress(row[0]).decode("utf-8")

    def summaries(self, urls: Iterable[str]) -> dict[str, dict[str, Any]]:
        """``url -> {word_count, excerpt, lead_image, lang}`` of the copies kept for ``urls``."""
        by_key: dict[str, list[str]] = {}
        for url in urls:
            by_key.setdefault(url_key(url), []).append(url)
        keys = list(by_key)
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), 500):  # under SQLite's limit of bound values
            part = keys[start : start + 500]
            marks = ",".join("?" * len(part))
            rows = self.conn.execute(
                "SELECT url_key, word_count, excerpt, lead_image, lang "  # noqa: S608
                f"FROM articles WHERE url_key IN ({marks})",
                part,
            )
            for key, words, excerpt, image, lang in rows:
                summary = {"word_count": words, "excerpt": excerpt, "lead_image": image}
                for url in by_key[key]:
                    found[url] = {**summary, "lang": lang}
        return found

    def has(self, url: str) -> bool:
        """Whether a copy of ``url`` is kept: one key probe, as ``lookup`` asks on every tab."""
        row = self.conn.execute("SELECT 1 FROM articles WHERE url_key = ?", (url_key(url),))
        return row.fetchone() is not None

    def forget(self, url: str) -> int:
        """Drop the copy kept for ``url``; returns the bytes freed (0: there was none)."""
        key = url_key(url)
        with transaction(self.conn):
            row = self.conn.execute("SELECT bytes FROM articles WHERE url_key = ?", (key,))
            freed = row.fetchone()
            self.conn.execute("DELETE FROM articles WHERE url_key = ?", (key,))
        return 0 if freed is None else int(freed[0])

    def stats(self) -> dict[str, int]:
        """``{count, bytes}``: how many copies are kept and the bytes they take (compressed)."""
        count, used = self.conn.execute(
            "SELECT count(*), coalesce(sum(bytes), 0) FROM articles"
        ).fetchone()
        return {"count": int(count), "bytes": int(used)}

    def clear(self) -> dict[str, int]:
        """Drop every kept copy: ``{deleted, bytes}``."""
        with transaction(self.conn):
            before = self.stats()
            self.conn.execute("DELETE FROM articles")
        return {"deleted": before["count"], "bytes": before["bytes"]}


def dumps_size(value: Any) -> int:
    """Bytes of ``value`` as a reply writes it (compact JSON, UTF-8)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8", "replace"))


#: room kept for the reply's envelope (``id`` of up to 64 escaped characters, ``ok``)
ENVELOPE_ROOM = 1024


def reply(stored: Stored, item_id: str | None, url: str, offset: int, limit: int) -> dict[str, Any]:
    """The ``article`` op's result for the page kept for ``url``: metadata and the html
    from ``offset``, as much as keeps the whole reply within ``limit`` bytes (offsets
    count characters)."""
    html = _inflate(stored)
    if offset > len(html):
        raise ValueError(f"offset {offset} is past the end of the article ({len(html)})")
    result: dict[str, Any] = {
        "item_id": item_id,
        "url": url,
        **stored.meta,
        "word_count": stored.word_count,
        "minutes": reading_minutes(stored.word_count),
        "captured_at": stored.captured_at,
        "size": len(html),
        "offset": offset,
        "html": "",
        "next_offset": len(html),  # the widest it can be, for the measure
    }
    room = limit - ENVELOPE_ROOM - dumps_size(result)
    piece = _fitting(html, offset, room)
    end = offset + len(piece)
    result["html"] = piece
    result["next_offset"] = end if end < len(html) else None
    return result


def _fitting(html: str, offset: int, room: int) -> str:
    """A slice of ``html`` from ``offset`` whose JSON string takes at most ``room`` bytes.

    Non-ASCII takes 2-4 bytes and escapes up to 6 (``\\u0001``), so the slice is
    measured, and shortened in proportion until it fits.
    """
    n = min(len(html) - offset, room)
    while n > 0:
        piece = html[offset : offset + n]
        size = dumps_size(piece) - 2  # the quotes are counted in the measure already
        if size <= room:
            return piece
        n = min(n - 1, int(n * room / size * 0.995))
    return ""


_last: tuple[tuple[int, int, int, int], str] | None = None


def _inflate(stored: Stored) -> str:
    """The html, decompressed once for the run of chunk requests that read it."""
    global _last
    key = (stored.rowid, stored.captured_at, stored.stored_bytes, stored.size)
    if _last is None or _last[0] != key:
        _last = (key, stored.html())
    return _last[1]
