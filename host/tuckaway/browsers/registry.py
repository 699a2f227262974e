"""A small interface to the Windows registry, for native-messaging host keys.

Browsers on Windows find a host through a registry key whose default value is
the manifest's path (``HKCU`` for one user, ``HKLM`` for all). Install and
doctor only need three things: set a key's default value, read it, delete the
key. :class:`WinRegistry` does them with ``winreg`` (Windows only);
:class:`MemoryRegistry` keeps them in a dict, for tests on any OS.
"""

from __future__ import annotations

import sys
from typing import Protocol

HIVES = ("HKCU", "HKLM")


class Registry(Protocol):
    def set_default(self, hive: str, key: str, value: str) -> None: ...

    def get_default(self, hive: str, key: str) -> str | None: ...

    def delete_key(self, hive: str, key: str) -> bool: ...


class MemoryRegistry:
    """The registry as a dict of (hive, key) -> default value (key names case-insensitive)."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}

    @staticmethod
    def _k(hive: str, key: str) -> tuple[str, str]:
        if hive not in HIVES:
            raise ValueError(f"unknown hive {hive!r}")
        return hive, key.lower()

    def set_default(self, hive: str, key: str, value: str) -> None:
        self.values[self._k(hive, key)] = value

    def get_default(self, hive: str, key: str) -> str | None:
        return self.values.get(self._k(hive, key))

    def delete_key(self, hive: str, key: str) -> bool:
        return self.values.pop(self._k(hive, key), None) is not None


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only

    class WinRegistry:
        """The real registry (``winreg``)."""

        def _hive(self, hive: str) -> int:
            import winreg

            return {"HKCU": winreg.HKEY_CURRENT_USER, "HKLM": winreg.HKEY_LOCAL_MACHINE}[hive]

        def set_default(self, hive: str, key: str, value: str) -> None:
            import winreg

            with winreg.CreateKeyEx(self._hive(hive), key, 0, winreg.KEY_WRITE) as handle:
                winreg.SetValueEx(handle, "", 0, winreg.REG_SZ, value)

        def get_default(self, hive: str, key: str) -> str | None:
            import winreg

            try:
                with winreg.OpenKey(self._hive(hive), key) as handle:
                    value, _kind = winreg.QueryValueEx(handle, "")
            except OSError:
                return None
            return str(value)

        def delete_key(self, hive: str, key: str) -> bool:
            import winreg

            try:
                winreg.DeleteKey(self._hive(hive), key)
            except OSError:
                return False
            return True


def system_registry() -> Registry | None:
    """The real registry on Windows; None elsewhere."""
    if sys.platform == "win32":  # pragma: no cover
        return WinRegistry()
    return None
