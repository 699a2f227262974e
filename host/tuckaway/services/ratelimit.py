"""Rate-limit and retry headers, read the way services send them.

Pocket-compatible services and Mastodon say "wait" in several forms:
``Retry-After`` (seconds, or an HTTP date), ``X-RateLimit-Reset`` (seconds,
an epoch time, or an ISO 8601 time, Mastodon's form) and plain counters
(``X-Limit-User-Remaining``, ``X-RateLimit-Remaining``). Both clients read
them through here, so a form one service sends is understood from the other.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: a number above this is an epoch time (2001-09-09), not a number of seconds
_EPOCH_FLOOR = 1_000_000_000


def header_int(headers: Mapping[str, str], name: str) -> int | None:
    """A counter header (``X-RateLimit-Remaining: 299``), or None when absent or not a number."""
    raw = headers.get(name)
    try:
        return int(float(raw)) if raw is not None else None
    except ValueError:
        return None


def parse_time(value: str) -> datetime | None:
    """An ISO 8601 time or an HTTP date, in UTC when it names no zone; None if neither."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _now(now: datetime | None) -> float:
    return now.timestamp() if now is not None else time.time()


def retry_after_s(raw: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After``: seconds, or an HTTP date; seconds from ``now``, at least 0."""
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        moment = parse_time(raw)
    return None if moment is None else max(0.0, moment.timestamp() - _now(now))


def reset_in_s(raw: str | None, now: datetime | None = None) -> float | None:
    """``X-RateLimit-Reset``: seconds to wait, an epoch time, or a time (ISO 8601 or an
    HTTP date); seconds from ``now``, at least 0."""
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        moment = parse_time(raw)
        return None if moment is None else max(0.0, moment.timestamp() - _now(now))
    if value > _EPOCH_FLOOR:
        return max(0.0, value - _now(now))
    return max(0.0, value)


def wait_s(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """How long a service asked to wait: ``Retry-After``, else ``X-RateLimit-Reset``."""
    said = retry_after_s(headers.get("Retry-After"), now)
    return said if said is not None else reset_in_s(headers.get("X-RateLimit-Reset"), now)


class Holds:
    """Allowances a service said are used up: window -> epoch seconds before which
    nothing is sent (the next call could only be refused). Per process."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def hold(self, window: str, seconds: float) -> None:
        self._until[window] = time.time() + seconds

    def left(self, window: str) -> float | None:
        """Seconds until ``window`` may be called again; None when it may now."""
        until = self._until.get(window)
        if until is None:
            return None
        left = until - time.time()
        if left <= 0:
            del self._until[window]
            return None
        return left
