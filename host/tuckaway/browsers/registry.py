"""A small interface to the Windows registry, for native-messaging host keys.

Browsers on Windows find a host through a registry key whose default value is
the manifest's path (``HKCU`` for one user, ``HKLM`` for all, in both its
64-bit and 32-bit views: ``HKLM`` and ``HKLM32`` here). Install and
doctor only need three things: set a key's default value, read it, delete the
key. :class:`WinRegistry` does them with ``winreg`` (Windows only);
:class:`MemoryRegistry` keeps them in a dict, for tests on any OS.
"""

from __future__ import annotations

import sys
from typing import Protocol

HIVES = ("HKCU", "HKLM", "HKLM32")  # HKLM32: the 32-bit view (WOW6432Node)


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
    import winreg

    class WinRegistry:
        """The real registry (``winreg``); HKLM and HKLM32 are its 64-bit and 32-bit views."""

        def _open(self, hive: str) -> tuple[int, int]:
            views = {
                "HKCU": (winreg.HKEY_CURRENT_USER, 0),
                "HKLM": (winreg.HKEY_LOCAL_MACHINE, winreg.KEY_WOW64_64KEY),
                "HKLM32": (winreg.HKEY_LOCAL_MACHINE, winreg.KEY_WOW64_32KEY),
            }
            return views[hive]

        def set_default(self, hive: str, key: str, value: str) -> None:
            root, view = self._open(hive)
            with winreg.CreateKeyEx(root, key, 0, winreg.KEY_WRITE | view) as handle:
                winreg.SetValueEx(handle, "", 0, winreg.REG_SZ, value)

        def get_default(self, hive: str, key: str) -> str | None:
            root, view = self._open(hive)
            try:
                with winreg.OpenKey(root, key, 0, winreg.KEY_READ | view) as handle:
                    value, _kind = winreg.QueryValueEx(handle, "")
            except OSError:
                return None
            return str(value)

        def delete_key(self, hive: str, key: str) -> bool:
            root, view = self._open(hive)
            try:
                winreg.DeleteKeyEx(root, key, view or winreg.KEY_WOW64_64KEY)
            except OSError:
                return False
            return True


def system_registry() -> Registry | None:
    """The real registry on Windows; None elsewhere."""
    if sys.platform == "win32":  # pragma: no cover
        return WinRegistry()
    return None
