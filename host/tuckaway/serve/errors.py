"""Pocket's error answers: the one table of ``X-Error-Code`` values and :class:`ApiError`.

Every refusal is an HTTP status, a number in ``X-Error-Code``, a sentence in
``X-Error`` and the same sentence as a plain-text body, as Pocket's were.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum

from aiohttp import web


class Code(IntEnum):
    """``X-Error-Code`` values: Pocket's where Pocket had one. Never renumber."""

    INVALID_REQUEST = 100  # our own: a malformed body or parameter
    INVALID_TOKEN = 107
    INVALID_ACTION = 130
    MISSING_CONSUMER_KEY = 138
    MISSING_REDIRECT = 140
    INVALID_CONSUMER_KEY = 152
    CODE_REJECTED = 158
    CODE_USED = 159
    INVALID_REDIRECT = 181
    MISSING_CODE = 182
    CODE_NOT_FOUND = 185
    SERVER = 199
    USER_RATE_LIMITED = 5100
    KEY_RATE_LIMITED = 5101
    HOST_NOT_ALLOWED = 5300


class ApiError(Exception):
    """An answer with ``X-Error-Code``/``X-Error`` headers and a plain-text body."""

    def __init__(
        self, status: int, code: int, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def bad_request(message: str, code: int = Code.INVALID_REQUEST) -> ApiError:
    """A 400: the request is malformed; nothing was changed."""
    return ApiError(400, code, message)


def error_response(exc: ApiError) -> web.Response:
    headers = {"X-Error-Code": str(int(exc.code)), "X-Error": exc.message, **exc.headers}
    return web.Response(status=exc.status, text=exc.message, headers=headers)


__all__ = ["ApiError", "Code", "bad_request", "error_response"]
