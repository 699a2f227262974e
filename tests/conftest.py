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


#: Test files whose tests race real time against real processes (a batch window of
#: 50 ms, a 3 s rate-limit reset, a browser's popup): on a busy machine a run can miss
#: a window without any bug. These get two more tries; everything else gets one.
_TIMED = ("test_faults.py", "test_soak.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("e2e") or item.path.name in _TIMED:
            item.add_marker(pytest.mark.flaky(reruns=2, reruns_delay=1))
