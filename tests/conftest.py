"""Shared fixtures: every test gets its own TUCKAWAY_HOME and test keyring file."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))

from support.hostproc import HostProcess, host_env
from support.mastodon_standin import MastodonStandIn


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    return host_env(home)


@pytest.fixture
def host(env: dict[str, str]) -> Iterator[HostProcess]:
    with HostProcess(env) as proc:
        yield proc


@pytest.fixture
def standin() -> Iterator[MastodonStandIn]:
    """A Mastodon 4.x stand-in on 127.0.0.1, in a thread."""
    m = MastodonStandIn()
    with m.running():
        yield m


@pytest.fixture
def mastodon_env(home: Path, standin: MastodonStandIn) -> dict[str, str]:
    """A host environment with the stand-in's user linked (token from stdin)."""
    env = host_env(home)
    standin.link(env)
    return env
