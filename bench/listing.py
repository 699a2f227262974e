"""List-page rows: the ``list`` op's first page and a search over 100,000 local items.

Measured in-process on the host's own code (``tuckaway.listing``) against the
plainest SQLite query that returns the same page (the floor): the first 50
unread items by time for ``list``, the first 50 FTS5 matches for ``search``.
The items are written by SQL, so the FTS triggers index them as a save would.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench.client import HOST_DIR

if TYPE_CHECKING:
    from bench.run import Config, Row

WORDS = ("rust", "python", "garden", "music", "travel", "cooking", "news", "async")
SEARCHES = ("pyth asy", "garden", "note 51", "travel cook", "music")


def seed_items(conn: sqlite3.Connection, count: int, title: str | None = None) -> None:
    """``count`` unread items in ``local``: titles like "python async note 9", 97 sites."""
    words = ", ".join(f"({k}, '{w}')" for k, w in enumerate(WORDS))
    made = (
        "(SELECT word FROM w WHERE k = x % 8) || ' ' || (SELECT word FROM w WHERE k = x * 7 % 8)"
        " || ' note ' || x"
    )
    conn.execute("BEGIN")
    conn.execute(
        f"WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x < ? - 1), "
        f"w(k, word) AS (VALUES {words}) "
        "INSERT INTO items (ns, item_id, url, title, time_added, time_updated) "
        "SELECT 'local', x, 'https://site' || (x % 97) || '.example/' || x, "
        f"coalesce(?, {made}), 1700000000 + x, 1700000000 + x FROM n",
        (count, title),
    )
    conn.execute("COMMIT")


def _times(run: object, repeat: int) -> list[float]:
    assert callable(run)
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        out.append(time.perf_counter() - start)
    return out


def listing_rows(cfg: Config) -> list[Row]:
    import sys

    from bench.run import Row, ms, percentile

    sys.path.insert(0, str(HOST_DIR))
    from tuckaway import db
    from tuckaway.listing import Listing, Query

    count = 10_000 if cfg.quick else 100_000
    repeat = 20 if cfg.quick else 200
    path = Path(cfg.home("listing")) / "list.db"
    conn = db.connect(path, synchronous="OFF")
    seed_items(conn, count)
    listing = Listing(conn, "local")

    def floor_first() -> None:
        conn.execute(
            "SELECT * FROM items WHERE ns = 'local' AND status = 0 "
            "ORDER BY time_added DESC LIMIT 50"
        ).fetchall()

    searches = iter(SEARCHES * repeat)

    def floor_search() -> None:
        words = next(searches).split()
        match = " ".join(f'"{w}"*' for w in words)
        conn.execute(
            "SELECT * FROM items WHERE rowid IN "
            "(SELECT rowid & 134217727 FROM items_search WHERE items_search MATCH ? LIMIT 50)",
            (match,),
        ).fetchall()

    def host_search() -> None:
        listing.page(Query(search=next(searches)))

    first = _times(lambda: listing.page(Query()), repeat)
    first_floor = _times(floor_first, repeat)
    search = _times(host_search, repeat)
    search_floor = _times(floor_search, repeat)
    note = f"{count:,} local items, in-process; the floor is one plain SELECT"
    snote = f"{count:,} items; searches {', '.join(SEARCHES)}; relevance order and total"
    return [
        Row(
            "list_first_p50",
            "list: first page p50",
            "ms",
            ms(percentile(first, 50)),
            ms(percentile(first_floor, 50)),
            "plain SELECT",
            "< 10 ms",
            note,
        ),
        Row(
            "list_first_p99",
            "list: first page p99",
            "ms",
            ms(percentile(first, 99)),
            ms(percentile(first_floor, 99)),
            "plain SELECT",
            "",
            note,
        ),
        Row(
            "search_p50",
            "search p50",
            "ms",
            ms(percentile(search, 50)),
            ms(percentile(search_floor, 50)),
            "plain FTS5 MATCH",
            "< 20 ms",
            snote,
        ),
        Row(
            "search_p99",
            "search p99",
            "ms",
            ms(percentile(search, 99)),
            ms(percentile(search_floor, 99)),
            "plain FTS5 MATCH",
            "",
            snote,
        ),
    ]
