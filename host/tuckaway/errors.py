"""One exception hierarchy; every error carries its PROTOCOL.md code.

Handlers raise these; the dispatcher turns them into ``{"ok": false, "error":
{...}}`` replies. Messages are written for the person who sees them in the
popup, and never contain a token.
"""

from __future__ import annotations

from typing import Any, ClassVar


class TuckawayError(Exception):
    """Base of every error the host reports to a caller."""

    code: ClassVar[str] = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_wire(self) -> dict[str, Any]:
        """The ``error`` object of a reply."""
        return {"code": self.code, "message": self.message}

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> TuckawayError:
        """The error a :meth:`to_wire` object stands for (an outcome read back from the outbox).

        A code this host does not know (a newer host wrote it) comes back as
        :class:`Internal` with its message.
        """
        error_class = CODES.get(str(wire.get("code")), Internal)
        return error_class._from_fields(str(wire.get("message", "")), wire)

    @classmethod
    def _from_fields(cls, message: str, wire: dict[str, Any]) -> TuckawayError:
        """Build from a wire object's message and extra fields (override to read them)."""
        return cls(message)


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

    @classmethod
    def _from_fields(cls, message: str, wire: dict[str, Any]) -> TuckawayError:
        fields = wire.get("fields")
        return cls(message, list(fields) if isinstance(fields, list) else None)


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
    """A bug in the host; ``ref`` names the log line that holds the traceback."""

    code = "internal"

    def __init__(self, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.ref = ref

    def to_wire(self) -> dict[str, Any]:
        wire = super().to_wire()
        if self.ref:
            wire["ref"] = self.ref
        return wire

    @classmethod
    def _from_fields(cls, message: str, wire: dict[str, Any]) -> TuckawayError:
        ref = wire.get("ref")
        return cls(message, ref if isinstance(ref, str) else None)


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

    @classmethod
    def _from_fields(cls, message: str, wire: dict[str, Any]) -> TuckawayError:
        retry_after = wire.get("retry_after")
        return cls(message, float(retry_after) if isinstance(retry_after, int | float) else 0.0)


class Unavailable(TuckawayError):
    """The service cannot be reached or is failing (connection error, 5xx, timeout)."""

    code = "unavailable"


class ConfigError(TuckawayError):
    """Settings or the environment are unusable (bad URL, no keyring backend)."""

    code = "config_error"


#: code -> class: the one table of PROTOCOL.md's error codes (``wire.results.ErrorCode``
#: lists the same codes for the schema; a test keeps the two equal)
CODES: dict[str, type[TuckawayError]] = {
    error_class.code: error_class
    for error_class in (
        InvalidMessage,
        MessageTooLarge,
        InvalidRequest,
        NotLinked,
        AuthFailed,
        ActionFailed,
        UnknownItem,
        NotFound,
        AuthTimeout,
        Internal,
        RateLimited,
        Unavailable,
        ConfigError,
    )
}
