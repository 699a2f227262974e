"""A keyring backend for tests: a JSON file named by ``TUCKAWAY_TEST_KEYRING_FILE``.

Select it with ``PYTHON_KEYRING_BACKEND=testkeyring.TestKeyring`` and this
directory on ``PYTHONPATH``. Tests put the file OUTSIDE ``TUCKAWAY_HOME`` so
that a scan of the host's own files for tokens means something. Plain text on
purpose: it stands in for the OS keyring in tests and must never be used
otherwise, so it refuses to work without the variable.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from keyring.backend import KeyringBackend
from keyring.errors import KeyringError, PasswordDeleteError

ENV = "TUCKAWAY_TEST_KEYRING_FILE"


class TestKeyring(KeyringBackend):
    """Passwords as ``{service: {username: password}}`` in one JSON file."""

    priority = 1.0  # type: ignore[assignment]

    @staticmethod
    def path() -> Path:
        value = os.environ.get(ENV)
        if not value:
            raise KeyringError(f"testkeyring needs {ENV} (a JSON file outside TUCKAWAY_HOME)")
        return Path(value)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        path = self.path()
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = path.with_name(path.name + ".lock")
        with open(lock, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            data = json.loads(path.read_text("utf-8")) if path.exists() else {}
            before = json.dumps(data, sort_keys=True)
            yield data
            if json.dumps(data, sort_keys=True) != before:
                tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                tmp.write_text(json.dumps(data, indent=1), "utf-8")
                os.replace(tmp, path)

    def get_password(self, service: str, username: str) -> str | None:
        with self._locked() as data:
            value = data.get(service, {}).get(username)
            return None if value is None else str(value)

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._locked() as data:
            data.setdefault(service, {})[username] = password

    def delete_password(self, service: str, username: str) -> None:
        with self._locked() as data:
            entries = data.get(service, {})
            if username not in entries:
                raise PasswordDeleteError(f"no password for {service}/{username}")
            del entries[username]
            if not entries:
                del data[service]


def contents() -> dict[str, Any]:
    """What the test keyring holds now (for assertions)."""
    path = TestKeyring.path()
    return json.loads(path.read_text("utf-8")) if path.exists() else {}


@contextlib.contextmanager
def in_process(path: Path) -> Iterator[None]:
    """Select this backend for the running process, the way a host picks it from the
    environment (PYTHON_KEYRING_BACKEND), and put the previous keyring back after."""
    import keyring
    import keyring.core

    saved = {k: os.environ.get(k) for k in ("PYTHON_KEYRING_BACKEND", ENV)}
    previous = keyring.get_keyring()
    os.environ["PYTHON_KEYRING_BACKEND"] = "testkeyring.TestKeyring"
    os.environ[ENV] = str(path)
    keyring.core.init_backend()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        keyring.set_keyring(previous)
