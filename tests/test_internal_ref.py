"""An internal error's reply carries a reference that names the log line with the traceback."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest

from tuckaway.context import Context
from tuckaway.errors import Internal, TuckawayError
from tuckaway.settings import Settings
from tuckaway.wire import dispatch
from tuckaway.wire.dispatch import Dispatcher


def _boom(_d: Dispatcher, _request: Any) -> dict[str, Any]:
    raise RuntimeError("a bug in a handler")


async def test_an_internal_error_has_a_ref_that_is_in_the_logged_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(dispatch.ANSWERS, "tags", _boom)
    ctx = Context(Settings.load({"TUCKAWAY_HOME": str(tmp_path / "home")}))
    frames: list[dict[str, Any]] = []
    with caplog.at_level(logging.ERROR):
        Dispatcher(ctx, frames.append).handle_many([{"id": "t", "op": "tags"}])
    [reply] = frames
    assert reply["id"] == "t" and reply["ok"] is False
    error = reply["error"]
    assert error["code"] == "internal"
    assert re.fullmatch(r"[0-9a-f]{8}", error["ref"])
    assert error["ref"] in error["message"]
    [record] = [r for r in caplog.records if error["ref"] in r.getMessage()]
    assert record.exc_info is not None and "a bug in a handler" in str(record.exc_info[1])


def test_the_ref_survives_the_outbox_round_trip() -> None:
    error = TuckawayError.from_wire({"code": "internal", "message": "m", "ref": "0a1b2c3d"})
    assert isinstance(error, Internal) and error.to_wire()["ref"] == "0a1b2c3d"
    assert "ref" not in Internal("no ref").to_wire()
