"""The per-process wiring: what every write path shares (browser and command line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.hostproc import HostProcess, host_env, run_cli


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
    from tuckaway.context import Context
    from tuckaway.settings import Settings

    ctx = Context.open(Settings.load({"TUCKAWAY_HOME": str(home)}))
    assert ctx.credentials.settings.pocket_consumer_key is None
    new = Settings.load({"TUCKAWAY_HOME": str(home), "TUCKAWAY_POCKET_CONSUMER_KEY": "k-2"})
    ctx.use_settings(new)
    assert ctx.settings is new
    assert ctx.credentials.settings.pocket_consumer_key == "k-2"
