"""Credentials: secrets in the keyring only, metadata in SQLite, a clear error without a keyring."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import testkeyring
from keyring.backends import chainer

from support.hostproc import HOST_DIR, SUPPORT_DIR, HostProcess, host_env
from tuckaway import db
from tuckaway.accounts.credentials import (
    Credentials,
    KeyringUnavailable,
    MastodonApp,
    MastodonCredentials,
    PocketCredentials,
    accounts_summary,
    is_linked,
)
from tuckaway.logs import redact
from tuckaway.settings import Settings

POCKET = PocketCredentials("http://127.0.0.1:9", "ck-consumer-1234", "tok-pocket-5678", "ann")
MASTODON = MastodonCredentials(
    "https://social.example", "tok-masto-8765", "ann@social.example", "cid-1", "csecret-1"
)


@pytest.fixture
def keyring_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "keyring.json"
    with testkeyring.in_process(path):
        yield path


@pytest.fixture
def conn(home: Path) -> Iterator[sqlite3.Connection]:
    c = db.connect(home / "data" / "tuckaway.db")
    yield c
    c.close()


@pytest.fixture
def creds(home: Path, conn: sqlite3.Connection, keyring_file: Path) -> Credentials:
    return Credentials(Settings.load({"TUCKAWAY_HOME": str(home)}), conn)


def _database_text(conn: sqlite3.Connection) -> str:
    return "\n".join(conn.iterdump())


def test_nothing_is_linked_on_a_fresh_install(creds: Credentials, conn: sqlite3.Connection) -> None:
    assert creds.pocket() is None
    assert creds.mastodon() is None
    assert not is_linked(conn, "pocket")
    assert accounts_summary(conn) == {
        "pocket": {"linked": False, "username": None},
        "mastodon": {"linked": False, "instance": None, "acct": None},
        "wallabag": {"linked": False, "username": None, "instance": None},
        "readeck": {"linked": False, "username": None, "instance": None},
    }


def test_saved_pocket_credentials_read_back(creds: Credentials, conn: sqlite3.Connection) -> None:
    creds.save_pocket(POCKET)
    assert creds.pocket() == POCKET
    assert is_linked(conn, "pocket")
    assert accounts_summary(conn)["pocket"] == {"linked": True, "username": "ann"}


def test_saved_mastodon_credentials_read_back(creds: Credentials, conn: sqlite3.Connection) -> None:
    creds.save_mastodon(MASTODON)
    assert creds.mastodon() == MASTODON
    assert accounts_summary(conn)["mastodon"] == {
        "linked": True,
        "instance": "https://social.example",
        "acct": "ann@social.example",
    }


def test_secrets_go_to_the_keyring_and_never_to_the_database(
    creds: Credentials, conn: sqlite3.Connection, keyring_file: Path, home: Path
) -> None:
    creds.save_pocket(POCKET)
    creds.save_mastodon(MASTODON)
    creds.save_mastodon_app(MastodonApp("https://other.example", "cid-9", "app-secret-9"))
    dump = _database_text(conn)
    for secret in ("tok-pocket-5678", "ck-consumer-1234", "tok-masto-8765", "csecret-1",
                   "app-secret-9"):
        assert secret not in dump
        assert secret in keyring_file.read_text()
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"tok-pocket-5678" not in data and b"tok-masto-8765" not in data
    entries = testkeyring.contents()["tuckaway"]
    assert set(entries) == {"pocket", "mastodon", "mastodon-app:https://other.example"}


def test_one_keyring_entry_per_service_under_the_tuckaway_service_name(
    creds: Credentials,
) -> None:
    creds.save_pocket(POCKET)
    blob = json.loads(testkeyring.contents()["tuckaway"]["pocket"])
    assert blob == {"access_token": "tok-pocket-5678", "consumer_key": "ck-consumer-1234"}


def test_forget_unlinks_and_removes_the_secret(creds: Credentials, conn: sqlite3.Connection) -> None:
    creds.save_pocket(POCKET)
    creds.save_mastodon(MASTODON)
    creds.forget("pocket")
    assert creds.pocket() is None
    assert not is_linked(conn, "pocket")
    assert "pocket" not in testkeyring.contents()["tuckaway"]
    assert creds.mastodon() == MASTODON
    creds.forget("mastodon")
    assert testkeyring.contents() == {}


def test_forgetting_an_account_that_is_not_linked_is_fine(creds: Credentials) -> None:
    creds.forget("mastodon")
    assert creds.mastodon() is None


def test_a_new_login_replaces_the_old_token(creds: Credentials) -> None:
    creds.save_pocket(POCKET)
    assert creds.pocket() == POCKET  # cached now
    newer = PocketCredentials(POCKET.base_url, POCKET.consumer_key, "tok-newer-0000", "ann")
    creds.save_pocket(newer)
    assert creds.pocket() == newer


def test_another_process_logging_out_is_seen(
    creds: Credentials, home: Path, conn: sqlite3.Connection
) -> None:
    creds.save_pocket(POCKET)
    assert creds.pocket() == POCKET
    other = db.connect(home / "data" / "tuckaway.db")
    Credentials(creds.settings, other).forget("pocket")
    other.close()
    assert creds.pocket() is None


def test_linked_account_whose_token_vanished_from_the_keyring_reads_as_no_credentials(
    creds: Credentials, keyring_file: Path
) -> None:
    creds.save_pocket(POCKET)
    keyring_file.write_text("{}")
    fresh = Credentials(creds.settings, creds.conn)
    assert fresh.pocket() is None


def test_mastodon_app_is_cached_per_instance(creds: Credentials, conn: sqlite3.Connection) -> None:
    app = MastodonApp("https://a.example", "cid-a", "secret-a")
    creds.save_mastodon_app(app)
    assert creds.mastodon_app("https://a.example/") == app
    assert creds.mastodon_app("https://b.example") is None
    assert db.get_meta(conn, "mastodon_app:https://a.example") == "cid-a"
    creds.forget_mastodon_app("https://a.example")
    assert creds.mastodon_app("https://a.example") is None


def test_secrets_read_or_written_are_redacted_from_logs(creds: Credentials) -> None:
    odd = PocketCredentials("http://127.0.0.1:9", "plainkey", "lowercaseonlytoken", "ann")
    creds.save_pocket(odd)
    assert "lowercaseonlytoken" not in redact("oops lowercaseonlytoken leaked")
    assert "plainkey" not in redact("key plainkey")


def test_repr_of_credentials_shows_no_secret() -> None:
    assert "tok-pocket-5678" not in repr(POCKET)
    assert "ck-consumer" not in repr(POCKET)
    assert "tok-masto" not in repr(MASTODON) and "csecret" not in repr(MASTODON)


@pytest.mark.parametrize(
    "backend", ["keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"]
)
def test_no_usable_keyring_is_a_clear_error_and_nothing_is_stored(
    home: Path, conn: sqlite3.Connection, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring
    import keyring.core

    previous = keyring.get_keyring()
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", backend)
    keyring.core.init_backend()
    try:
        creds = Credentials(Settings.load({"TUCKAWAY_HOME": str(home)}), conn)
        with pytest.raises(KeyringUnavailable) as caught:
            creds.save_pocket(POCKET)
    finally:
        keyring.set_keyring(previous)
    message = caught.value.message
    assert "gnome-keyring" in message and "PYTHON_KEYRING_BACKEND" in message
    assert "plain file" in message
    assert not is_linked(conn, "pocket")
    assert "tok-pocket" not in _database_text(conn)


# -- file keyrings: never picked for the user ---------------------------------------------


#: (backend, method) of every call a fake backend got
ASKED: list[tuple[str, str]] = []


def _fake_backend(module: str, name: str) -> object:
    """An object whose class looks like ``module.name``; it records what it is asked."""

    def method(which: str) -> Any:
        def call(self: object, *args: str) -> None:
            ASKED.append((name, which))

        return call

    methods = {"__module__": module, **{m: method(m) for m in
               ("get_password", "set_password", "delete_password")}}
    return type(name, (), methods)()


class _Chain(chainer.ChainerBackend):
    """A ChainerBackend over the given members (not viable: keyring never builds one)."""

    viable = False

    def __init__(self, members: list[object]) -> None:
        self.members = members

    @property
    def backends(self) -> list[object]:
        return self.members


SECRET_SERVICE = ("keyring.backends.SecretService", "Keyring")
PLAINTEXT = ("keyrings.alt.file", "PlaintextKeyring")
ENCRYPTED = ("keyrings.alt.file", "EncryptedKeyring")


def _saving_with(
    monkeypatch: pytest.MonkeyPatch, home: Path, conn: sqlite3.Connection, backend: object
) -> KeyringUnavailable:
    import keyring

    monkeypatch.setattr(keyring, "get_keyring", lambda: backend)
    ASKED.clear()
    creds = Credentials(Settings.load({"TUCKAWAY_HOME": str(home)}), conn)
    with pytest.raises(KeyringUnavailable) as caught:
        creds.save_pocket(POCKET)
    assert not is_linked(conn, "pocket")
    assert ASKED == [], "refused before any backend was asked anything"
    return caught.value


@pytest.mark.parametrize("named", [False, True], ids=["found", "named"])
@pytest.mark.parametrize("member", [PLAINTEXT, ENCRYPTED], ids=["plaintext", "encrypted"])
def test_a_keyring_chain_is_used_without_the_file_keyring_in_it(
    home: Path, conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch,
    member: tuple[str, str], named: bool,
) -> None:
    # keyrings.alt installed beside a Secret Service: the token goes to the Secret Service
    # only, and the file keyring is never asked anything (it could prompt on stdin).
    import keyring

    if named:
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.chainer.ChainerBackend")
    else:
        monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    chain = _Chain([_fake_backend(*member), _fake_backend(*SECRET_SERVICE)])
    monkeypatch.setattr(keyring, "get_keyring", lambda: chain)
    ASKED.clear()
    creds = Credentials(Settings.load({"TUCKAWAY_HOME": str(home)}), conn)
    creds.save_pocket(POCKET)
    assert is_linked(conn, "pocket")
    assert ASKED and {name for name, _ in ASKED} == {SECRET_SERVICE[1]}


@pytest.mark.parametrize("member", [PLAINTEXT, ENCRYPTED], ids=["plaintext", "encrypted"])
def test_a_keyring_chain_of_file_keyrings_only_is_refused(
    home: Path, conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch,
    member: tuple[str, str],
) -> None:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    chain = _Chain([_fake_backend(*member)])
    error = _saving_with(monkeypatch, home, conn, chain)
    assert f"{member[0]}.{member[1]}" in error.message
    assert "gnome-keyring" in error.message and "PYTHON_KEYRING_BACKEND" in error.message


def test_a_keyring_chain_of_real_keyrings_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring

    from tuckaway.accounts.credentials import keyring_backend

    chain = _Chain([_fake_backend(*SECRET_SERVICE), _fake_backend("keyring.backends.kwallet",
                                                                   "DBusKeyring")])
    monkeypatch.setattr(keyring, "get_keyring", lambda: chain)
    assert keyring_backend() is chain


@pytest.mark.parametrize("backend", [PLAINTEXT, ENCRYPTED], ids=["plaintext", "encrypted"])
def test_a_file_keyring_picked_on_its_own_is_refused(
    home: Path, conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch,
    backend: tuple[str, str],
) -> None:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    error = _saving_with(monkeypatch, home, conn, _fake_backend(*backend))
    assert f"{backend[0]}.{backend[1]}" in error.message
    assert "PYTHON_KEYRING_BACKEND" in error.message and "plain file" in error.message


def test_a_file_keyring_named_in_python_keyring_backend_is_the_users_choice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import keyring

    from tuckaway.accounts.credentials import keyring_backend

    chosen = _fake_backend(*PLAINTEXT)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setattr(keyring, "get_keyring", lambda: chosen)
    assert keyring_backend() is chosen


def test_cli_login_without_a_keyring_tells_what_to_install(home: Path) -> None:
    env = host_env(home, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
                   TUCKAWAY_POCKET_CONSUMER_KEY="ck-1")
    proc = subprocess.run(
        [sys.executable, "-m", "tuckaway.cli", "login", "pocket", "--access-token-stdin"],
        env=env, input="tok-abc-123\n", capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1
    assert "gnome-keyring" in proc.stderr
    assert "tok-abc-123" not in proc.stderr + proc.stdout
    files = [p for p in home.rglob("*") if p.is_file()]
    assert all(b"tok-abc-123" not in p.read_bytes() for p in files)


def test_summary_reads_sqlite_without_importing_keyring(home: Path, creds: Credentials) -> None:
    creds.save_pocket(POCKET)
    code = (
        "import sys, sqlite3\n"
        "from tuckaway import db\n"
        "from tuckaway.accounts.credentials import accounts_summary, is_linked\n"
        f"c = db.connect(__import__('pathlib').Path({str(home / 'data' / 'tuckaway.db')!r}))\n"
        "print(accounts_summary(c)['pocket'], is_linked(c, 'pocket'))\n"
        "print('keyring' in sys.modules, 'aiohttp' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HOST_DIR), str(SUPPORT_DIR)])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout.splitlines()
    assert out == ["{'linked': True, 'username': 'ann'} True", "False False"]


def test_hello_reports_a_linked_account_from_the_cli(env: dict[str, str]) -> None:
    env = {**env, "TUCKAWAY_POCKET_CONSUMER_KEY": "ck-1"}
    proc = subprocess.run(
        [sys.executable, "-m", "tuckaway.cli", "login", "pocket", "--access-token-stdin",
         "--username", "zoe"],
        env=env, input="tok-zoe-1234\n", capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    with HostProcess(env) as host:
        reply = host.request({"id": 1, "op": "hello"})
    assert reply["result"]["accounts"]["pocket"] == {"linked": True, "username": "zoe"}
    assert reply["result"]["backend"] == "pocket"
