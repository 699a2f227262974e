"""Self-healing: keep the manifests install wrote naming a host that runs.

As KeePassXC does on each start: every command (but ``doctor``, which shows
things as they are) and every host start read the install record and rewrite
a manifest whose program no longer runs (a moved bundle, a venv whose Python
was upgraded away) to name the host running now. Only stats and small reads;
nothing is started, so it costs the host's start next to nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tuckaway import HOST_NAME
from tuckaway.browsers.launchers import write_windows_launcher
from tuckaway.browsers.locations import Location
from tuckaway.browsers.manifest import read_manifest, write_manifest
from tuckaway.browsers.record import Entry, read_record, write_record
from tuckaway.browsers.sandbox import install_flatpak
from tuckaway.browsers.table import BY_KEY
from tuckaway.errors import ConfigError


def runs(path: Path) -> bool:
    """Would starting ``path`` get as far as a program? (a file, executable, its #! there)"""
    if not path.is_file():
        return False
    if os.name != "nt" and not os.access(path, os.X_OK):
        return False
    try:
        with path.open("rb") as f:
            head = f.read(256)
    except OSError:
        return False
    if not head.startswith(b"#!"):
        return True
    words = head[2:].split(b"\n", 1)[0].split()
    return bool(words) and Path(os.fsdecode(words[0])).is_file()


def running_host() -> Path | None:
    """The ``tuckaway-host`` program of this process, when it is one (frozen or a script)."""
    exe = Path(sys.executable if getattr(sys, "frozen", False) else sys.argv[0])
    return exe.absolute() if exe.name.startswith("tuckaway-host") and exe.is_file() else None


def heal(state_dir: Path, host: Path) -> list[Entry]:
    """Point every recorded manifest whose program does not run at ``host``; what was healed."""
    if not runs(host):
        return []
    try:
        entries = read_record(state_dir)
    except ConfigError:
        return []  # a damaged record is for install/uninstall to report, not the host
    healed: list[Entry] = []
    for n, entry in enumerate(entries):
        fixed = _heal_one(entry, host)
        if fixed is not None:
            entries[n] = fixed
            healed.append(fixed)
    if healed:
        write_record(state_dir, entries)
    return healed


def _heal_one(entry: Entry, host: Path) -> Entry | None:
    manifest_path = Path(entry.manifest)
    try:
        manifest = read_manifest(manifest_path)
    except (OSError, ValueError):
        return None  # gone or replaced: not ours to rewrite
    if not isinstance(manifest, dict) or manifest.get("name") != HOST_NAME:
        return None
    program = Path(str(manifest.get("path", "")))
    target = Path(entry.target) if entry.target else program
    if runs(program) and runs(target):
        return None
    if entry.variant == "flatpak":
        if entry.browser not in BY_KEY:
            return None
        loc = Location(entry.browser, "user", "flatpak", manifest_path)
        fresh = install_flatpak(BY_KEY[entry.browser], loc, host, entry.extra_ids)
        fresh.created_dirs = entry.created_dirs
        return fresh
    # On Windows a .bat may stand in front of a host the browser cannot start directly.
    program = write_windows_launcher(host, Path(entry.wrapper)) if entry.wrapper else host
    write_manifest(manifest_path, {**manifest, "path": str(program)})
    entry.host_path, entry.target = str(program), str(host)
    return entry
