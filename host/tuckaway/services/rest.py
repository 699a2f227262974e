"""One JSON-over-HTTP call to a self-hosted service, and what its failure means.

wallabag and Readeck speak plain REST with a bearer token. Both clients send
their requests through :func:`call`, which turns every way a call can fail into
one typed :class:`ServiceError`, and :func:`outcome_of` turns that into what the
batcher does with the writes it carried (hold, retry, fail).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tuckaway.errors import (
    ActionFailed,
    AuthFailed,
    RateLimited,
    TuckawayError,
    Unavailable,
    UnknownItem,
)
from tuckaway.services.base import Failed, Hold, Outcome, Retry
from tuckaway.services.ratelimit import wait_s

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger(__name__)

#: seconds to wait after a 429 that names no time
DEFAULT_RETRY_AFTER_S = 60.0
_MAX_MESSAGE = 300


class ServiceError(TuckawayError):
    """An answer that is not a success; ``status`` 0 means there was no answer."""

    status: int = 0


class ServiceAuthFailed(ServiceError, AuthFailed):
    """401: the token is expired or revoked."""


class ServiceRateLimited(ServiceError, RateLimited):
    """429 (a proxy in front of the service, or the service itself)."""


class ServiceUnavailable(ServiceError, Unavailable):
    """5xx, a timeout, no connection, or an answer that is not JSON where JSON is due."""


class ServiceRefused(ServiceError, ActionFailed):
    """4xx other than 401/404/429: the service refused this request."""


class ServiceNotFound(ServiceError, UnknownItem):
    """404: the entry or bookmark is not there (deleted at the service)."""


@dataclass
class Answer:
    """A successful answer: status, headers and the parsed JSON body (None when empty)."""

    status: int
    headers: Mapping[str, str]
    body: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


async def call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    token: str | None = None,
    name: str,
    params: Any = None,
    json_body: Any = None,
    form: Mapping[str, str] | None = None,
) -> Answer:
    """Send one request; a 2xx comes back as an :class:`Answer`, anything else raises."""
    import aiohttp

    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        async with session.request(
            method,
            url,
            params=params,
            json=json_body,
            data=dict(form) if form is not None else None,
            headers=headers,
            allow_redirects=False,
        ) as resp:
            text = await resp.text(errors="replace")
            status, answer_headers = resp.status, dict(resp.headers)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise _error(ServiceUnavailable, 0, f"cannot reach {name}: {type(exc).__name__}") from None
    body: Any = None
    if text.strip():
        try:
            body = json.loads(text)
        except ValueError:
            body = None
    if 200 <= status < 300:
        if text.strip() and body is None and status != 204:
            raise _error(ServiceUnavailable, status, f"{name} answered something that is not JSON")
        return Answer(status, answer_headers, body)
    raise error_for(name, status, answer_headers, body, text)


def error_for(
    name: str, status: int, headers: Mapping[str, str], body: Any, text: str
) -> ServiceError:
    """The typed error of a non-2xx answer."""
    detail = _detail(body, text)
    if status == 401:
        return _error(ServiceAuthFailed, status, f"{name} refused the token ({detail})")
    if status == 429:
        wait = wait_s(headers)
        exc = ServiceRateLimited(
            f"{name} asks to slow down ({detail})",
            wait if wait is not None else DEFAULT_RETRY_AFTER_S,
        )
        exc.status = status
        return exc
    if status >= 500:
        return _error(ServiceUnavailable, status, f"{name} had a problem (HTTP {status}: {detail})")
    if status == 404:
        return _error(ServiceNotFound, status, f"{name} does not have it ({detail})")
    return _error(ServiceRefused, status, f"{name} refused it (HTTP {status}: {detail})")


def _error(cls: type[ServiceError], status: int, message: str) -> ServiceError:
    exc = cls(message)
    exc.status = status
    return exc


def _detail(body: Any, text: str) -> str:
    if isinstance(body, Mapping):
        for key in ("error_description", "message", "error", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:_MAX_MESSAGE]
            if isinstance(value, Mapping) and isinstance(value.get("message"), str):
                return str(value["message"])[:_MAX_MESSAGE]
    return text.strip()[:_MAX_MESSAGE] or "no details"


def outcome_of(exc: ServiceError) -> Outcome:
    """What a failed call means for every write it carried."""
    if isinstance(exc, ServiceAuthFailed):
        return Hold(exc)
    if isinstance(exc, ServiceRateLimited):
        return Retry("rate_limited", exc.message, exc.retry_after)
    if isinstance(exc, ServiceUnavailable):
        return Retry("unavailable", exc.message)
    return Failed(exc)
