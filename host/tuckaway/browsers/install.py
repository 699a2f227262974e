"""``install`` / ``uninstall``: write ``org.tuckaway.host`` where each browser reads it.

:func:`install` writes a manifest to every :func:`~tuckaway.browsers.locations.locations`
entry of each chosen browser (and the Windows registry keys, a Flatpak's
sandbox), and records each in the install record; :func:`uninstall` removes
what the record lists and nothing else. Both return a :class:`Report`; the
CLI prints it.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuckaway.browsers.launchers import (
    FLATPAK_PERMISSION,
    flatpak_can_spawn,
    windows_launcher_path,
    write_windows_launcher,
)
from tuckaway.browsers.locations import (
    Location,
    found_by,
    locations,
    snap_dir,
    user_data_dir_location,
)
from tuckaway.browsers.manifest import is_ours, manifest_for, mkdirs, write_manifest
from tuckaway.browsers.platform import Platform, Scope
from tuckaway.browsers.record import Entry, read_record, write_record
from tuckaway.browsers.sandbox import install_flatpak, spawns_outside
from tuckaway.browsers.table import BROWSERS, Browser, browser
from tuckaway.errors import ConfigError


@dataclass
class Report:
    installed: list[Entry] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    host_path: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "host_path": self.host_path,
            "installed": [e.to_json() for e in self.installed],
            "removed": self.removed,
            "skipped": self.skipped,
            "notes": self.notes,
        }


def select_browsers(
    platform: Platform, names: Sequence[str] = (), all_detected: bool = False
) -> list[Browser]:
    """The browsers named (``--browser``), or every one found here, or both (``--all``)."""
    named = [browser(n) for n in names]
    if names and not all_detected:
        return list(dict.fromkeys(named))
    found = [b for b in BROWSERS if found_by(platform, b) is not None]
    return list(dict.fromkeys([*named, *found]))


def install(
    platform: Platform,
    state_dir: Path,
    browsers: Sequence[Browser],
    host_path: Path,
    *,
    system: bool = False,
    extra_ids: Sequence[str] = (),
    user_data_dirs: Sequence[Path] = (),
) -> Report:
    """Register ``host_path`` with ``browsers``; record what was written."""
    if not host_path.is_absolute():
        raise ConfigError(f"the host path must be absolute, got {host_path}")
    scope: Scope = "system" if system else "user"
    report = Report(host_path=str(host_path))
    new: list[Entry] = []
    launcher = windows_launcher_path(platform, host_path, system)
    program = host_path
    created: list[str] = []
    if launcher is not None:
        created = mkdirs(launcher.parent)
        program = write_windows_launcher(host_path, launcher)
    for b in browsers:
        native = [loc for loc in locations(platform, b, scope) if loc.variant == "native"]
        if not native:
            report.skipped.append({"browser": b.key, "reason": _no_place(platform, b, system)})
        for loc in native:
            entry = _register(platform, b, loc, program, host_path, extra_ids)
            entry.wrapper = str(launcher) if launcher else None
            entry.created_dirs = created + entry.created_dirs
            created = []
            new.append(entry)
        if not system:
            _install_sandboxed(platform, b, host_path, extra_ids, new, report)
    for directory in user_data_dirs:
        chromium = next((b for b in browsers if b.family == "chrome"), browser("chromium"))
        loc = user_data_dir_location(chromium, directory.expanduser().absolute())
        new.append(_register(platform, chromium, loc, program, host_path, extra_ids))
    idents = {n.ident for n in new}
    write_record(state_dir, [*(e for e in read_record(state_dir) if e.ident not in idents), *new])
    report.installed = new
    return report


def _no_place(platform: Platform, b: Browser, system: bool) -> str:
    if system and locations(platform, b, "user"):
        return (
            f"{b.label} has no system-wide manifest directory on this OS; "
            f"install for your user instead: tuckaway install --browser {b.key}"
        )
    return f"{b.label} does not run native-messaging hosts on this OS"


def _register(
    platform: Platform,
    b: Browser,
    loc: Location,
    program: Path,
    host_path: Path,
    extra_ids: Sequence[str],
) -> Entry:
    """Write one manifest (and its registry key); the record's entry for it."""
    created = write_manifest(loc.manifest, manifest_for(b.family, program, extra_ids))
    if loc.registry is not None:
        if platform.registry is None:
            raise ConfigError("the Windows registry is not available")
        platform.registry.set_default(*loc.registry, str(loc.manifest))
    return Entry(
        browser=b.key,
        scope=loc.scope,
        variant="native",
        manifest=str(loc.manifest),
        host_path=str(program),
        registry=loc.registry,
        created_dirs=created,
        family=b.family,
        extra_ids=list(extra_ids),
        target=str(host_path),
    )


def _install_sandboxed(
    platform: Platform,
    b: Browser,
    host_path: Path,
    extra_ids: Sequence[str],
    new: list[Entry],
    report: Report,
) -> None:
    for loc in locations(platform, b, "user"):
        if loc.variant != "flatpak" or b.flatpak is None:
            continue
        entry = install_flatpak(b, loc, host_path, extra_ids)
        new.append(entry)
        if spawns_outside(entry) and not flatpak_can_spawn(platform, b.flatpak.app_id):
            report.notes.append(flatpak_note(b))
    advice = snap_advice(platform, b)
    if advice is not None:
        if b.family == "firefox":
            report.notes.append(advice)
        else:
            report.skipped.append({"browser": b.key, "reason": advice})


def flatpak_note(b: Browser) -> str:
    assert b.flatpak is not None
    app_id = b.flatpak.app_id
    return (
        f"{b.label} (Flatpak {app_id}): the manifest is in place, but the sandbox may "
        "not start programs outside it yet. Allow it once with:\n"
        f"    flatpak override --user --talk-name={FLATPAK_PERMISSION} {app_id}\n"
        "then restart the browser."
    )


def snap_advice(platform: Platform, b: Browser) -> str | None:
    """What a Snap of ``b`` means for its native messaging (install and doctor say it)."""
    if snap_dir(platform, b) is None:
        return None
    if b.family == "firefox":
        return (
            f"{b.label} (Snap): it reads the manifest in ~/.mozilla/native-messaging-hosts "
            "through the xdg-desktop-portal WebExtensions portal. Needs Firefox 106+ and "
            "xdg-desktop-portal 1.17+; Firefox asks once for permission to start the host "
            "(if it never asks: snap connect firefox:native-messaging-hosts, or "
            "`flatpak permission-reset` on the 'webextensions' table and try again)."
        )
    return (
        f"{b.label} (Snap) is confined and cannot start programs outside "
        "its sandbox, so no manifest helps. Use the distribution's package or the "
        f"Flatpak of {b.label} instead (then run `tuckaway install` again)."
    )


def uninstall(
    platform: Platform,
    state_dir: Path,
    browsers: Sequence[Browser] = (),
    *,
    system: bool | None = None,
) -> Report:
    """Remove what :func:`install` recorded (for ``browsers``, or all of it)."""
    report = Report()
    record = read_record(state_dir)
    keys = {b.key for b in browsers}

    def chosen(e: Entry) -> bool:
        if keys and e.browser not in keys:
            return False
        return system is None or (e.scope == "system") == system

    going = [e for e in record if chosen(e)]
    staying = [e for e in record if not chosen(e)]
    kept_files = {e.manifest for e in staying} | {e.wrapper for e in staying if e.wrapper}
    kept_keys = {e.registry for e in staying if e.registry}
    for e in going:
        if e.registry and e.registry not in kept_keys and platform.registry is not None:
            kept_keys.add(e.registry)  # once
            hive, key = e.registry
            if platform.registry.get_default(hive, key) == e.manifest:
                platform.registry.delete_key(hive, key)
                report.removed.append(f"{hive}\\{key}")
        for name in (e.manifest, e.wrapper):
            if not name or name in kept_files:
                continue
            kept_files.add(name)  # once
            if name == e.manifest and not is_ours(Path(name)):
                continue
            if _remove(Path(name)):
                report.removed.append(name)
    kept_dirs = {d for e in staying for d in e.created_dirs}
    dirs = {d for e in going for d in e.created_dirs} - kept_dirs
    for d in sorted(dirs, key=lambda s: len(Path(s).parts), reverse=True):
        with contextlib.suppress(OSError):
            Path(d).rmdir()
    write_record(state_dir, staying)
    return report


def _remove(path: Path) -> bool:
    """Remove a file, or a bundle directory we copied; False when it was already gone."""

    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
        return True
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
