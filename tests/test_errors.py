"""errors.py: one code table, and every error read back from the wire as it was written."""

from __future__ import annotations

from typing import get_args

import pytest

from tuckaway import errors
from tuckaway.errors import CODES, ConfigError, Internal, RateLimited, TuckawayError
from tuckaway.wire.results import ErrorCode


def test_the_code_table_is_the_schemas_list_of_error_codes() -> None:
    assert sorted(CODES) == sorted(get_args(ErrorCode))
    every_class = {
        c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, TuckawayError)
    }
    assert set(CODES.values()) == every_class - {TuckawayError}


def test_a_config_error_has_its_own_code() -> None:
    assert ConfigError("no keyring").to_wire() == {"code": "config_error", "message": "no keyring"}


@pytest.mark.parametrize(
    "error",
    [
        errors.InvalidRequest("bad", [{"loc": "url", "msg": "not a url"}]),
        RateLimited("busy", 29.6),
        errors.AuthFailed("401"),
        errors.NotLinked("sign in"),
        ConfigError("no keyring"),
        Internal("bug"),
    ],
    ids=lambda e: e.code,
)
def test_from_wire_gives_back_the_error_to_wire_wrote(error: TuckawayError) -> None:
    back = TuckawayError.from_wire(error.to_wire())
    assert type(back) is type(error)
    assert back.to_wire() == error.to_wire()


def test_an_unknown_code_comes_back_as_internal_with_its_message() -> None:
    back = TuckawayError.from_wire({"code": "from_a_newer_host", "message": "what happened"})
    assert type(back) is Internal and back.message == "what happened"
