"""The database file: opened by several processes at once, as on a fresh install."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

from tuckaway import db

ROUNDS = 30
PROCESSES = 3


def _open_each(paths: list[str], barrier: Any, results: Any) -> None:
    for path in paths:
        barrier.wait()
        try:
            conn = db.connect(Path(path))
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            conn.execute("SELECT count(*) FROM outbox").fetchone()
            conn.close()
            results.put(("ok", mode))
        except sqlite3.Error as exc:
            results.put(("error", str(exc)))


def test_processes_opening_a_new_database_at_once_all_get_it_in_wal(tmp_path: Path) -> None:
    # Two browsers (or a browser's background page and its options page) start
    # their hosts together on a fresh install: every one must open the file.
    paths = [str(tmp_path / f"round-{i}" / "tuckaway.db") for i in range(ROUNDS)]
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(PROCESSES)
    results = spawn.Queue()
    workers = [
        spawn.Process(target=_open_each, args=(paths, barrier, results)) for _ in range(PROCESSES)
    ]
    for w in workers:
        w.start()
    outcomes = [results.get(timeout=60) for _ in range(ROUNDS * PROCESSES)]
    for w in workers:
        w.join(timeout=30)
    assert outcomes == [("ok", "wal")] * (ROUNDS * PROCESSES)


def test_migrations_leave_the_newest_schema_version(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "t.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(db.MIGRATIONS)
    again = db.connect(tmp_path / "t.db")
    assert db.migrate(again) == len(db.MIGRATIONS)
