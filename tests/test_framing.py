"""Frames: native byte order, partial reads, EOF, the 1 MiB limit."""

from __future__ import annotations

import io
import json
import os
import struct

import pytest

from tuckaway.wire.framing import (
    MAX_REQUEST,
    FrameReader,
    FrameTooLarge,
    FrameWriter,
    TruncatedFrame,
    encode,
)


class Trickle(io.RawIOBase):
    """A stream that hands out at most one byte per read, like a slow pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        return self._data.read(1 if n != 0 else 0)


def test_encode_uses_native_byte_order_length_prefix() -> None:
    data = encode({"id": 1, "op": "hello"})
    (length,) = struct.unpack("=I", data[:4])
    assert length == len(data) - 4
    assert json.loads(data[4:]) == {"id": 1, "op": "hello"}


def test_encode_keeps_non_ascii_as_utf8() -> None:
    data = encode({"title": "Grüße ✓"})
    assert "Grüße ✓".encode() in data


def test_reader_reassembles_frames_from_one_byte_reads() -> None:
    stream = Trickle(encode({"a": 1}) + encode({"b": 2}))
    reader = FrameReader(stream)  # type: ignore[arg-type]
    assert json.loads(reader.read() or b"") == {"a": 1}
    assert json.loads(reader.read() or b"") == {"b": 2}
    assert reader.read() is None


def test_clean_eof_between_frames_is_none() -> None:
    assert FrameReader(io.BytesIO(b"")).read() is None


def test_eof_inside_header_is_truncated() -> None:
    with pytest.raises(TruncatedFrame):
        FrameReader(io.BytesIO(b"\x05\x00")).read()


def test_eof_inside_body_is_truncated() -> None:
    with pytest.raises(TruncatedFrame):
        FrameReader(io.BytesIO(struct.pack("=I", 10) + b"{}")).read()


def test_oversized_frame_is_drained_and_the_next_frame_still_reads() -> None:
    big = struct.pack("=I", MAX_REQUEST + 1) + b"x" * (MAX_REQUEST + 1)
    reader = FrameReader(io.BytesIO(big + encode({"after": True})))
    with pytest.raises(FrameTooLarge) as info:
        reader.read()
    assert info.value.length == MAX_REQUEST + 1
    assert json.loads(reader.read() or b"") == {"after": True}


def test_frame_of_exactly_the_limit_is_accepted() -> None:
    body = b"x" * MAX_REQUEST
    assert FrameReader(io.BytesIO(struct.pack("=I", MAX_REQUEST) + body)).read() == body


def test_writer_writes_whole_frames_and_survives_a_closed_pipe() -> None:
    r, w = os.pipe()
    writer = FrameWriter(w)
    writer.write({"id": 1, "ok": True, "result": {}})
    os.close(w)
    data = os.read(r, 1000)
    assert data == encode({"id": 1, "ok": True, "result": {}})
    os.close(r)
    r2, w2 = os.pipe()
    os.close(r2)
    writer2 = FrameWriter(w2)
    writer2.write({"id": 2})  # EPIPE: marked closed, no exception
    assert writer2.closed
    os.close(w2)


def _read_frame(fd: int) -> dict[str, object]:
    with os.fdopen(fd, "rb") as stream:
        body = FrameReader(stream).read()  # type: ignore[arg-type]
    assert body is not None
    return json.loads(body)  # type: ignore[no-any-return]


def test_a_reply_over_the_browsers_limit_is_answered_with_an_error_of_its_own_id() -> None:
    r, w = os.pipe()
    writer = FrameWriter(w, max_size=1000)
    writer.write({"id": "big", "ok": True, "result": {"text": "x" * 2000}})
    os.close(w)
    reply = _read_frame(r)
    assert reply["id"] == "big" and reply["ok"] is False
    error = reply["error"]
    assert isinstance(error, dict) and error["code"] == "internal"
    assert "limit" in error["message"]


def test_a_reply_of_exactly_the_limit_is_sent_as_is() -> None:
    message = {"id": 1, "ok": True, "result": {"t": ""}}
    size = len(encode(message)) - 4
    r, w = os.pipe()
    FrameWriter(w, max_size=size).write(message)
    os.close(w)
    assert _read_frame(r) == message
