"""One exception hierarchy; every error carries its PROTOCOL.md code.

Handlers raise these; the dispatcher turns them into ``{"ok": false, "error":
{...}}`` replies. Messages are written for the person who sees them in the
popup, and never contain a token.
"""

from __future__ import annotations

from typing import Any


class TuckawayError(Exception):
    """Base of every error the host reports to a caller."""

    code: str = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_wire(self) -> dict[str, Any]:
        """The ``error`` object of a reply."""
        return {"code": self.code, "message": self.message}


class InvalidMessage(TuckawayError):
    """Not a JSON object, or no usable ``id``."""

    code = "invalid_message"


class MessageTooLarge(TuckawayError):
    """A frame over the 1 MiB request limit."""

    code = "message_too_large"


class InvalidRequest(TuckawayError):
    """A request that fails validation; ``fields`` says where and why."""

    code = "invalid_request"

    def __init__(self, message: str, fields: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or []

    def to_wire(self) -> dict[str, Any]:
        wire = super().to_wire()
        wire["fields"] = self.fields
        return wire


class NotLinked(TuckawayError):
    """No credentials are stored for the service the request needs."""

    code = "not_linked"


class AuthFailed(TuckawayError):
    """The service answered 401: the stored token no longer works."""

    code = "auth_failed"


class ActionFailed(TuckawayError):
    """The service rejected this one action; the message is the service's."""

    code = "action_failed"


class UnknownItem(TuckawayError):
    """An item op named a url the index does not know."""

    code = "unknown_item"


class NotFound(TuckawayError):
    """The thing asked for does not exist (a status, an item)."""

    code = "not_found"


class AuthTimeout(TuckawayError):
    """A sign-in was not completed in time."""

    code = "auth_timeout"


class Internal(TuckawayError):
    """A bug in the host; details are in the log file."""

    code = "internal"


class RateLimited(TuckawayError):
    """The service is rate limiting; ``retry_after`` is in seconds."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def to_wire(self) -> dict[str, Any]:
        wire = super().to_wire()
        wire["retry_after"] = max(0, round(self.retry_after))
        return wire


class Unavailable(TuckawayError):
    """The service cannot be reached or is failing (connection error, 5xx, timeout)."""

    code = "unavailable"


class ConfigError(TuckawayError):
    """Settings or the environment are unusable (bad URL, no keyring backend)."""

    code = "internal"
