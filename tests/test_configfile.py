"""The options page edits host settings: ops ``settings`` and ``settings_set`` on the real host."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from support.hostproc import HostProcess, host_env, run_cli


def config_file(home: Path) -> Path:
    return home / "config" / "config.toml"


def ok(host: HostProcess, message: dict[str, Any]) -> dict[str, Any]:
    reply = host.request(message)
    assert reply["ok"] is True, reply
    result: dict[str, Any] = reply["result"]
    return result


def error(host: HostProcess, message: dict[str, Any]) -> dict[str, Any]:
    reply = host.request(message)
    assert reply["ok"] is False, reply
    body: dict[str, Any] = reply["error"]
    return body


def test_settings_shows_the_defaults_and_where_the_file_is(
    host: HostProcess, home: Path
) -> None:
    result = ok(host, {"id": 1, "op": "settings"})
    assert result["values"] == {
        "pocket_url": "https://getpocket.com",
        "pocket_consumer_key_set": False,
        "batch_quiet_ms": 300,
        "batch_max_delay_ms": 1500,
        "batch_max_actions": 100,
    }
    assert set(result["sources"].values()) == {"default"}
    assert result["config_file"] == str(config_file(home))


def test_settings_set_writes_config_toml_keeping_the_users_own_lines(
    env: dict[str, str], home: Path
) -> None:
    config_file(home).parent.mkdir(parents=True)
    config_file(home).write_text(
        "# my notes\nlog_level = \"DEBUG\"\nbatch_quiet_ms = 250 # quick\n", "utf-8"
    )
    with HostProcess(env) as host:
        result = ok(
            host,
            {
                "id": 1,
                "op": "settings_set",
                "pocket_url": "https://read.example.org/",
                "pocket_consumer_key": "1234-abcd",
                "batch_quiet_ms": 500,
                "batch_max_actions": 50,
            },
        )
        assert result["values"]["pocket_url"] == "https://read.example.org"
        assert result["values"]["pocket_consumer_key_set"] is True
        assert "1234-abcd" not in str(result)  # the key is write-only
        assert result["sources"]["batch_quiet_ms"] == "config"
        assert result["sources"]["batch_max_delay_ms"] == "default"
    text = config_file(home).read_text("utf-8")
    assert text.startswith('# my notes\nlog_level = "DEBUG"\nbatch_quiet_ms = 500\n')
    assert 'pocket_url = "https://read.example.org"' in text
    # A new process (or the CLI) reads what the options page wrote.
    status = run_cli(env, "status", "--json")
    assert status.returncode == 0, status.stderr
    with HostProcess(env) as host:
        values = ok(host, {"id": 2, "op": "settings"})["values"]
    assert (values["batch_quiet_ms"], values["batch_max_actions"]) == (500, 50)


def test_reset_removes_the_key_so_the_default_applies_again(
    host: HostProcess, home: Path
) -> None:
    ok(host, {"id": 1, "op": "settings_set", "batch_max_delay_ms": 900})
    result = ok(host, {"id": 2, "op": "settings_set", "reset": ["batch_max_delay_ms"]})
    assert result["values"]["batch_max_delay_ms"] == 1500
    assert result["sources"]["batch_max_delay_ms"] == "default"
    assert "batch_max_delay_ms" not in config_file(home).read_text("utf-8")


def test_a_plain_http_service_off_loopback_is_refused_and_nothing_is_written(
    host: HostProcess, home: Path
) -> None:
    body = error(
        host, {"id": 1, "op": "settings_set", "pocket_url": "http://read.example.org"}
    )
    assert body["code"] == "invalid_request"
    assert [f["loc"] for f in body["fields"]] == ["pocket_url"]
    assert "https" in body["message"]
    assert not config_file(home).exists()


def test_a_setting_pinned_by_the_environment_is_reported_not_overridden(home: Path) -> None:
    env = host_env(home, TUCKAWAY_BATCH_QUIET_MS="100")
    with HostProcess(env) as host:
        assert ok(host, {"id": 1, "op": "settings"})["sources"]["batch_quiet_ms"] == "environment"
        body = error(host, {"id": 2, "op": "settings_set", "batch_quiet_ms": 400})
    assert body["fields"] == [
        {"loc": "batch_quiet_ms", "msg": "set by TUCKAWAY_BATCH_QUIET_MS in the environment; "
         "change it there"}
    ]
    assert not config_file(home).exists()


@pytest.mark.parametrize(
    ("message", "loc"),
    [
        ({"id": 1, "op": "settings_set"}, "reset"),
        ({"id": 1, "op": "settings_set", "batch_max_actions": 0}, "batch_max_actions"),
        ({"id": 1, "op": "settings_set", "batch_quiet_ms": "300"}, "batch_quiet_ms"),
        ({"id": 1, "op": "settings_set", "log_level": "DEBUG"}, "log_level"),
        ({"id": 1, "op": "settings_set", "reset": ["log_level"]}, "reset.0"),
        ({"id": 1, "op": "settings_set", "pocket_url": "javascript:alert(1)"}, "pocket_url"),
    ],
)
def test_bad_settings_requests_name_the_field(
    host: HostProcess, message: dict[str, Any], loc: str
) -> None:
    body = error(host, message)
    assert body["code"] == "invalid_request"
    assert loc in [f["loc"] for f in body["fields"]]


def test_the_service_cannot_change_under_a_signed_in_pocket_account(
    env: dict[str, str], home: Path
) -> None:
    link = run_cli(
        env, "login", "pocket", "--access-token-stdin", "--consumer-key", "k-1",
        input="token-for-config-test\n",
    )
    assert link.returncode == 0, link.stderr
    with HostProcess(env) as host:
        body = error(
            host, {"id": 1, "op": "settings_set", "pocket_url": "https://other.example.org"}
        )
        assert body["fields"][0]["loc"] == "pocket_url"
        assert "sign out of Pocket first" in body["message"]
        # The batching settings stay editable.
        assert ok(host, {"id": 2, "op": "settings_set", "batch_quiet_ms": 200})


def test_new_batching_settings_apply_to_the_running_hosts_next_batch(tmp_path: Path) -> None:
    from support.faultproxy import PocketService
    from test_faults import Frames, pocket_env, saves

    with PocketService(tmp_path / "svc") as svc:
        env = pocket_env(tmp_path / "home", svc)
        with HostProcess(env) as host:
            frames = Frames(host)
            # A first save: the host's Pocket worker is running before the change.
            assert frames.request(saves("first", 1)[0])["ok"] is True
            changed = frames.request({"id": "s", "op": "settings_set", "batch_max_actions": 3})
            assert changed["ok"] is True, changed
            burst = saves("b", 6)
            for message in burst:
                host.send(message)
            settled = frames.settle([m["id"] for m in burst])
            assert all(s.ok for s in settled.values())
        sends = [(r.path, len(r.actions)) for r in svc.records() if r.path != "/v3/get"]
    assert sends == [("/v3/add", 1), ("/v3/send", 3), ("/v3/send", 3)]


def test_the_consumer_key_goes_to_the_keyring_never_to_config_toml(
    env: dict[str, str], home: Path
) -> None:
    config_file(home).parent.mkdir(parents=True)
    config_file(home).write_text('pocket_consumer_key = "by-hand-1"\nbatch_quiet_ms = 250\n')
    with HostProcess(env) as host:
        result = ok(host, {"id": 1, "op": "settings_set", "pocket_consumer_key": "9876-keyed"})
        assert result["values"]["pocket_consumer_key_set"] is True
        assert result["sources"]["pocket_consumer_key"] == "keyring"
    text = config_file(home).read_text("utf-8")
    assert "9876-keyed" not in text and "by-hand-1" not in text  # moved to the keyring
    assert "batch_quiet_ms = 250" in text
    with HostProcess(env) as host:  # a new process finds it there
        values = ok(host, {"id": 2, "op": "settings"})
        assert values["values"]["pocket_consumer_key_set"] is True
        assert values["sources"]["pocket_consumer_key"] == "keyring"
        ok(host, {"id": 3, "op": "settings_set", "reset": ["pocket_consumer_key"]})
        values = ok(host, {"id": 4, "op": "settings"})
        assert values["values"]["pocket_consumer_key_set"] is False
        assert values["sources"]["pocket_consumer_key"] == "default"
