"""Recover a damaged database: keep a copy, copy out what SQLite can still read.

Pure Python: the damaged file is copied aside (with its -wal), a fresh database
is made at the current schema, and each table's rows are copied from the copy
one by one until the first unreadable page. What could not be read is reported,
table by table, so the user knows what was lost.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from tuckaway import db


@dataclass
class Report:
    copy: Path | None = None  #: where the damaged file was kept (None: it was fine)
    recovered: dict[str, int] = field(default_factory=dict)  #: table -> rows copied
    lost: dict[str, str] = field(default_factory=dict)  #: table -> why (some) rows are gone


def quick_check(path: Path) -> str | None:
    """None when ``PRAGMA quick_check`` finds the database at ``path`` sound, else why not."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=db.BUSY_TIMEOUT_S)
        try:
            rows = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if rows == ["ok"] else "; ".join(str(r) for r in rows[:5])


def repair(path: Path) -> Report:
    """Repair the database at ``path`` in place if ``quick_check`` finds it damaged."""
    report = Report()
    if quick_check(path) is None:
        return report
    stamp = time.strftime("%Y%m%d-%H%M%S")
    copy = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", "-wal"):
        if Path(f"{path}{suffix}").exists():
            shutil.copy2(f"{path}{suffix}", f"{copy}{suffix}")
    report.copy = copy
    fresh = path.with_name(f".{path.name}.repair-{os.getpid()}")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{fresh}{suffix}").unlink(missing_ok=True)
    new = db.connect(fresh)
    try:
        _copy_rows(copy, new, report)
        new.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        new.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
        Path(f"{fresh}{suffix}").unlink(missing_ok=True)
    os.replace(fresh, path)
    return report


def _copy_rows(source: Path, new: sqlite3.Connection, report: Report) -> None:
    rows = new.execute(
        "SELECT name, sql FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    # full-text indexes (and their shadow tables) and the counts are rebuilt by the
    # triggers on items: a stale copy would count rows that were lost
    virtual = [name for name, sql in rows if sql.upper().startswith("CREATE VIRTUAL")]
    tables = [
        n
        for n, _ in rows
        if n not in db.DERIVED_TABLES and not any(n == v or n.startswith(f"{v}_") for v in virtual)
    ]
    try:
        old = sqlite3.connect(source)
        old.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        report.lost["*"] = f"nothing could be read ({exc})"
        return
    try:
        for table in tables:
            _copy_table(old, new, table, report)
    finally:
        old.close()
    # a file older than the url_key column: its items get their key (a duplicate keeps none)
    new.execute("UPDATE OR IGNORE items SET url_key = tuckaway_url_key(url) WHERE url_key IS NULL")


def _copy_table(
    old: sqlite3.Connection, new: sqlite3.Connection, table: str, report: Report
) -> None:
    try:
        theirs = {r[1] for r in old.execute(f'PRAGMA table_info("{table}")')}
    except sqlite3.DatabaseError as exc:
        report.lost[table] = f"unreadable ({exc})"
        return
    if not theirs:
        report.lost[table] = "missing from the damaged file"
        return
    ours = [r[1] for r in new.execute(f'PRAGMA table_info("{table}")')]
    columns = [c for c in ours if c in theirs]
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    # names come from our own fresh schema, never from the damaged file's text
    select = f'SELECT {names} FROM "{table}"'  # noqa: S608
    insert = f'INSERT OR IGNORE INTO "{table}" ({names}) VALUES ({marks})'  # noqa: S608
    copied = 0
    new.execute("BEGIN")
    try:
        for row in old.execute(select):
            new.execute(insert, row)
            copied += 1
    except sqlite3.DatabaseError as exc:
        report.lost[table] = f"rows after the first {copied} could not be read ({exc})"
    new.execute("COMMIT")
    report.recovered[table] = copied
