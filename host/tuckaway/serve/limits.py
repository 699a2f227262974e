"""The server's two guards before any handler: the ``Host`` check and the hourly limits.

The ``Host`` check keeps web pages out through DNS rebinding: a request must
name a loopback host unless the server was started with ``--allow-remote``.
The limiter is a fixed window per identity, as Pocket's ``X-Limit-*`` headers
describe it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tuckaway.settings import is_loopback_host

#: calls an hour; Pocket allowed 320 per user and 10,000 per key, we are generous
DEFAULT_USER_LIMIT = 10_000
DEFAULT_KEY_LIMIT = 100_000
RATE_WINDOW_S = 3600


def is_loopback(host: str) -> bool:
    """A listen address or ``Host`` name that is this machine (never ``127.evil.example``:
    a Host check that trusted names starting "127." would let DNS rebinding in)."""
    return is_loopback_host(host.strip())


def host_of(header: str) -> str:
    """The host part of a ``Host`` header (``[::1]:8080`` -> ``::1``)."""
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


@dataclass
class _Window:
    start: float
    count: int = 0


@dataclass
class RateLimiter:
    """A fixed window of ``period`` seconds per identity, as Pocket's headers describe it."""

    limit: int
    period: float = RATE_WINDOW_S
    clock: Callable[[], float] = time.time
    _windows: dict[str, _Window] = field(default_factory=dict)

    def _window(self, ident: str) -> _Window:
        now = self.clock()
        window = self._windows.get(ident)
        if window is None or now - window.start >= self.period:
            window = self._windows[ident] = _Window(now)
        return window

    def hit(self, ident: str) -> bool:
        """Count one call; False when the window is already exhausted (not counted)."""
        window = self._window(ident)
        if window.count >= self.limit:
            return False
        window.count += 1
        return True

    def headers(self, prefix: str, ident: str | None) -> dict[str, str]:
        if ident is None:
            remaining, reset = self.limit, int(self.period)
        else:
            window = self._window(ident)
            remaining = max(0, self.limit - window.count)
            reset = max(0, int(window.start + self.period - self.clock() + 0.999))
        return {
            f"X-Limit-{prefix}-Limit": str(self.limit),
            f"X-Limit-{prefix}-Remaining": str(remaining),
            f"X-Limit-{prefix}-Reset": str(reset),
        }


__all__ = [
    "DEFAULT_KEY_LIMIT",
    "DEFAULT_USER_LIMIT",
    "RATE_WINDOW_S",
    "RateLimiter",
    "host_of",
    "is_loopback",
]
