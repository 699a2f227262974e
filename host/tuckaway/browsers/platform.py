"""The machine's layout that install and doctor read and write: OS, home, environment, a root.

Every path comes from a :class:`Platform`, so tests run the Linux, macOS and
Windows layouts under a temporary home and root on any machine.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tuckaway.browsers.registry import Registry, system_registry

OSName = Literal["linux", "darwin", "windows"]
Family = Literal["chrome", "firefox"]
Scope = Literal["user", "system"]


@dataclass(frozen=True)
class Platform:
    """The machine's layout: everything install and doctor read or write derives from it."""

    os: OSName
    home: Path
    env: Mapping[str, str] = field(default_factory=dict)
    root: Path = Path("/")
    registry: Registry | None = None

    @classmethod
    def current(cls) -> Platform:
        name: OSName = (
            "windows"
            if sys.platform == "win32"
            else "darwin"
            if sys.platform == "darwin"
            else "linux"
        )
        root = Path(os.environ.get("SYSTEMDRIVE", "C:") + "\\") if name == "windows" else Path("/")
        # Tests (and a look at another machine's disk) put system paths under another root.
        root = Path(os.environ.get("TUCKAWAY_SYSTEM_ROOT") or root)
        return cls(name, Path.home(), dict(os.environ), root, system_registry())

    def system_path(self, absolute: str) -> Path:
        """An absolute system path (``/etc/...``), under :attr:`root`."""
        return self.root / absolute.lstrip("/")

    def expand(self, template: str) -> Path:
        """Fill ``{home}``, ``{config}``, ``{appsupport}``, ``{local}``, ``{roaming}``,
        ``{programdata}``, ``{programfiles}``; a template starting with ``/`` is a system path."""
        if template.startswith("/"):
            return self.system_path(template)
        env = self.env
        values = {
            "home": str(self.home),
            "config": env.get("XDG_CONFIG_HOME") or str(self.home / ".config"),
            "appsupport": str(self.home / "Library" / "Application Support"),
            "local": env.get("LOCALAPPDATA") or str(self.home / "AppData" / "Local"),
            "roaming": env.get("APPDATA") or str(self.home / "AppData" / "Roaming"),
            "programdata": env.get("ProgramData") or str(self.root / "ProgramData"),
            "programfiles": env.get("ProgramFiles") or str(self.root / "Program Files"),
        }
        return Path(template.format(**values))

    @property
    def exe_suffix(self) -> str:
        return ".exe" if self.os == "windows" else ""
