"""Native-messaging frames: a 32-bit length in native byte order, then UTF-8 JSON.

Reading copes with partial reads (pipes deliver what they have), tells a clean
EOF from one in the middle of a frame, and drains a frame over the request
limit without buffering it so the host can answer ``message_too_large`` and
keep serving. Requests keep to 1 MiB, except a ``save`` carrying the page's
``article``, which may fill 16 MiB (:func:`within_limit`).
"""

from __future__ import annotations

import json
import logging
import os
import struct
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

MAX_REQUEST = 1 << 20  # 1 MiB: PROTOCOL.md 1
MAX_ARTICLE_FRAME = 16 << 20  # a save carrying the page's article (issue 14)
MAX_REPLY = 1 << 20  # the browsers' limit for host -> extension messages
_HEADER = struct.Struct("=I")
log = logging.getLogger(__name__)
_CHUNK = 1 << 16


class FrameError(Exception):
    """The byte stream cannot be read as frames."""


class TruncatedFrame(FrameError):
    """EOF arrived in the middle of a frame (header or body)."""


class FrameTooLarge(FrameError):
    """A frame over the limit; its body has been read and discarded."""

    def __init__(self, length: int, limit: int = MAX_REQUEST) -> None:
        super().__init__(f"message of {length} bytes is over the {limit}-byte limit")
        self.length = length


def within_limit(message: Any, length: int) -> bool:
    """Whether a decoded frame of ``length`` bytes may be that large: up to
    :data:`MAX_REQUEST`, or :data:`MAX_ARTICLE_FRAME` for a ``save`` with an ``article``."""
    if length <= MAX_REQUEST:
        return True
    return (
        length <= MAX_ARTICLE_FRAME
        and isinstance(message, dict)
        and message.get("op") == "save"
        and isinstance(message.get("article"), dict)
    )


def encode(message: Any) -> bytes:
    """One frame for ``message`` (compact JSON, non-ASCII kept as UTF-8).

    A lone surrogate (requests carrying one are refused, but a service's data
    may hold one) becomes ``?``: the reply still goes out as valid UTF-8.
    """
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError:
        body = text.encode("utf-8", "replace")
    return _HEADER.pack(len(body)) + body


def internal_reply(message: Any, why: str) -> dict[str, Any]:
    """An ``internal`` error answering ``message`` (its id kept when it can be written)."""
    rid = message.get("id") if isinstance(message, dict) else None
    if not isinstance(rid, str | int) or isinstance(rid, bool):
        rid = None
    return {"id": rid, "ok": False, "error": {"code": "internal", "message": why}}


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    parts: list[bytes] = []
    remaining = n
    while remaining:
        chunk = stream.read(min(remaining, _CHUNK) if n > _CHUNK else remaining)
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


class FrameReader:
    """Reads frames from a binary stream (``sys.stdin.buffer``, a pipe, a BytesIO)."""

    def __init__(
        self,
        stream: BinaryIO,
        max_size: int = MAX_REQUEST,
        reserve: Callable[[int], None] | None = None,
    ) -> None:
        self._stream = stream
        self._max = max_size
        self._reserve = reserve

    def read(self) -> bytes | None:
        """The next frame's body; ``None`` at a clean EOF.

        Raises :class:`FrameTooLarge` (stream still usable) or
        :class:`TruncatedFrame` (stream finished). ``reserve`` is called with a
        frame's length before its body is read (the caller's memory budget may
        wait there); a frame over the limit is drained and never reserved.
        """
        header = _read_exactly(self._stream, _HEADER.size)
        if not header:
            return None
        if len(header) < _HEADER.size:
            raise TruncatedFrame(f"EOF inside a frame header ({len(header)} of 4 bytes)")
        (length,) = _HEADER.unpack(header)
        if length > self._max:
            self._drain(length)
            raise FrameTooLarge(length, self._max)
        if self._reserve is not None:
            self._reserve(length)
        body = _read_exactly(self._stream, length)
        if len(body) < length:
            raise TruncatedFrame(f"EOF inside a frame body ({len(body)} of {length} bytes)")
        return body

    def _drain(self, length: int) -> None:
        remaining = length
        while remaining:
            chunk = self._stream.read(min(remaining, _CHUNK))
            if not chunk:
                raise TruncatedFrame(f"EOF inside an oversized frame of {length} bytes")
            remaining -= len(chunk)


def oversized_reply(message: Any, size: int) -> dict[str, Any]:
    """What is sent instead of a reply the browser would refuse (over :data:`MAX_REPLY`).

    Replies are kept small by design (lists are paged, texts capped); this is
    the last line of defence, so that the request still gets its one answer.
    """
    return internal_reply(
        message,
        f"the reply ({size} bytes) is over the browser's {MAX_REPLY}-byte "
        "limit for a message; details are in the host's log file",
    )


class FrameWriter:
    """Writes whole frames to a file descriptor, one at a time, in call order."""

    def __init__(self, fd: int, max_size: int = MAX_REPLY) -> None:
        self._fd = fd
        self._max = max_size
        self.closed = False

    def write(self, message: Any) -> None:
        if self.closed:
            return
        try:
            data = encode(message)
        except (TypeError, ValueError):
            # A bug, not the caller's fault; the request still gets its one answer.
            log.exception("a reply could not be written as JSON: sent an error instead")
            data = encode(
                internal_reply(
                    message, "the host hit an internal error; details are in its log file"
                )
            )
        if len(data) - _HEADER.size > self._max:
            log.error(
                "a reply of %d bytes is over the %d-byte limit: sent an error instead (%.200r)",
                len(data) - _HEADER.size,
                self._max,
                message,
            )
            data = encode(oversized_reply(message, len(data) - _HEADER.size))
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except (BrokenPipeError, OSError):
            # The browser closed the port; nothing more can be said to it.
            self.closed = True


def set_binary(fd: int) -> None:
    """No newline translation on Windows; a no-op elsewhere."""
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        msvcrt.setmode(fd, os.O_BINARY)
