"""The durable queue of writes.

A write is a row committed here before the caller hears ``queued``. Batchers
(one per host process, several processes may share the file) claim due rows
with a lease; a holder that dies simply lets its lease run out and another
process delivers the row. Delivery is therefore at least once: every op is
safe to repeat (adds are idempotent by url, toggles and tag ops converge).

States: ``pending`` (waiting or due), ``held`` (401 / not linked: until the
next login), ``done`` (delivered; ``result`` kept for a while), ``failed``
(the service rejected it; ``last_error`` says why).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tuckaway import db
from tuckaway.db import transaction
from tuckaway.urls import url_key

#: meta key prefix: ``not_before:<service>`` holds the end of the service's rate limit
_NOT_BEFORE = "not_before:"
#: the claim's rows: due, not leased, not behind an earlier row of its url that cannot
#: be claimed now
_CLAIMABLE = (
    "SELECT * FROM outbox AS o WHERE state = 'pending' AND service = ? "
    "AND next_at <= ? AND lease_until < ? AND NOT (o.url IS NOT NULL AND EXISTS ("
    "SELECT 1 FROM outbox AS e WHERE e.service = o.service AND e.url = o.url "
    "AND e.id < o.id AND (e.state = 'held' OR (e.state = 'pending' "
    "AND (e.next_at > ? OR e.lease_until >= ?))))) "
)
#: and none while the service's rate limit lasts (the meta key ``not_before:<service>``)
_OUTSIDE_LIMIT = "AND NOT EXISTS (SELECT 1 FROM meta WHERE key = ? AND CAST(value AS REAL) > ?) "
_CLAIM = {
    False: _CLAIMABLE + "ORDER BY id LIMIT ?",
    True: _CLAIMABLE + _OUTSIDE_LIMIT + "ORDER BY id LIMIT ?",
}
#: the earliest due time of a row not behind any earlier undelivered row of its url
_DUE = (
    "FROM outbox AS o "
    "WHERE state = 'pending' AND service = ? AND NOT (o.url IS NOT NULL AND EXISTS ("
    "SELECT 1 FROM outbox AS e WHERE e.service = o.service AND e.url = o.url "
    "AND e.id < o.id AND e.state IN ('pending', 'held')))"
)
_NEXT_DUE = {
    False: "SELECT MIN(MAX(next_at, lease_until)) " + _DUE,
    # never earlier than the end of the rate limit; NULL (nothing due) stays NULL
    True: "SELECT MAX(MIN(MAX(next_at, lease_until)), COALESCE((SELECT CAST(value AS REAL) "
    "FROM meta WHERE key = ?), 0)) " + _DUE,
}
DONE_KEEP_S = 7 * 24 * 3600


@dataclass(frozen=True)
class Entry:
    id: int
    service: str
    op: str
    payload: dict[str, Any]
    dedupe_key: str
    url: str | None
    state: str
    attempts: int
    next_at: float
    last_error: dict[str, Any] | None
    result: dict[str, Any] | None
    created_at: float
    #: deliveries that crashed the host (a bug), not counting the service's failures
    crashes: int = 0
    #: when it was last handed to the service (epoch seconds), if ever
    sent_at: float | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Entry:
        return cls(
            id=row["id"],
            service=row["service"],
            op=row["op"],
            payload=json.loads(row["payload"]),
            dedupe_key=row["dedupe_key"],
            url=row["url"],
            state=row["state"],
            attempts=row["attempts"],
            next_at=row["next_at"],
            last_error=json.loads(row["last_error"]) if row["last_error"] else None,
            result=json.loads(row["result"]) if row["result"] else None,
            created_at=row["created_at"],
            crashes=row["crashes"],
            sent_at=row["sent_at"],
        )

    @classmethod
    def new(cls, entry_id: int, service: str, op: str, payload: dict[str, Any]) -> Entry:
        """The row :meth:`Outbox.add_many` just wrote for this write, without reading it back."""
        return cls(
            id=entry_id,
            service=service,
            op=op,
            payload=payload,
            dedupe_key=dedupe_key(service, op, payload),
            url=_url_of(payload),
            state="pending",
            attempts=0,
            next_at=0.0,
            last_error=None,
            result=None,
            created_at=time.time(),
        )

    def next_attempt(self, not_before: float = 0.0) -> float | None:
        """When a pending write is tried next (epoch seconds), given its service's
        rate limit (``not_before``); None for one that is not pending."""
        return max(self.next_at, not_before) if self.state == "pending" else None

    def to_public(self, not_before: float = 0.0) -> dict[str, Any]:
        """What ``tuckaway queue --json`` shows."""
        return {
            "id": self.id,
            "service": self.service,
            "op": self.op,
            "payload": self.payload,
            "state": self.state,
            "attempts": self.attempts,
            "next_attempt": self.next_attempt(not_before),
            "last_error": self.last_error,
            "created_at": self.created_at,
        }


def dedupe_key(service: str, op: str, payload: dict[str, Any]) -> str:
    canonical = json.dumps([service, op, payload], sort_keys=True, separators=(",", ":"))
    # This module answers the first `hello` (pending_count); hashlib is not needed for it.
    import hashlib

    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def _url_of(payload: dict[str, Any]) -> str | None:
    """The url a write's order is kept by, in its one form (``https://A.org`` is ``a.org/``)."""
    url = payload.get("url") or payload.get("status_url")
    return url_key(str(url)) if url else None


class Outbox:
    """Rows of table ``outbox`` (see db.py); every method is one short transaction."""

    def __init__(self, conn: sqlite3.Connection, owner: str) -> None:
        self.conn = conn
        self.owner = owner

    # -- adding ----------------------------------------------------------

    def add_many(
        self,
        writes: Sequence[tuple[str, str, dict[str, Any]]],
        *,
        leased: Collection[str] = (),
        lease_s: float = 0.0,
    ) -> list[int]:
        """Record ``(service, op, payload)`` writes in one commit; their ids in order.

        The rows of the services in ``leased`` start leased to this process for
        ``lease_s`` (it delivers them in the same transaction).
        """
        now = time.time()
        ids: list[int] = []
        with transaction(self.conn):
            for service, op, payload in writes:
                owner, until = (self.owner, now + lease_s) if service in leased else (None, 0.0)
                cur = self.conn.execute(
                    "INSERT INTO outbox (service, op, payload, dedupe_key, url, state, next_at, "
                    "lease_owner, lease_until, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)",
                    (
                        service,
                        op,
                        json.dumps(payload, separators=(",", ":")),
                        dedupe_key(service, op, payload),
                        _url_of(payload),
                        owner,
                        until,
                        now,
                        now,
                    ),
                )
                assert cur.lastrowid is not None
                ids.append(cur.lastrowid)
        return ids

    def undelivered_before(self, service: str, entry_id: int) -> bool:
        """Whether a write of ``service`` older than ``entry_id`` is still waiting (or held)."""
        row = self.conn.execute(
            "SELECT 1 FROM outbox WHERE state IN ('pending', 'held') AND service = ? AND id < ? "
            "LIMIT 1",
            (service, entry_id),
        ).fetchone()
        return row is not None

    # -- claiming --------------------------------------------------------

    def claim(
        self, service: str, limit: int, lease_s: float, *, rate_limited: bool = True
    ) -> list[Entry]:
        """Lease up to ``limit`` due rows of ``service`` in id order.

        Nothing while the service's rate limit lasts (:meth:`not_before`), checked
        in the same query; ``rate_limited=False`` skips that for a service that
        is never rate limited (the local list).

        Writes to one url keep their order: a row is not claimed while an
        earlier row for the same url is undelivered outside this claim (waiting
        out a backoff, held, or leased by another process). So an item op waits
        for the save that gives it its item_id, and a retried ``favorite`` is
        never overtaken by the ``unfavorite`` clicked after it. Blocked rows are
        left out before ``limit`` applies, so they never crowd out a due row.
        """
        now = time.time()
        params: tuple[Any, ...] = (service, now, now, now, now)
        if rate_limited:
            params += (_NOT_BEFORE + service, now)
        with transaction(self.conn):
            rows = self.conn.execute(_CLAIM[rate_limited], (*params, limit)).fetchall()
            if rows:
                self.conn.executemany(
                    "UPDATE outbox SET lease_owner = ?, lease_until = ?, updated_at = ? "
                    "WHERE id = ?",
                    [(self.owner, now + lease_s, now, r["id"]) for r in rows],
                )
        return [Entry.from_row(r) for r in rows]

    def next_due(self, service: str, *, rate_limited: bool = True) -> float | None:
        """When the earliest claimable row of ``service`` comes due (epoch seconds).

        A row behind an earlier undelivered row of the same url is not counted:
        it moves when that row does, whose own due time is counted (a held row
        waits for a login and counts nothing). So ``None`` means nothing will
        come due by itself, and a time in the past means ``claim`` gets a row.
        Never earlier than the end of the service's rate limit, unless
        ``rate_limited=False`` (as for :meth:`claim`).
        """
        params = (_NOT_BEFORE + service, service) if rate_limited else (service,)
        row = self.conn.execute(_NEXT_DUE[rate_limited], params).fetchone()
        return None if row[0] is None else float(row[0])

    # -- the service's rate limit ----------------------------------------

    def not_before(self, service: str) -> float:
        """Until when ``service`` asked not to be sent anything (epoch seconds; 0: no limit)."""
        raw = db.get_meta(self.conn, _NOT_BEFORE + service)
        try:
            return float(raw) if raw else 0.0
        except ValueError:
            return 0.0

    def set_not_before(self, service: str, until: float) -> None:
        """The service said "not before ``until``" (a rate limit's reset), for every process.

        A later reset than the one already stored wins; an earlier one does not
        shorten it.
        """
        with transaction(self.conn):
            if until > self.not_before(service):
                db.set_meta(self.conn, _NOT_BEFORE + service, repr(until))

    # -- outcomes --------------------------------------------------------
    #
    # Each applies only to rows this process still holds the lease of: a process
    # whose lease ran out (and whose row another process took over) must not
    # overwrite the other's outcome.

    def complete(self, ids: Iterable[int], result: dict[str, Any]) -> None:
        self._finish(ids, "done", result=result)

    def fail(self, ids: Iterable[int], error: dict[str, Any]) -> None:
        self._finish(ids, "failed", error=error)

    def hold(self, ids: Iterable[int], error: dict[str, Any]) -> None:
        self._finish(ids, "held", error=error)

    def _finish(
        self,
        ids: Iterable[int],
        state: str,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        now = time.time()
        with transaction(self.conn):
            self.conn.executemany(
                "UPDATE outbox SET state = ?, result = ?, last_error = COALESCE(?, last_error), "
                "lease_owner = NULL, lease_until = 0, attempts = attempts + 1, updated_at = ?, "
                "sent_at = NULL "
                "WHERE id = ? AND lease_owner = ?",
                [
                    (
                        state,
                        None if result is None else json.dumps(result),
                        None if error is None else json.dumps(error),
                        now,
                        i,
                        self.owner,
                    )
                    for i in ids
                ],
            )

    def retry(self, ids: Iterable[int], delay_s: float, error: dict[str, Any]) -> None:
        """Back to pending, due in ``delay_s`` seconds, one more attempt counted.

        The attempt's outcome is known (a failure), so the row is no longer marked sent.
        """
        now = time.time()
        with transaction(self.conn):
            self.conn.executemany(
                "UPDATE outbox SET state = 'pending', next_at = ?, last_error = ?, "
                "lease_owner = NULL, lease_until = 0, attempts = attempts + 1, updated_at = ?, "
                "sent_at = NULL "
                "WHERE id = ? AND lease_owner = ?",
                [(now + delay_s, json.dumps(error), now, i, self.owner) for i in ids],
            )

    def mark_sent(self, ids: Iterable[int]) -> None:
        """These rows are about to be handed to the service (committed before the call)."""
        now = time.time()
        with transaction(self.conn):
            self.conn.executemany(
                "UPDATE outbox SET sent_at = ? WHERE id = ? AND lease_owner = ?",
                [(now, i, self.owner) for i in ids],
            )

    def count_crash(self, ids: Iterable[int]) -> None:
        """Delivering these rows crashed the host: one more for :attr:`Entry.crashes`."""
        with transaction(self.conn):
            self.conn.executemany(
                "UPDATE outbox SET crashes = crashes + 1 WHERE id = ? AND lease_owner = ?",
                [(i, self.owner) for i in ids],
            )

    def release(self, ids: Iterable[int], *, unsent: bool = False) -> None:
        """Give the lease back without counting an attempt (a deferred write).

        ``unsent``: the service never got them (deferred), so they are not marked
        sent; otherwise (a delivery cut short) they may have arrived and stay marked.
        """
        with transaction(self.conn):
            self.conn.executemany(
                "UPDATE outbox SET lease_owner = NULL, lease_until = 0, next_at = 0, "
                "sent_at = CASE WHEN ? THEN NULL ELSE sent_at END "
                "WHERE id = ? AND state = 'pending' AND lease_owner = ?",
                [(unsent, i, self.owner) for i in ids],
            )

    def renew(self, ids: Iterable[int], lease_s: float) -> int:
        """Extend this process's lease on rows still being delivered; how many it still holds."""
        until = time.time() + lease_s
        with transaction(self.conn):
            cur = self.conn.executemany(
                "UPDATE outbox SET lease_until = ? "
                "WHERE id = ? AND state = 'pending' AND lease_owner = ?",
                [(until, i, self.owner) for i in ids],
            )
        return cur.rowcount

    def behind_held(self, service: str) -> list[tuple[int, dict[str, Any]]]:
        """Waiting writes stuck behind a held write of their url, each with that one's error.

        They cannot be sent before it (writes to a url keep their order), so their
        callers hear its reason now instead of never; the rows stay pending and go
        after it once a login releases it. ``(id, error)`` for each.
        """
        if not self.conn.execute(
            "SELECT 1 FROM outbox WHERE state = 'held' AND service = ? LIMIT 1", (service,)
        ).fetchone():
            return []
        rows = self.conn.execute(
            "SELECT o.id, (SELECT e.last_error FROM outbox AS e WHERE e.service = o.service "
            "AND e.url = o.url AND e.id < o.id AND e.state = 'held' ORDER BY e.id DESC LIMIT 1) "
            "FROM outbox AS o WHERE o.state = 'pending' AND o.service = ? AND o.url IS NOT NULL "
            "AND EXISTS (SELECT 1 FROM outbox AS e WHERE e.service = o.service "
            "AND e.url = o.url AND e.id < o.id AND e.state = 'held') ORDER BY o.id",
            (service,),
        ).fetchall()
        return [(int(r[0]), json.loads(r[1] or "{}")) for r in rows]

    def release_held(self, service: str) -> list[int]:
        """After a login: held writes of ``service`` are due again; their ids, in order."""
        with transaction(self.conn):
            ids = [
                int(r[0])
                for r in self.conn.execute(
                    "SELECT id FROM outbox WHERE state = 'held' AND service = ? ORDER BY id",
                    (service,),
                )
            ]
            self.conn.executemany(
                "UPDATE outbox SET state = 'pending', next_at = 0, updated_at = ? WHERE id = ?",
                [(time.time(), i) for i in ids],
            )
        return ids

    # -- looking ---------------------------------------------------------

    def get(self, ids: Sequence[int]) -> dict[int, Entry]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(f"SELECT * FROM outbox WHERE id IN ({marks})", list(ids))  # noqa: S608
        return {r["id"]: Entry.from_row(r) for r in rows}

    def pending_count(self) -> int:
        row = self.conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'held')"
        ).fetchone()
        return int(row[0])

    def pending_for_url(self, url: str) -> int:
        row = self.conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE url = ? AND state IN ('pending', 'held')",
            (url_key(url),),
        ).fetchone()
        return int(row[0])

    def entries(self, states: Sequence[str] = ("pending", "held", "failed")) -> list[Entry]:
        marks = ",".join("?" * len(states))
        rows = self.conn.execute(
            f"SELECT * FROM outbox WHERE state IN ({marks}) ORDER BY id",  # noqa: S608
            list(states),
        )
        return [Entry.from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state")
        return {str(r[0]): int(r[1]) for r in rows}

    # -- managing --------------------------------------------------------

    def retry_now(self, ids: Sequence[int] | None = None) -> int:
        """``tuckaway queue retry``: failed and waiting rows become due at once."""
        now = time.time()
        with transaction(self.conn):
            if ids:
                marks = ",".join("?" * len(ids))
                cur = self.conn.execute(
                    f"UPDATE outbox SET state = 'pending', next_at = 0, updated_at = ? "  # noqa: S608
                    f"WHERE id IN ({marks}) AND state IN ('pending', 'held', 'failed')",
                    [now, *ids],
                )
            else:
                cur = self.conn.execute(
                    "UPDATE outbox SET state = 'pending', next_at = 0, updated_at = ? "
                    "WHERE state IN ('pending', 'held', 'failed')",
                    (now,),
                )
        return cur.rowcount

    def drop(self, entry_id: int) -> bool:
        """``tuckaway queue drop ID``: forget a write that has not been delivered."""
        with transaction(self.conn):
            cur = self.conn.execute(
                "DELETE FROM outbox WHERE id = ? AND state != 'done'", (entry_id,)
            )
        return cur.rowcount > 0

    def purge(self, keep_s: float = DONE_KEEP_S) -> int:
        """Forget delivered rows older than ``keep_s``."""
        with transaction(self.conn):
            cur = self.conn.execute(
                "DELETE FROM outbox WHERE state = 'done' AND updated_at < ?",
                (time.time() - keep_s,),
            )
        return cur.rowcount
