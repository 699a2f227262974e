"""The install record (``install.json`` in the state directory): exactly what install wrote.

``uninstall`` removes what it lists and nothing else; self-healing rewrites
the manifests it lists. Reading it is one small JSON file: cheap enough for
every command and every host start.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuckaway.browsers.locations import Variant
from tuckaway.browsers.platform import Family, Scope
from tuckaway.errors import ConfigError

RECORD_FILE = "install.json"


@dataclass
class Entry:
    """One registration: a manifest (and maybe a registry key, a wrapper, a copied bundle)."""

    browser: str
    scope: Scope
    variant: Variant
    manifest: str
    host_path: str
    registry: tuple[str, str] | None = None
    wrapper: str | None = None
    created_dirs: list[str] = field(default_factory=list)
    family: Family = "chrome"
    extra_ids: list[str] = field(default_factory=list)
    target: str | None = None  # the host the wrapper or copy stands for (what healing restores)

    def to_json(self) -> dict[str, Any]:
        return {
            "browser": self.browser,
            "family": self.family,
            "scope": self.scope,
            "variant": self.variant,
            "manifest": self.manifest,
            "host_path": self.host_path,
            "registry": list(self.registry) if self.registry else None,
            "wrapper": self.wrapper,
            "target": self.target,
            "extra_ids": self.extra_ids,
            "created_dirs": self.created_dirs,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Entry:
        reg = raw.get("registry")
        return cls(
            browser=str(raw["browser"]),
            family="firefox" if raw.get("family") == "firefox" else "chrome",
            scope="system" if raw.get("scope") == "system" else "user",
            variant="flatpak" if raw.get("variant") == "flatpak" else "native",
            manifest=str(raw["manifest"]),
            host_path=str(raw.get("host_path", "")),
            registry=(str(reg[0]), str(reg[1])) if reg else None,
            wrapper=str(raw["wrapper"]) if raw.get("wrapper") else None,
            target=str(raw["target"]) if raw.get("target") else None,
            extra_ids=[str(i) for i in raw.get("extra_ids", [])],
            created_dirs=[str(d) for d in raw.get("created_dirs", [])],
        )

    @property
    def ident(self) -> tuple[str, str, tuple[str, str] | None]:
        return (self.browser, self.manifest, self.registry)


def read_record(state_dir: Path) -> list[Entry]:
    path = state_dir / RECORD_FILE
    try:
        raw = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the install record {path}: {exc}") from exc
    try:
        return [Entry.from_json(e) for e in raw.get("entries", [])]
    except (AttributeError, KeyError, TypeError, IndexError) as exc:
        raise ConfigError(f"the install record {path} is damaged ({exc!r})") from exc


def write_record(state_dir: Path, entries: Sequence[Entry]) -> None:
    path = state_dir / RECORD_FILE
    if not entries:
        path.unlink(missing_ok=True)
        return
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps({"version": 1, "entries": [e.to_json() for e in entries]}, indent=2), "utf-8"
    )
    os.replace(tmp, path)
