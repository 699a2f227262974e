"""Rate-limit headers in every form the services send them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tuckaway.services.ratelimit import header_int, parse_time, reset_in_s, retry_after_s

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("12", 12.0),
        ("0", 0.0),
        ("-3", 0.0),
        ("Wed, 01 May 2024 12:00:30 GMT", 30.0),
        ("Wed, 01 May 2024 11:00:00 GMT", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date(raw: str | None, seconds: float | None) -> None:
    assert retry_after_s(raw, NOW) == seconds


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("33", 33.0),  # seconds to wait (Pocket-compatible services)
        (str(NOW.timestamp() + 90), 90.0),  # an epoch time
        ("2024-05-01T12:01:30.000Z", 90.0),  # Mastodon's ISO 8601 time
        ("2024-05-01T12:01:30", 90.0),  # no zone: UTC
        ("2024-05-01T14:01:30+02:00", 90.0),
        ("Wed, 01 May 2024 12:01:30 GMT", 90.0),
        ("2024-05-01T11:00:00Z", 0.0),  # already past
        (None, None),
        ("later", None),
    ],
)
def test_a_reset_is_seconds_an_epoch_or_a_time(raw: str | None, seconds: float | None) -> None:
    got = reset_in_s(raw, NOW)
    assert got == pytest.approx(seconds) if seconds is not None else got is None


def test_counters_are_numbers_or_none() -> None:
    headers = {"X-RateLimit-Remaining": "299", "X-Limit-User-Limit": "320.0", "Bad": "x"}
    assert header_int(headers, "X-RateLimit-Remaining") == 299
    assert header_int(headers, "X-Limit-User-Limit") == 320
    assert header_int(headers, "Bad") is None
    assert header_int(headers, "Missing") is None


def test_a_time_without_a_zone_is_utc() -> None:
    assert parse_time("2024-05-01T12:00:00") == NOW
    assert parse_time("not a time") is None


def test_the_wait_is_retry_after_first_then_the_reset() -> None:
    from tuckaway.services.ratelimit import wait_s

    both = {"Retry-After": "5", "X-RateLimit-Reset": "2024-05-01T12:01:30Z"}
    assert wait_s(both, NOW) == 5.0
    assert wait_s({"X-RateLimit-Reset": "2024-05-01T12:01:30Z"}, NOW) == 90.0
    assert wait_s({}, NOW) is None
