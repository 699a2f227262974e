"""Account credentials: secrets in the OS keyring, everything else in SQLite.

Tokens, consumer keys and client secrets live only in the keyring (service
name ``tuckaway``), one JSON blob per entry: ``pocket``, ``mastodon`` and
``mastodon-app:INSTANCE`` (an app registration, cached per instance). What is
not secret (username, service URL, acct, when it was linked) is in the
``accounts`` table, so that ``hello`` and ``status`` answer from SQLite alone
and never import ``keyring``.

The standard keyring settings are honoured (``PYTHON_KEYRING_BACKEND``,
``keyringrc.cfg``). When no usable backend exists (a headless Linux box
without a Secret Service) signing in fails with a message saying what to
install; the host never falls back to a plain file on its own: a file
keyring (keyrings.alt's plain-text or password-prompting ones) is used only
when ``PYTHON_KEYRING_BACKEND`` names it, never when ``keyring`` picked it,
alone or as one member of its chain.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tuckaway.db import get_meta, set_meta
from tuckaway.errors import ConfigError
from tuckaway.logs import register_secret
from tuckaway.settings import Settings

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

log = logging.getLogger(__name__)

KEYRING_SERVICE = "tuckaway"
SERVICES = ("pocket", "mastodon", "wallabag", "readeck")
#: the services that hold a reading list (at most one is linked at a time)
LIST_SERVICES = ("pocket", "wallabag", "readeck")
_APP_META = "mastodon_app:"
_APP_ENTRY = "mastodon-app:"
_APP_SCOPES_META = "mastodon_app_scopes:"  # not secret: beside the client id, not in the keyring

_NO_BACKEND_HELP = (
    "Tuckaway keeps your tokens in the system keyring, and none is usable here ({why}). "
    "On Linux install and start a Secret Service such as gnome-keyring "
    "(apt install gnome-keyring) or KWallet, inside a desktop or dbus session; or choose a "
    "keyring backend with PYTHON_KEYRING_BACKEND (see `keyring --list-backends`). "
    "Tokens are never written to a plain file instead."
)


class KeyringUnavailable(ConfigError):
    """No usable keyring backend: the user must install or pick one."""


@dataclass(frozen=True)
class PocketCredentials:
    base_url: str
    consumer_key: str
    access_token: str
    username: str

    def __repr__(self) -> str:
        return f"PocketCredentials(base_url={self.base_url!r}, username={self.username!r})"


@dataclass(frozen=True)
class MastodonCredentials:
    instance: str
    access_token: str
    acct: str
    client_id: str | None = None
    client_secret: str | None = None

    def __repr__(self) -> str:
        return f"MastodonCredentials(instance={self.instance!r}, acct={self.acct!r})"


@dataclass(frozen=True)
class WallabagCredentials:
    """A wallabag account: its API client and the OAuth2 tokens (never the password)."""

    base_url: str
    client_id: str
    client_secret: str
    access_token: str
    refresh_token: str
    username: str

    def __repr__(self) -> str:
        return f"WallabagCredentials(base_url={self.base_url!r}, username={self.username!r})"


@dataclass(frozen=True)
class ReadeckCredentials:
    """A Readeck account: an API token (made in its settings, or by its OAuth flow)."""

    base_url: str
    access_token: str
    username: str

    def __repr__(self) -> str:
        return f"ReadeckCredentials(base_url={self.base_url!r}, username={self.username!r})"


@dataclass(frozen=True)
class MastodonApp:
    """An app registered on one instance (``POST /api/v1/apps``)."""

    instance: str
    client_id: str
    client_secret: str
    #: the scopes it was registered with ("" when registered before they were kept)
    scopes: str = ""

    def __repr__(self) -> str:
        return f"MastodonApp(instance={self.instance!r}, client_id={self.client_id!r})"


# -- SQLite only (no keyring import) --------------------------------------------


def _row(conn: sqlite3.Connection, service: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT service, username, instance, data, linked_at FROM accounts WHERE service = ?",
        (service,),
    ).fetchone()
    return row


def _data(row: sqlite3.Row) -> dict[str, Any]:
    try:
        value = json.loads(row["data"] or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def is_linked(conn: sqlite3.Connection, service: str) -> bool:
    """Whether an account of ``service`` is linked (SQLite only)."""
    return _row(conn, service) is not None


def accounts_summary(conn: sqlite3.Connection) -> dict[str, Any]:
    """``hello``'s ``accounts`` object, from SQLite only."""
    pocket = _row(conn, "pocket")
    mastodon = _row(conn, "mastodon")
    lists = {name: _row(conn, name) for name in ("wallabag", "readeck")}
    return {
        **{
            name: {
                "linked": row is not None,
                "username": (row["username"] or None) if row is not None else None,
                "instance": row["instance"] if row is not None else None,
            }
            for name, row in lists.items()
        },
        "pocket": {
            "linked": pocket is not None,
            "username": (pocket["username"] or None) if pocket is not None else None,
        },
        "mastodon": {
            "linked": mastodon is not None,
            "instance": mastodon["instance"] if mastodon is not None else None,
            "acct": _data(mastodon).get("acct") or mastodon["username"]
            if mastodon is not None
            else None,
        },
    }


# -- the keyring ------------------------------------------------------------------


def keyring_backend() -> KeyringBackend:
    """The keyring backend in use, or :class:`KeyringUnavailable` if none is usable."""
    # keyring is imported here, not at the top: ``hello`` reads account metadata from
    # this module and must not pay for keyring's import (the host's start-up path).
    try:
        import keyring
        from keyring.backends import chainer, fail, null
    except ImportError as exc:  # pragma: no cover - keyring is a dependency
        raise KeyringUnavailable(_NO_BACKEND_HELP.format(why=f"keyring: {exc}")) from exc
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a broken PYTHON_KEYRING_BACKEND or keyringrc
        raise KeyringUnavailable(_NO_BACKEND_HELP.format(why=str(exc))) from exc
    if isinstance(backend, fail.Keyring):
        raise KeyringUnavailable(_NO_BACKEND_HELP.format(why="no keyring backend was found"))
    if isinstance(backend, null.Keyring):
        raise KeyringUnavailable(
            _NO_BACKEND_HELP.format(why="the null backend, which forgets everything, is selected")
        )
    if isinstance(backend, chainer.ChainerBackend):
        # Every member of a chain is asked on a read, and a write falls through to the next
        # member when one fails: a file keyring in the chain could end up holding a token (or
        # prompt for a password on stdin, the protocol pipe). Chain only the real keyrings.
        members = list(backend.backends)
        safe = [m for m in members if _file_keyring(m) is None]
        if not safe:
            names = ", ".join(filter(None, map(_file_keyring, members))) or "nothing"
            why = (
                "no keyring backend was found"
                if not members
                else f"the keyring chain holds only {names}, which keep secrets in files of "
                "their own"
            )
            raise KeyringUnavailable(_NO_BACKEND_HELP.format(why=why))
        if len(safe) < len(members):
            log.info(
                "keyring: leaving %s out of the chain",
                ", ".join(filter(None, map(_file_keyring, members))),
            )
            return _chain_of(safe)
        return backend
    name = _file_keyring(backend)
    if name is not None and not os.environ.get("PYTHON_KEYRING_BACKEND"):
        raise KeyringUnavailable(
            _NO_BACKEND_HELP.format(why=f"only {name}, which keeps secrets in a file, was found")
        )
    return backend


def _chain_of(members: list[KeyringBackend]) -> KeyringBackend:
    """A keyring chain over just ``members`` (keyring's own chain finds its members itself)."""
    from keyring.backends import chainer

    class _Chain(chainer.ChainerBackend):
        viable = False  # never picked by keyring itself

        @property
        def backends(self) -> list[KeyringBackend]:
            return members

    return _Chain()  # type: ignore[no-untyped-call]


#: keyrings.alt's own-file backends: plain text, or encrypted with a password asked on
#: the terminal (getpass, which falls back to stdin)
_FILE_KEYRING_MODULES = ("keyrings.alt.file", "keyrings.alt.pyfs")


def _file_keyring(backend: object) -> str | None:
    """The name of ``backend`` if it keeps secrets in a file of its own, else None.

    Never selected on its own: only when the user names it in PYTHON_KEYRING_BACKEND.
    """
    cls = type(backend)
    for klass in cls.__mro__:
        module = klass.__module__ or ""
        if "plaintext" in f"{module}.{klass.__name__}".lower() or module.startswith(
            _FILE_KEYRING_MODULES
        ):
            return f"{cls.__module__}.{cls.__name__}"
    return None


def keyring_message(service: str, exc: KeyringUnavailable, *, write: bool = True) -> str:
    """Why a write waits (or a read fails) when the token cannot be read, and what to do."""
    then = (
        "the write waits in the queue and is sent once the keyring answers again"
        if write
        else "try again once the keyring answers"
    )
    return (
        f"the system keyring is unavailable, so the {service} token cannot be read; {then} "
        "(unlock or start the keyring"
        + (", then run `tuckaway queue retry`" if write else "")
        + "; `tuckaway doctor` checks the setup). "
        + exc.message
    )


def _call(what: str, fn: str, *args: str) -> str | None:
    backend = keyring_backend()
    from keyring.errors import KeyringError, PasswordDeleteError  # start-up path: see above

    try:
        answer: str | None = getattr(backend, fn)(*args)
        return answer
    except PasswordDeleteError:
        return None
    except KeyringError as exc:
        raise KeyringUnavailable(
            _NO_BACKEND_HELP.format(why=f"{what} failed: {type(exc).__name__}: {exc}")
        ) from exc
    except Exception as exc:  # secretstorage/dbus errors escape some backends
        log.warning("keyring %s failed: %s", what, type(exc).__name__)
        raise KeyringUnavailable(
            _NO_BACKEND_HELP.format(why=f"{what} failed: {type(exc).__name__}")
        ) from exc


def _read_secret(entry: str) -> dict[str, str] | None:
    raw = _call("reading a token", "get_password", KEYRING_SERVICE, entry)
    if raw is None:
        return None
    register_secret(raw)
    try:
        value = json.loads(raw)
    except ValueError:
        log.warning("keyring entry %s is not what Tuckaway wrote; ignoring it", entry)
        return None
    if not isinstance(value, dict):
        return None
    secrets = {k: v for k, v in value.items() if isinstance(v, str)}
    for secret in secrets.values():
        register_secret(secret)
    return secrets


def _write_secret(entry: str, value: dict[str, str | None]) -> None:
    blob = {k: v for k, v in value.items() if v is not None}
    for secret in blob.values():
        register_secret(secret)
    raw = json.dumps(blob, sort_keys=True)
    register_secret(raw)
    _call("storing a token", "set_password", KEYRING_SERVICE, entry, raw)


def _delete_secret(entry: str) -> None:
    _call("removing a token", "delete_password", KEYRING_SERVICE, entry)


#: the consumer key the options page gave before any sign-in (docs/pocket.md: keyring only)
_CONSUMER_KEY_ENTRY = "pocket-consumer-key"


def stored_consumer_key() -> str | None:
    """The Pocket consumer key kept in the keyring by ``settings_set``, if any."""
    found = _read_secret(_CONSUMER_KEY_ENTRY)
    return (found or {}).get("consumer_key") or None


def store_consumer_key(key: str | None) -> None:
    """Keep ``key`` in the keyring (never in config.toml); None forgets it."""
    if key:
        _write_secret(_CONSUMER_KEY_ENTRY, {"consumer_key": key})
    else:
        _delete_secret(_CONSUMER_KEY_ENTRY)


class Credentials:
    """Read, store and forget account credentials."""

    def __init__(self, settings: Settings, conn: sqlite3.Connection) -> None:
        self.settings = settings
        self.conn = conn
        # service -> (linked_at it was read for, secrets); re-read when the row changes
        self._cache: dict[str, tuple[float, dict[str, str]]] = {}

    def _secrets(self, service: str, row: sqlite3.Row) -> dict[str, str] | None:
        linked_at = float(row["linked_at"])
        cached = self._cache.get(service)
        if cached is not None and cached[0] == linked_at:
            return cached[1]
        found = _read_secret(service)
        if found is None or not found.get("access_token"):
            log.warning("%s is linked but its token is missing from the keyring", service)
            return None
        self._cache[service] = (linked_at, found)
        return found

    # -- Pocket -----------------------------------------------------------

    def pocket(self) -> PocketCredentials | None:
        row = _row(self.conn, "pocket")
        if row is None:
            return None
        found = self._secrets("pocket", row)
        if found is None:
            return None
        return PocketCredentials(
            base_url=row["instance"] or self.settings.pocket_url,
            consumer_key=found.get("consumer_key") or self.settings.pocket_consumer_key or "",
            access_token=found["access_token"],
            username=row["username"] or "",
        )

    def save_pocket(self, c: PocketCredentials) -> None:
        _write_secret("pocket", {"access_token": c.access_token, "consumer_key": c.consumer_key})
        self._save_row("pocket", c.username, c.base_url.rstrip("/"), {})

    # -- Mastodon ---------------------------------------------------------

    def mastodon(self) -> MastodonCredentials | None:
        row = _row(self.conn, "mastodon")
        if row is None:
            return None
        found = self._secrets("mastodon", row)
        if found is None:
            return None
        return MastodonCredentials(
            instance=row["instance"],
            access_token=found["access_token"],
            acct=_data(row).get("acct") or row["username"] or "",
            client_id=found.get("client_id"),
            client_secret=found.get("client_secret"),
        )

    def save_mastodon(self, c: MastodonCredentials) -> None:
        _write_secret(
            "mastodon",
            {
                "access_token": c.access_token,
                "client_id": c.client_id,
                "client_secret": c.client_secret,
            },
        )
        instance = c.instance.rstrip("/")
        self._save_row("mastodon", c.acct, instance, {"acct": c.acct})

    def mastodon_app(self, instance: str) -> MastodonApp | None:
        """The app registered earlier on ``instance``, if both halves are still there."""
        instance = instance.rstrip("/")
        client_id = get_meta(self.conn, _APP_META + instance)
        if not client_id:
            return None
        found = _read_secret(_APP_ENTRY + instance)
        if found is None or not found.get("client_secret"):
            return None
        scopes = get_meta(self.conn, _APP_SCOPES_META + instance) or ""
        return MastodonApp(instance, client_id, found["client_secret"], scopes)

    def save_mastodon_app(self, app: MastodonApp) -> None:
        instance = app.instance.rstrip("/")
        _write_secret(_APP_ENTRY + instance, {"client_secret": app.client_secret})
        set_meta(self.conn, _APP_META + instance, app.client_id)
        set_meta(self.conn, _APP_SCOPES_META + instance, app.scopes)

    def forget_mastodon_app(self, instance: str) -> None:
        instance = instance.rstrip("/")
        self.conn.execute(
            "DELETE FROM meta WHERE key IN (?, ?)",
            (_APP_META + instance, _APP_SCOPES_META + instance),
        )
        _delete_secret(_APP_ENTRY + instance)

    # -- wallabag and Readeck ---------------------------------------------

    def wallabag(self, *, fresh: bool = False) -> WallabagCredentials | None:
        """The linked wallabag account; ``fresh`` reads the keyring again (another
        process may have refreshed the tokens)."""
        row = _row(self.conn, "wallabag")
        if row is None:
            return None
        if fresh:
            self._cache.pop("wallabag", None)
        found = self._secrets("wallabag", row)
        if found is None:
            return None
        return WallabagCredentials(
            base_url=row["instance"],
            client_id=found.get("client_id", ""),
            client_secret=found.get("client_secret", ""),
            access_token=found["access_token"],
            refresh_token=found.get("refresh_token", ""),
            username=row["username"] or "",
        )

    def save_wallabag(self, c: WallabagCredentials, *, refreshed: bool = False) -> None:
        """Store the tokens; ``refreshed`` keeps the account row (and so the writes held for
        it: a refresh is not a new sign-in)."""
        secrets = {
            "access_token": c.access_token,
            "refresh_token": c.refresh_token,
            "client_id": c.client_id,
            "client_secret": c.client_secret,
        }
        _write_secret("wallabag", dict(secrets))
        row = _row(self.conn, "wallabag")
        if refreshed and row is not None:
            self._cache["wallabag"] = (float(row["linked_at"]), secrets)
            return
        self._save_row("wallabag", c.username, c.base_url.rstrip("/"), {})

    def readeck(self) -> ReadeckCredentials | None:
        row = _row(self.conn, "readeck")
        if row is None:
            return None
        found = self._secrets("readeck", row)
        if found is None:
            return None
        return ReadeckCredentials(row["instance"], found["access_token"], row["username"] or "")

    def save_readeck(self, c: ReadeckCredentials) -> None:
        _write_secret("readeck", {"access_token": c.access_token})
        self._save_row("readeck", c.username, c.base_url.rstrip("/"), {})

    # -- all ----------------------------------------------------------------

    def forget(self, service: str) -> None:
        """Unlink ``service``: the row goes first, so the account reads as unlinked even
        if the keyring then fails (the error says so)."""
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}")
        self.conn.execute("DELETE FROM accounts WHERE service = ?", (service,))
        self._cache.pop(service, None)
        _delete_secret(service)

    def _save_row(self, service: str, username: str, instance: str, data: dict[str, Any]) -> None:
        self._cache.pop(service, None)
        self.conn.execute(
            "INSERT INTO accounts (service, username, instance, data, linked_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (service) DO UPDATE SET "
            "username = excluded.username, instance = excluded.instance, "
            "data = excluded.data, linked_at = excluded.linked_at",
            (service, username, instance, json.dumps(data), time.time()),
        )


__all__ = [
    "KEYRING_SERVICE",
    "LIST_SERVICES",
    "Credentials",
    "KeyringUnavailable",
    "MastodonApp",
    "MastodonCredentials",
    "PocketCredentials",
    "ReadeckCredentials",
    "WallabagCredentials",
    "accounts_summary",
    "is_linked",
    "keyring_backend",
    "keyring_message",
    "store_consumer_key",
    "stored_consumer_key",
]
