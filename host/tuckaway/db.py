"""The SQLite database: one file under the data dir, WAL, migrations from day one.

Several host processes (two browsers, two profiles) and ``tuckaway serve`` may
share the file; WAL plus a busy timeout lets them. ``synchronous=FULL`` makes a
committed write survive power loss, not just a crash: a write is answered
``queued`` only after its commit returns.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import time
import zlib
from pathlib import Path
from typing import Any

from tuckaway.settings import private_dir, private_file
from tuckaway.urls import url_key_or_none

#: How long a process waits for the others when several open the file at once.
BUSY_TIMEOUT_S = 10.0
#: SQLite's primary result code for "database or disk is full"
SQLITE_FULL = 13
#: tests only: a file holding a page count that caps the database (``PRAGMA
#: max_page_count``, read at each write transaction): a real SQLITE_FULL on demand
PAGE_LIMIT_FILE_ENV = "TUCKAWAY_TEST_DB_PAGE_LIMIT_FILE"
#: SQLite's default cap (pages), restored when the test's file says nothing
_NO_PAGE_LIMIT = 1073741823
_PAGE_LIMIT_FILE = os.environ.get(PAGE_LIMIT_FILE_ENV, "")


def _domain_sql(url: str) -> str:
    """SQL for the host part of ``url`` (what follows ``://`` up to the next ``/``)."""
    rest = f"substr({url}, instr({url}, '://') + 3)"
    return f"substr({rest}, 1, instr({rest} || '/', '/') - 1)"


def _tags_sql(ns: str, item_id: str) -> str:
    """SQL for an item's tags as one space-separated text."""
    select = f"SELECT group_concat(tag, ' ') FROM item_tags WHERE ns = {ns} AND item_id = {item_id}"  # noqa: S608
    return f"coalesce(({select}), '')"


def _ns_id_sql(ns: str) -> str:
    """SQL for a namespace's number in ``search_ns`` (the top bits of its search keys)."""
    return f"(SELECT id FROM search_ns WHERE ns = {ns})"  # noqa: S608


#: Search keys (``items_search`` rowids): namespace slot (3 bits), status (1), time_added
#: (32, seconds) and the item's rowid (27), so one namespace's unread or archived items
#: are one key range, newest last. Slot 7 holds the rest (a namespace numbered 7 or
#: more, a rowid of 2**27 or more): ``7 << 60 | rowid``, read through ``items``.
SEARCH_ROWID_BITS = 27
SEARCH_STATUS_SHIFT = 59
SEARCH_SLOT_SHIFT = 60
SEARCH_OVERFLOW_SLOT = 7
#: The latest time_added a key holds (later ones are kept as this; earlier than 0, as 0).
SEARCH_TIME_MAX = 0xFFFFFFFF


def _search_key_sql(ns: str, rowid: str, status: str, time_added: str) -> str:
    """SQL for an item's key in ``items_search`` (see ``SEARCH_ROWID_BITS``)."""
    slot = _ns_id_sql(ns)
    limit = 1 << SEARCH_ROWID_BITS
    return (
        f"CASE WHEN {slot} < {SEARCH_OVERFLOW_SLOT} AND {rowid} < {limit} "
        f"THEN ({slot} << {SEARCH_SLOT_SHIFT}) | (({status} & 1) << {SEARCH_STATUS_SHIFT}) "
        f"| (min(max({time_added}, 0), {SEARCH_TIME_MAX}) << {SEARCH_ROWID_BITS}) | {rowid} "
        f"ELSE ({SEARCH_OVERFLOW_SLOT} << {SEARCH_SLOT_SHIFT}) | {rowid} END"
    )


def search_rowid_sql(key: str) -> str:
    """SQL for the ``items`` rowid a search key stands for."""
    low = (1 << SEARCH_ROWID_BITS) - 1
    high = (1 << SEARCH_SLOT_SHIFT) - 1
    return (
        f"CASE WHEN {key} >> {SEARCH_SLOT_SHIFT} = {SEARCH_OVERFLOW_SLOT} "
        f"THEN {key} & {high} ELSE {key} & {low} END"
    )


def _search_row_sql(item: str) -> str:
    """``INSERT`` of an item's row (``new`` or ``old``) into ``items_search``, unless deleted."""
    key = _search_key_sql(f"{item}.ns", f"{item}.rowid", f"{item}.status", f"{item}.time_added")
    return (
        "INSERT INTO items_search (rowid, title, url, domain, tags, excerpt, body) "
        f"SELECT {key}, {item}.title, {item}.url, {_domain_sql(f'{item}.url')}, "
        f"{_tags_sql(f'{item}.ns', f'{item}.item_id')}, {item}.excerpt, "
        f"{_body_sql(f'{item}.url_key')} WHERE {item}.status != 2"
    )


def _tags_to_search_sql(item: str) -> str:
    """``UPDATE`` of the tags an ``item_tags`` row's item (``new`` or ``old``) has in search."""
    key = _search_key_sql("i.ns", "i.rowid", "i.status", "i.time_added")
    return (
        f"UPDATE items_search SET tags = {_tags_sql(f'{item}.ns', f'{item}.item_id')} "  # noqa: S608
        f"WHERE rowid = (SELECT {key} FROM items AS i "
        f"WHERE i.ns = {item}.ns AND i.item_id = {item}.item_id)"
    )


def search_words(text: str) -> str:
    """A kept article's words for the search index: each distinct whitespace-separated
    piece once, in order (FTS5 cuts words at whitespace and more, so it finds the
    same words in this as in the text, in a fraction of the space)."""
    return " ".join(dict.fromkeys(text.split()))


def _packed_search_words(packed: object) -> str:
    """``search_words`` of a zlib-packed text (the SQL function migration 10 uses)."""
    if not isinstance(packed, bytes):
        return ""
    try:
        return search_words(zlib.decompress(packed).decode("utf-8", "replace"))
    except zlib.error:
        return ""


def _body_sql(url_key: str) -> str:
    """SQL for the words of the article kept for ``url_key`` ('' when none)."""
    return f"coalesce((SELECT words FROM articles WHERE url_key = {url_key}), '')"  # noqa: S608


def _article_body_sql(url_key: str, words: str) -> str:
    """``UPDATE`` of the body words of every live item of ``url_key`` in search."""
    key = _search_key_sql("i.ns", "i.rowid", "i.status", "i.time_added")
    return (
        f"UPDATE items_search SET body = {words} WHERE rowid IN (SELECT {key} "  # noqa: S608
        "FROM items AS i WHERE i.ns IN (SELECT ns FROM search_ns) "
        f"AND i.url_key = {url_key} AND i.status != 2)"
    )


#: Tables the triggers on ``items`` fill: a copy of the rows (repair) leaves them out.
DERIVED_TABLES = frozenset({"item_counts", "search_ns"})

#: Each entry upgrades the schema by one version; never edit a shipped entry.
MIGRATIONS: tuple[str, ...] = (
    # 1: items and tags (per namespace), the outbox, accounts, key/value meta
    """
    CREATE TABLE items (
        rowid INTEGER PRIMARY KEY AUTOINCREMENT,
        ns TEXT NOT NULL,
        item_id TEXT,
        url TEXT NOT NULL,
        resolved_url TEXT,
        title TEXT NOT NULL DEFAULT '',
        status INTEGER NOT NULL DEFAULT 0,
        favorite INTEGER NOT NULL DEFAULT 0,
        time_added INTEGER NOT NULL,
        time_updated INTEGER NOT NULL,
        time_read INTEGER NOT NULL DEFAULT 0,
        time_favorited INTEGER NOT NULL DEFAULT 0,
        extra TEXT,
        UNIQUE (ns, item_id),
        UNIQUE (ns, url)
    );
    CREATE INDEX items_updated ON items (ns, time_updated);
    CREATE TABLE item_tags (
        ns TEXT NOT NULL,
        item_id TEXT NOT NULL,
        tag TEXT NOT NULL,
        PRIMARY KEY (ns, item_id, tag)
    ) WITHOUT ROWID;
    CREATE INDEX item_tags_tag ON item_tags (ns, tag);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        service TEXT NOT NULL,
        op TEXT NOT NULL,
        payload TEXT NOT NULL,
        dedupe_key TEXT NOT NULL,
        url TEXT,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at REAL NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until REAL NOT NULL DEFAULT 0,
        last_error TEXT,
        result TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX outbox_due ON outbox (state, service, next_at);
    CREATE INDEX outbox_url ON outbox (url) WHERE url IS NOT NULL;
    CREATE TABLE accounts (
        service TEXT PRIMARY KEY,
        username TEXT,
        instance TEXT,
        data TEXT NOT NULL DEFAULT '{}',
        linked_at REAL NOT NULL
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 2: outbox.crashes: deliveries of the row that crashed the host (a bug), apart
    # from attempts (which count the service's 5xx too)
    """
    ALTER TABLE outbox ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0;
    """,
    # 3: tuckaway serve's access tokens and OAuth request codes, as SHA-256 hashes
    # (IF NOT EXISTS: before this migration, serve created them itself)
    """
    CREATE TABLE IF NOT EXISTS serve_tokens (
        token_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        consumer_key TEXT,
        created_at REAL NOT NULL
    );
    CREATE TABLE IF NOT EXISTS serve_codes (
        code_hash TEXT PRIMARY KEY,
        consumer_key TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        state TEXT,
        status TEXT NOT NULL DEFAULT 'pending',
        created_at REAL NOT NULL
    );
    """,
    # 4: the list page (issue 13): excerpt and word count as services describe an item,
    # an index for keyset pages, and an FTS5 index of title, url, domain, tags and excerpt
    # that triggers keep in step with every writer (older hosts' writes included)
    f"""
    ALTER TABLE items ADD COLUMN excerpt TEXT NOT NULL DEFAULT '';
    ALTER TABLE items ADD COLUMN word_count INTEGER;
    CREATE INDEX items_added ON items (ns, status, time_added);
    CREATE VIRTUAL TABLE items_fts USING fts5(
        title, url, domain, tags, excerpt, tokenize = 'unicode61 remove_diacritics 2'
    );
    INSERT INTO items_fts (rowid, title, url, domain, tags, excerpt)
        SELECT rowid, title, url, {_domain_sql("url")}, {_tags_sql("ns", "item_id")}, excerpt
        FROM items;
    CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
        INSERT INTO items_fts (rowid, title, url, domain, tags, excerpt)
        VALUES (new.rowid, new.title, new.url, {_domain_sql("new.url")},
                {_tags_sql("new.ns", "new.item_id")}, new.excerpt);
    END;
    CREATE TRIGGER items_fts_update AFTER UPDATE OF item_id, url, title, excerpt ON items BEGIN
        DELETE FROM items_fts WHERE rowid = old.rowid;
        INSERT INTO items_fts (rowid, title, url, domain, tags, excerpt)
        VALUES (new.rowid, new.title, new.url, {_domain_sql("new.url")},
                {_tags_sql("new.ns", "new.item_id")}, new.excerpt);
    END;
    CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
        DELETE FROM items_fts WHERE rowid = old.rowid;
    END;
    CREATE TRIGGER item_tags_fts_insert AFTER INSERT ON item_tags BEGIN
        UPDATE items_fts SET tags = {_tags_sql("new.ns", "new.item_id")}
        WHERE rowid = (SELECT rowid FROM items WHERE ns = new.ns AND item_id = new.item_id);
    END;
    CREATE TRIGGER item_tags_fts_delete AFTER DELETE ON item_tags BEGIN
        UPDATE items_fts SET tags = {_tags_sql("old.ns", "old.item_id")}
        WHERE rowid = (SELECT rowid FROM items WHERE ns = old.ns AND item_id = old.item_id);
    END;
    """,  # noqa: S608 - built from the two helpers above, no outside text
    # 5: kept copies of saved pages (issue 14), one per url, html and text zlib-compressed
    # (never in the outbox); the text's words in a contentless FTS5 index beside items_fts
    """
    CREATE TABLE articles (
        rowid INTEGER PRIMARY KEY AUTOINCREMENT,
        url TEXT NOT NULL UNIQUE,
        html BLOB NOT NULL,
        text BLOB NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        byline TEXT,
        site_name TEXT,
        lang TEXT,
        excerpt TEXT NOT NULL DEFAULT '',
        lead_image TEXT,
        size INTEGER NOT NULL,
        word_count INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        captured_at INTEGER NOT NULL
    );
    CREATE VIRTUAL TABLE articles_fts USING fts5(
        body, content = '', tokenize = 'unicode61 remove_diacritics 2'
    );
    """,
    # 6: how many items each namespace holds per state and favorite, kept by triggers,
    # so the list page's `total` is one lookup instead of a count over every item
    """
    CREATE TABLE item_counts (
        ns TEXT NOT NULL,
        status INTEGER NOT NULL,
        favorite INTEGER NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (ns, status, favorite)
    ) WITHOUT ROWID;
    INSERT INTO item_counts (ns, status, favorite, n)
        SELECT ns, status, favorite, count(*) FROM items GROUP BY ns, status, favorite;
    CREATE TRIGGER item_counts_insert AFTER INSERT ON items BEGIN
        INSERT INTO item_counts (ns, status, favorite, n)
        VALUES (new.ns, new.status, new.favorite, 1)
        ON CONFLICT (ns, status, favorite) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER item_counts_delete AFTER DELETE ON items BEGIN
        UPDATE item_counts SET n = n - 1
        WHERE ns = old.ns AND status = old.status AND favorite = old.favorite;
    END;
    CREATE TRIGGER item_counts_update AFTER UPDATE OF ns, status, favorite ON items
    WHEN old.ns IS NOT new.ns OR old.status IS NOT new.status OR old.favorite IS NOT new.favorite
    BEGIN
        UPDATE item_counts SET n = n - 1
        WHERE ns = old.ns AND status = old.status AND favorite = old.favorite;
        INSERT INTO item_counts (ns, status, favorite, n)
        VALUES (new.ns, new.status, new.favorite, 1)
        ON CONFLICT (ns, status, favorite) DO UPDATE SET n = n + 1;
    END;
    """,
    # 7: one item per url in any spelling (issue 15): items.url stays the url as given,
    # for display; url_key is its normal form (tuckaway.urls.url_key, registered as the
    # SQL function tuckaway_url_key). Items that now share a key are merged into the one
    # updated last: the others' tags join it, it is a favorite if a live one was, and it
    # keeps the earliest time_added. The outbox's url (the order of writes) is re-keyed.
    """
    ALTER TABLE items ADD COLUMN url_key TEXT;
    UPDATE items SET url_key = tuckaway_url_key(url);
    CREATE TEMP TABLE url_merge AS
        SELECT g.rowid AS gone, g.ns AS ns, g.item_id AS gone_id, k.rowid AS kept,
               k.item_id AS kept_id
        FROM items AS g JOIN items AS k ON k.ns = g.ns AND k.url_key = g.url_key
        WHERE k.rowid = (SELECT j.rowid FROM items AS j WHERE j.ns = g.ns
                         AND j.url_key = g.url_key
                         ORDER BY j.time_updated DESC, j.rowid DESC LIMIT 1)
          AND g.rowid != k.rowid;
    INSERT OR IGNORE INTO item_tags (ns, item_id, tag)
        SELECT m.ns, m.kept_id, t.tag FROM url_merge AS m
        JOIN item_tags AS t ON t.ns = m.ns AND t.item_id = m.gone_id;
    UPDATE items SET
        favorite = max(favorite, coalesce((SELECT max(g.favorite) FROM url_merge AS m
            JOIN items AS g ON g.rowid = m.gone WHERE m.kept = items.rowid
            AND g.status != 2), 0)),
        time_added = min(time_added, coalesce((SELECT min(g.time_added) FROM url_merge AS m
            JOIN items AS g ON g.rowid = m.gone WHERE m.kept = items.rowid), time_added))
        WHERE rowid IN (SELECT kept FROM url_merge);
    DELETE FROM item_tags WHERE EXISTS (SELECT 1 FROM url_merge AS m
        WHERE m.ns = item_tags.ns AND m.gone_id = item_tags.item_id);
    DELETE FROM items WHERE rowid IN (SELECT gone FROM url_merge);
    DROP TABLE url_merge;
    CREATE UNIQUE INDEX items_url_key ON items (ns, url_key);
    UPDATE outbox SET url = tuckaway_url_key(url) WHERE url IS NOT NULL;
    """,
    # 8: kept pages are keyed like items, so a url in any spelling finds its copy (a copy
    # whose key another spelling's copy took keeps its old key: unreachable, still counted)
    """
    ALTER TABLE articles RENAME COLUMN url TO url_key;
    UPDATE OR IGNORE articles SET url_key = tuckaway_url_key(url_key);
    """,
    # 9: outbox.sent_at: when a write was last handed to its service, recorded before
    # the call; a row still pending with it set may have arrived (the host died before
    # the answer), so the service is asked before it is sent again (issue 15)
    """
    ALTER TABLE outbox ADD COLUMN sent_at REAL;
    """,
    # 10: search keyed by namespace, state and time (issue 13): items_fts's rowid was the
    # item's, so a search touched every match to filter and order it; items_search's
    # rowid is the search key above, so a state's newest matches are the index's last
    # ones and its count never reads an item. Prefix indexes serve words as typed. (The
    # copy into items_fts in 4 gave every item every tag: its subquery's names were
    # item_tags' own; this one names the item.) The kept articles' words join it as the
    # body column (articles.words), so a word in a copy is one more column; articles_fts
    # stays for older hosts, which still write it, and is no longer read. An item's row
    # is indexed again only when what it shows changes: a new local item's id (set after
    # its insert) has no tags yet, and re-indexing it made every save pay the index twice.
    f"""
    CREATE TABLE search_ns (id INTEGER PRIMARY KEY, ns TEXT NOT NULL UNIQUE);
    INSERT INTO search_ns (id, ns) VALUES (0, 'local');
    INSERT OR IGNORE INTO search_ns (ns) SELECT ns FROM items GROUP BY ns ORDER BY min(rowid);
    DROP TRIGGER items_fts_insert;
    DROP TRIGGER items_fts_update;
    DROP TRIGGER items_fts_delete;
    DROP TRIGGER item_tags_fts_insert;
    DROP TRIGGER item_tags_fts_delete;
    DROP TABLE items_fts;
    ALTER TABLE articles ADD COLUMN words TEXT NOT NULL DEFAULT '';
    UPDATE articles SET words = tuckaway_search_words(text);
    CREATE VIRTUAL TABLE items_search USING fts5(
        title, url, domain, tags, excerpt, body, tokenize = 'unicode61 remove_diacritics 2',
        prefix = '1 2 3 4 5 6', detail = column
    );
    INSERT INTO items_search (rowid, title, url, domain, tags, excerpt, body)
        SELECT {_search_key_sql("it.ns", "it.rowid", "it.status", "it.time_added")}, it.title,
               it.url, {_domain_sql("it.url")}, {_tags_sql("it.ns", "it.item_id")}, it.excerpt,
               {_body_sql("it.url_key")}
        FROM items AS it WHERE it.status != 2;
    CREATE TRIGGER items_search_insert AFTER INSERT ON items BEGIN
        INSERT OR IGNORE INTO search_ns (ns) VALUES (new.ns);
        {_search_row_sql("new")};
    END;
    CREATE TRIGGER items_search_update
    AFTER UPDATE OF ns, url, url_key, title, excerpt, status, time_added ON items
    WHEN old.ns IS NOT new.ns OR old.url IS NOT new.url OR old.url_key IS NOT new.url_key
        OR old.title IS NOT new.title OR old.excerpt IS NOT new.excerpt
        OR old.status IS NOT new.status OR old.time_added IS NOT new.time_added
    BEGIN
        INSERT OR IGNORE INTO search_ns (ns) VALUES (new.ns);
        DELETE FROM items_search
        WHERE rowid = {_search_key_sql("old.ns", "old.rowid", "old.status", "old.time_added")};
        {_search_row_sql("new")};
    END;
    CREATE TRIGGER items_search_item_id AFTER UPDATE OF item_id ON items
    WHEN old.item_id IS NOT new.item_id AND EXISTS (SELECT 1 FROM item_tags
        WHERE ns = new.ns AND item_id IN (old.item_id, new.item_id))
    BEGIN
        UPDATE items_search SET tags = {_tags_sql("new.ns", "new.item_id")}
        WHERE rowid = {_search_key_sql("new.ns", "new.rowid", "new.status", "new.time_added")};
    END;
    CREATE TRIGGER items_search_delete AFTER DELETE ON items BEGIN
        DELETE FROM items_search
        WHERE rowid = {_search_key_sql("old.ns", "old.rowid", "old.status", "old.time_added")};
    END;
    CREATE TRIGGER item_tags_search_insert AFTER INSERT ON item_tags BEGIN
        {_tags_to_search_sql("new")};
    END;
    CREATE TRIGGER item_tags_search_delete AFTER DELETE ON item_tags BEGIN
        {_tags_to_search_sql("old")};
    END;
    CREATE TRIGGER articles_search_insert AFTER INSERT ON articles BEGIN
        {_article_body_sql("new.url_key", "new.words")};
    END;
    CREATE TRIGGER articles_search_update AFTER UPDATE OF url_key, words ON articles BEGIN
        {_article_body_sql("old.url_key", "''")};
        {_article_body_sql("new.url_key", "new.words")};
    END;
    CREATE TRIGGER articles_search_delete AFTER DELETE ON articles BEGIN
        {_article_body_sql("old.url_key", "''")};
    END;
    """,  # noqa: S608 - built from the helpers above, no outside text
)


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk (or the database's size cap) is full."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return (code is not None and code & 0xFF == SQLITE_FULL) or "is full" in str(exc)
    return isinstance(exc, OSError) and exc.errno == errno.ENOSPC


def _apply_page_limit(conn: sqlite3.Connection, limit_file: str) -> None:
    try:
        text = Path(limit_file).read_text().strip()
    except OSError:
        text = ""
    # SQLite never sets the cap below the file's current size: "1" means "no growth"
    conn.execute(f"PRAGMA max_page_count={int(text) if text.isdigit() else _NO_PAGE_LIMIT}")


def failure_text(path: Path, exc: sqlite3.DatabaseError) -> str:
    """What to tell the user when the database at ``path`` fails with ``exc``."""
    if isinstance(exc, sqlite3.OperationalError):  # locked, disk full, unreadable file
        return f"cannot use the database {path}: {exc}"
    return (
        f"the database {path} is damaged ({exc}). Keep a copy of it; `tuckaway repair` "
        "keeps one and recovers what SQLite can; or, to start afresh, move it aside "
        "(your list and the writes still waiting are in it)"
    )


def failure_problem(path: Path, exc: sqlite3.DatabaseError) -> dict[str, Any]:
    """``hello``'s ``problems`` entry for a database that fails."""
    return {
        "kind": "database",
        "file": str(path),
        "line": None,
        "key": "",
        "message": str(exc),
        "allowed": "",
        "text": failure_text(path, exc),
    }


def connect(path: Path, *, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open (creating if needed) and migrate the database at ``path``."""
    private_dir(path.parent)
    private_file(path)  # SQLite gives its -wal and -shm files the database's mode
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    conn.row_factory = sqlite3.Row
    _use_wal(conn)
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn)
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch a new file to WAL (the mode is stored in the file, so only once).

    Switching needs the file to itself, and SQLite answers "database is locked"
    at once, without its busy handler, when another process opens the same new
    file at that moment (two browsers starting their hosts together on a fresh
    install). So the switch is retried until the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to the newest version; returns that version."""
    conn.create_function("tuckaway_url_key", 1, url_key_or_none, deterministic=True)
    conn.create_function("tuckaway_search_words", 1, _packed_search_words, deterministic=True)
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if current >= len(MIGRATIONS):
        return current
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = int(conn.execute("PRAGMA user_version").fetchone()[0])
        for version in range(current, len(MIGRATIONS)):
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={version + 1}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(MIGRATIONS)


def _statements(script: str) -> list[str]:
    """Split a migration into statements; a trigger's body keeps its own semicolons."""
    statements: list[str] = []
    pending = ""
    for part in script.split(";"):
        pending += part + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                statements.append(pending.strip())
            pending = ""
    if pending.strip(" \n;"):
        statements.append(pending.strip())
    return statements


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


class transaction:
    """``BEGIN IMMEDIATE`` .. ``COMMIT``; nested use joins the outer transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.outer = False

    def __enter__(self) -> None:
        self.outer = not self.conn.in_transaction
        if self.outer:
            if _PAGE_LIMIT_FILE:
                _apply_page_limit(self.conn, _PAGE_LIMIT_FILE)
            self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self.outer:
            return
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:  # a COMMIT that failed (disk full) leaves it open
                    self.conn.execute("ROLLBACK")
                raise
        elif self.conn.in_transaction:  # SQLite may have rolled back itself (SQLITE_FULL)
            self.conn.execute("ROLLBACK")
