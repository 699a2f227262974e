"""Changing ``config.toml`` from the extension's options page (ops ``settings``, ``settings_set``).

Only a few settings are editable this way: the Pocket-compatible service and
its consumer key (needed before signing in, now that getpocket.com is closed;
kept in the system keyring, never in the file) and the batching tunables.
The file is edited line by line, so a user's own comments and other keys stay
as they were; the result is loaded with
:meth:`Settings.load` before it replaces the old file (atomically), so a bad
value never reaches the disk. A setting given in the environment wins over
the file, and is reported as such rather than silently overridden.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from tuckaway.errors import ConfigError, InvalidRequest
from tuckaway.settings import Settings, private_dir, private_file

EDITABLE: tuple[str, ...] = (
    "pocket_url",
    "pocket_consumer_key",
    "batch_quiet_ms",
    "batch_max_delay_ms",
    "batch_max_actions",
)
#: shown to the extension only as "is it set": it identifies the app to the service
WRITE_ONLY = frozenset({"pocket_consumer_key"})

Source = Literal["default", "config", "environment", "keyring"]
#: kept in the system keyring, not in config.toml (docs/pocket.md)
IN_KEYRING = frozenset({"pocket_consumer_key"})


def env_name(key: str) -> str:
    return f"TUCKAWAY_{key.upper()}"


def describe(settings: Settings, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``settings`` result: editable values, where each comes from, the file's path."""
    env = os.environ if env is None else env
    in_file = _file_keys(settings.paths.config_file)
    values: dict[str, Any] = {}
    sources: dict[str, Source] = {}
    kept = _kept_consumer_key() if not settings.pocket_consumer_key else None
    for key in EDITABLE:
        value = getattr(settings, key)
        if key == "pocket_consumer_key" and kept:
            value = kept
        if key in WRITE_ONLY:
            values[f"{key}_set"] = bool(value)
        else:
            values[key] = value
        if env.get(env_name(key)):
            sources[key] = "environment"
        elif key in in_file:
            sources[key] = "config"
        elif key in IN_KEYRING and kept:
            sources[key] = "keyring"
        else:
            sources[key] = "default"
    return {
        "values": values,
        "sources": sources,
        "config_file": str(settings.paths.config_file),
    }


def update(
    settings: Settings,
    changes: Mapping[str, Any],
    reset: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
    *,
    pocket_linked: bool = False,
) -> Settings:
    """Write ``changes`` (and remove ``reset`` keys) in config.toml; returns the new Settings.

    Raises :class:`InvalidRequest` naming the field when a key is set in the
    environment (the file would not win), when the service would change under
    a signed-in Pocket account, or when the new file does not load.
    """
    env = os.environ if env is None else env
    changes = dict(changes)
    if isinstance(changes.get("pocket_url"), str):  # as the service's base: no trailing slash
        changes["pocket_url"] = changes["pocket_url"].strip().rstrip("/")
    moved = changes.get("pocket_url", settings.pocket_url) != settings.pocket_url
    if pocket_linked and (moved or "pocket_url" in reset):
        message = (
            "sign out of Pocket first: the signed-in account stays with the service it signed in to"
        )
        raise InvalidRequest(message, [{"loc": "pocket_url", "msg": message}])
    touched = [*changes, *reset]
    pinned = [k for k in touched if env.get(env_name(k))]
    if pinned:
        raise InvalidRequest(
            "set in the environment, which wins over config.toml: change it there",
            [
                {"loc": k, "msg": f"set by {env_name(k)} in the environment; change it there"}
                for k in pinned
            ],
        )
    if "pocket_consumer_key" in changes or "pocket_consumer_key" in reset:
        _keep_consumer_key(changes.pop("pocket_consumer_key", None))
        reset = tuple(k for k in reset if k != "pocket_consumer_key")
        reset += ("pocket_consumer_key",)  # one written there by hand moves to the keyring
    path = settings.paths.config_file
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        text = ""
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    for key in reset:
        text = _remove(text, key)
    for key, value in changes.items():
        text = _set(text, key, value)
    _check(path, text, env, touched)
    private_dir(settings.paths.config_dir)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.unlink(missing_ok=True)
    private_file(temp)
    temp.write_text(text, "utf-8")
    os.replace(temp, path)
    return Settings.load(env)


def _kept_consumer_key() -> str | None:
    from tuckaway.accounts.credentials import KeyringUnavailable, stored_consumer_key

    try:
        return stored_consumer_key()
    except KeyringUnavailable:
        return None


def _keep_consumer_key(key: Any) -> None:
    from tuckaway.accounts.credentials import KeyringUnavailable, store_consumer_key

    try:
        store_consumer_key(str(key).strip() if key else None)
    except KeyringUnavailable as exc:
        raise InvalidRequest(
            exc.message, [{"loc": "pocket_consumer_key", "msg": exc.message}]
        ) from None


def _check(path: Path, text: str, env: Mapping[str, str], touched: list[str]) -> None:
    """Load ``text`` exactly as the host will, from a scratch home, before it is written."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tuckaway-config-") as scratch:
        probe = Path(scratch) / "config" / path.name
        probe.parent.mkdir()
        probe.write_text(text, "utf-8")
        try:
            Settings.load({**env, "TUCKAWAY_HOME": scratch})
        except ConfigError as exc:
            message = exc.message.replace(str(probe), str(path))
            loc = next((k for k in touched if k in message), touched[0] if touched else "")
            raise InvalidRequest(message, [{"loc": loc, "msg": message}]) from None


def _key_line(key: str) -> re.Pattern[str]:
    return re.compile(rf"^[ \t]*{re.escape(key)}[ \t]*=.*$\n?", re.MULTILINE)


def _file_keys(path: Path) -> set[str]:
    try:
        text = path.read_text("utf-8")
    except OSError:
        return set()
    return {k for k in EDITABLE if _key_line(k).search(text)}


def _remove(text: str, key: str) -> str:
    return _key_line(key).sub("", text)


def _set(text: str, key: str, value: Any) -> str:
    line = f"{key} = {_toml_value(value)}\n"
    pattern = _key_line(key)
    if pattern.search(text):
        return pattern.sub(lambda _: line, text, count=1)
    if text and not text.endswith("\n"):
        text += "\n"
    return text + line


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    # A JSON string is a TOML basic string (both escape quotes, backslashes and controls).
    return json.dumps(str(value))
