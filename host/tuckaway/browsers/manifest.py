"""The host manifest: what we write for each browser family, and what a browser rejects."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tuckaway import HOST_NAME
from tuckaway.browsers.platform import Family
from tuckaway.ids import CHROME_ORIGIN, GECKO_EXTENSION_ID

DESCRIPTION = "Tuckaway: saves pages and links to your reading list"
NAME_PATTERN = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
CHROME_ID_PATTERN = re.compile(r"^[a-p]{32}$")
ORIGIN_PATTERN = re.compile(r"^chrome-extension://[a-p]{32}/$")


def manifest_for(family: Family, host_path: Path, extra_ids: Sequence[str] = ()) -> dict[str, Any]:
    """The host manifest a browser of ``family`` accepts."""
    manifest: dict[str, Any] = {
        "name": HOST_NAME,
        "description": DESCRIPTION,
        "path": str(host_path),
        "type": "stdio",
    }
    if family == "chrome":
        extra = [f"chrome-extension://{i}/" for i in extra_ids if CHROME_ID_PATTERN.match(i)]
        manifest["allowed_origins"] = list(dict.fromkeys([CHROME_ORIGIN, *extra]))
    else:
        extra = [i for i in extra_ids if not CHROME_ID_PATTERN.match(i)]
        manifest["allowed_extensions"] = list(dict.fromkeys([GECKO_EXTENSION_ID, *extra]))
    return manifest


def manifest_problems(manifest: Any, family: Family) -> list[str]:
    """What a browser of ``family`` would object to in ``manifest`` (empty: nothing)."""
    if not isinstance(manifest, dict):
        return ["the manifest is not a JSON object"]
    problems = _name_problems(manifest.get("name"))
    if manifest.get("type") != "stdio":
        problems.append(f"type is {manifest.get('type')!r}, not 'stdio'")
    path = manifest.get("path")
    if not isinstance(path, str) or not path:
        problems.append("path is missing")
    elif not (Path(path).is_absolute() or re.match(r"^[A-Za-z]:[\\/]", path)):
        problems.append(f"path {path!r} is not absolute")
    if family == "chrome":
        problems += _origin_problems(manifest.get("allowed_origins"))
    else:
        problems += _extension_problems(manifest.get("allowed_extensions"))
    return problems


def _name_problems(name: Any) -> list[str]:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        return [f"name {name!r} is not a valid host name"]
    if name != HOST_NAME:
        return [f"name is {name!r}, not {HOST_NAME!r}"]
    return []


def _origin_problems(origins: Any) -> list[str]:
    if not isinstance(origins, list) or not origins:
        return ["allowed_origins is missing (Chrome-family browsers need it)"]
    problems = [
        f"allowed_origins entry {origin!r} is not chrome-extension://<id>/ "
        "(no wildcards, ends with /)"
        for origin in origins
        if not isinstance(origin, str) or not ORIGIN_PATTERN.match(origin)
    ]
    if not problems and CHROME_ORIGIN not in origins:
        problems.append(f"allowed_origins does not hold Tuckaway's {CHROME_ORIGIN}")
    return problems


def _extension_problems(exts: Any) -> list[str]:
    if not isinstance(exts, list) or not exts:
        return ["allowed_extensions is missing (Firefox-family browsers need it)"]
    if any(not isinstance(e, str) or not e or "*" in e for e in exts):
        return ["allowed_extensions holds an empty or wildcard id"]
    if GECKO_EXTENSION_ID not in exts:
        return [f"allowed_extensions does not hold Tuckaway's {GECKO_EXTENSION_ID}"]
    return []


def mkdirs(path: Path) -> list[str]:
    """mkdir -p, returning the directories that did not exist (deepest last)."""
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    path.mkdir(parents=True, exist_ok=True)
    return [str(p) for p in reversed(missing)]


def write_manifest(path: Path, manifest: Mapping[str, Any]) -> list[str]:
    """Write ``manifest`` atomically; the directories it had to create."""
    created = mkdirs(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    os.replace(tmp, path)
    return created


def read_manifest(path: Path) -> Any:
    """The parsed manifest; raises OSError or ValueError."""
    return json.loads(path.read_text("utf-8"))


def is_ours(path: Path) -> bool:
    try:
        data = read_manifest(path)
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("name") == HOST_NAME
