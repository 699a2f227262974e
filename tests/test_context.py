"""The per-process wiring: what every write path shares (browser and command line)."""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from support.hostproc import HostProcess, host_env, run_cli
from tuckaway.context import OWN_READS, READS, SERVICE_MODULES, Context
from tuckaway.services.base import Done, Outcome, Write
from tuckaway.settings import Settings
from tuckaway.wire.protocol import READ_SERVICE, WRITE_OPS


@pytest.fixture
def defaults_env(home: Path) -> dict[str, str]:
    return host_env(home, TUCKAWAY_DEFAULT_TAGS="inbox, later")


def _tags_of(env: dict[str, str], url: str) -> list[str]:
    done = run_cli(env, "list", "--json")
    assert done.returncode == 0, done.stderr
    return next(i["tags"] for i in json.loads(done.stdout) if i["url"] == url)


def test_a_save_from_the_browser_naming_no_tags_gets_the_default_tags(
    defaults_env: dict[str, str],
) -> None:
    with HostProcess(defaults_env) as host:
        assert host.request({"id": 1, "op": "save", "url": "https://a.example/"})["ok"]
        assert host.request({"id": 2, "op": "save", "url": "https://b.example/", "tags": ["mine"]})[
            "ok"
        ]
    assert sorted(_tags_of(defaults_env, "https://a.example/")) == ["inbox", "later"]
    assert _tags_of(defaults_env, "https://b.example/") == ["mine"]


def test_a_save_from_the_command_line_gets_the_same_default_tags(
    defaults_env: dict[str, str],
) -> None:
    assert run_cli(defaults_env, "save", "https://c.example/").returncode == 0
    assert run_cli(defaults_env, "save", "https://d.example/", "--tag", "mine").returncode == 0
    assert sorted(_tags_of(defaults_env, "https://c.example/")) == ["inbox", "later"]
    assert _tags_of(defaults_env, "https://d.example/") == ["mine"]


def test_new_settings_reach_what_was_made_with_the_old_ones(home: Path) -> None:
    ctx = Context.open(Settings.load({"TUCKAWAY_HOME": str(home)}))
    assert ctx.credentials.settings.pocket_consumer_key is None
    new = Settings.load({"TUCKAWAY_HOME": str(home), "TUCKAWAY_POCKET_CONSUMER_KEY": "k-2"})
    ctx.use_settings(new)
    assert ctx.settings is new
    assert ctx.credentials.settings.pocket_consumer_key == "k-2"


class Recorder:
    """A backend that delivers everything and remembers being closed."""

    service = "local"
    coalesce = False

    def __init__(self) -> None:
        self.closed = False

    async def deliver(self, writes: Sequence[Write]) -> list[Outcome]:
        return [Done({}) for _ in writes]

    async def aclose(self) -> None:
        self.closed = True


def test_backends_come_from_the_factories_it_is_given(home: Path) -> None:
    made: list[Context] = []
    recorder = Recorder()

    def factory(ctx: Context) -> Recorder:
        made.append(ctx)
        return recorder

    ctx = Context(Settings.load({"TUCKAWAY_HOME": str(home)}), backends={"local": factory})
    assert ctx.backend("local") is recorder
    assert ctx.backend("local") is recorder  # made once per Context
    assert made == [ctx]
    with pytest.raises(KeyError):
        ctx.backend("pocket")  # only what it was given
    asyncio.run(ctx.aclose())
    assert recorder.closed


def test_each_write_goes_to_its_service_and_each_read_to_a_function(home: Path) -> None:
    ctx = Context(Settings.load({"TUCKAWAY_HOME": str(home)}))
    assert {op: ctx.service_for(op) for op in WRITE_OPS} == {
        op: "mastodon" if op in {"bookmark", "unbookmark"} else "local" for op in WRITE_OPS
    }
    assert set(READS) == set(READ_SERVICE) | set(OWN_READS)
    for op, function in READS.items():
        module = importlib.import_module(SERVICE_MODULES[ctx.read_service(op)])
        assert callable(getattr(module, function)), op
