"""``tuckaway install`` / ``uninstall``: register ``org.tuckaway.host`` with the browsers.

A browser finds a native-messaging host through a manifest file named after
the host, in a directory that browser reads (Linux, macOS), or through a
registry key whose default value is the manifest's path (Windows). This
module knows those places for each supported browser (:data:`BROWSERS`),
writes the manifests, and keeps a record (``install.json`` in the state
directory) of exactly what it wrote so that ``uninstall`` removes that and
nothing else.

Every path is computed from a :class:`Platform` (OS name, home directory,
environment, a root for system-wide paths, a registry), so tests exercise the
Linux, macOS and Windows layouts under a temporary home on any machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tuckaway import HOST_NAME
from tuckaway.browsers.registry import Registry
from tuckaway.errors import ConfigError

OSName = Literal["linux", "darwin", "windows"]
Family = Literal["chrome", "firefox"]
Scope = Literal["user", "system"]

MANIFEST_FILE = f"{HOST_NAME}.json"
DESCRIPTION = "Tuckaway: saves pages and links to your reading list"
RECORD_FILE = "install.json"
NAME_PATTERN = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
CHROME_ID_PATTERN = re.compile(r"^[a-p]{32}$")
FLATPAK_PERMISSION = "org.freedesktop.Flatpak"


# -- where things are -----------------------------------------------------------------


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
        from tuckaway.browsers.registry import system_registry

        name: OSName = (
            "windows"
            if sys.platform == "win32"
            else "darwin"
            if sys.platform == "darwin"
            else "linux"
        )
        root = Path(os.environ.get("SYSTEMDRIVE", "C:") + "\\") if name == "windows" else Path("/")
        return cls(name, Path.home(), dict(os.environ), root, system_registry())

    def system_path(self, absolute: str) -> Path:
        """An absolute system path (``/etc/...``), under :attr:`root`."""
        return self.root / absolute.lstrip("/")

    def expand(self, template: str) -> Path:
        """Fill ``{home}``, ``{config}``, ``{appsupport}``, ``{local}``, ``{roaming}``,
        ``{programdata}``; a template starting with ``/`` is a system path."""
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
        }
        return Path(template.format(**values))

    @property
    def exe_suffix(self) -> str:
        return ".exe" if self.os == "windows" else ""


@dataclass(frozen=True)
class Flatpak:
    app_id: str
    manifest_dir: str  # inside ~/.var/app/<app_id>/


@dataclass(frozen=True)
class Browser:
    """One browser's native-messaging places on each OS (templates for Platform.expand)."""

    key: str
    label: str
    family: Family
    linux_user: str
    linux_system: str | None
    mac_user: str
    mac_system: str | None
    win_key: str  # under HKCU / HKLM; the value names the manifest file
    linux_profile: str
    mac_profile: str
    win_profile: str
    flatpak: Flatpak | None = None
    snap: str | None = None

    def user_dir(self, p: Platform) -> Path | None:
        if p.os == "linux":
            return p.expand(self.linux_user)
        if p.os == "darwin":
            return p.expand(self.mac_user)
        return p.expand("{local}") / "Tuckaway" / "NativeMessagingHosts" / self.family

    def system_dir(self, p: Platform) -> Path | None:
        if p.os == "linux":
            return p.expand(self.linux_system) if self.linux_system else None
        if p.os == "darwin":
            return p.expand(self.mac_system) if self.mac_system else None
        return p.expand("{programdata}") / "Tuckaway" / "NativeMessagingHosts" / self.family

    def registry_key(self) -> str:
        return f"{self.win_key}\\{HOST_NAME}"

    def profile_dir(self, p: Platform) -> Path:
        template = {
            "linux": self.linux_profile,
            "darwin": self.mac_profile,
            "windows": self.win_profile,
        }[p.os]
        return p.expand(template)

    def detected(self, p: Platform) -> bool:
        return self.profile_dir(p).exists()

    def flatpak_dir(self, p: Platform) -> Path | None:
        if p.os != "linux" or self.flatpak is None:
            return None
        app = p.home / ".var" / "app" / self.flatpak.app_id
        return app if app.is_dir() else None

    def snap_dir(self, p: Platform) -> Path | None:
        if p.os != "linux" or self.snap is None:
            return None
        snap = p.home / "snap" / self.snap
        return snap if snap.is_dir() else None


def _chrome(
    key: str,
    label: str,
    linux: str,
    linux_system: str | None,
    mac: str,
    mac_system: str | None,
    win_key: str,
    win_profile: str,
    flatpak: Flatpak | None,
    snap: str | None = None,
) -> Browser:
    return Browser(
        key=key,
        label=label,
        family="chrome",
        linux_user=f"{{config}}/{linux}/NativeMessagingHosts",
        linux_system=linux_system,
        mac_user=f"{{appsupport}}/{mac}/NativeMessagingHosts",
        mac_system=mac_system,
        win_key=win_key,
        linux_profile=f"{{config}}/{linux}",
        mac_profile=f"{{appsupport}}/{mac}",
        win_profile=win_profile,
        flatpak=flatpak,
        snap=snap,
    )


BROWSERS: tuple[Browser, ...] = (
    _chrome(
        "chrome",
        "Google Chrome",
        "google-chrome",
        "/etc/opt/chrome/native-messaging-hosts",
        "Google/Chrome",
        "/Library/Google/Chrome/NativeMessagingHosts",
        r"Software\Google\Chrome\NativeMessagingHosts",
        "{local}/Google/Chrome/User Data",
        Flatpak("com.google.Chrome", "config/google-chrome/NativeMessagingHosts"),
    ),
    _chrome(
        "chromium",
        "Chromium",
        "chromium",
        "/etc/chromium/native-messaging-hosts",
        "Chromium",
        "/Library/Application Support/Chromium/NativeMessagingHosts",
        r"Software\Chromium\NativeMessagingHosts",
        "{local}/Chromium/User Data",
        Flatpak("org.chromium.Chromium", "config/chromium/NativeMessagingHosts"),
        snap="chromium",
    ),
    _chrome(
        "edge",
        "Microsoft Edge",
        "microsoft-edge",
        "/etc/opt/edge/native-messaging-hosts",
        "Microsoft Edge",
        "/Library/Microsoft/Edge/NativeMessagingHosts",
        r"Software\Microsoft\Edge\NativeMessagingHosts",
        "{local}/Microsoft/Edge/User Data",
        Flatpak("com.microsoft.Edge", "config/microsoft-edge/NativeMessagingHosts"),
    ),
    _chrome(
        "brave",
        "Brave",
        "BraveSoftware/Brave-Browser",
        None,
        "BraveSoftware/Brave-Browser",
        None,
        r"Software\BraveSoftware\Brave-Browser\NativeMessagingHosts",
        "{local}/BraveSoftware/Brave-Browser/User Data",
        Flatpak("com.brave.Browser", "config/BraveSoftware/Brave-Browser/NativeMessagingHosts"),
        snap="brave",
    ),
    _chrome(
        "vivaldi",
        "Vivaldi",
        "vivaldi",
        None,
        "Vivaldi",
        None,
        r"Software\Vivaldi\NativeMessagingHosts",
        "{local}/Vivaldi/User Data",
        Flatpak("com.vivaldi.Vivaldi", "config/vivaldi/NativeMessagingHosts"),
    ),
    _chrome(
        # Opera on Windows reads Chrome's registry key.
        "opera",
        "Opera",
        "opera",
        None,
        "com.operasoftware.Opera",
        None,
        r"Software\Google\Chrome\NativeMessagingHosts",
        "{roaming}/Opera Software/Opera Stable",
        Flatpak("com.opera.Opera", "config/opera/NativeMessagingHosts"),
        snap="opera",
    ),
    Browser(
        key="firefox",
        label="Firefox",
        family="firefox",
        linux_user="{home}/.mozilla/native-messaging-hosts",
        linux_system="/usr/lib/mozilla/native-messaging-hosts",
        mac_user="{appsupport}/Mozilla/NativeMessagingHosts",
        mac_system="/Library/Application Support/Mozilla/NativeMessagingHosts",
        win_key=r"Software\Mozilla\NativeMessagingHosts",
        linux_profile="{home}/.mozilla/firefox",
        mac_profile="{appsupport}/Firefox",
        win_profile="{roaming}/Mozilla/Firefox",
        flatpak=Flatpak("org.mozilla.firefox", ".mozilla/native-messaging-hosts"),
        snap="firefox",
    ),
    Browser(
        key="librewolf",
        label="LibreWolf",
        family="firefox",
        linux_user="{home}/.librewolf/native-messaging-hosts",
        linux_system="/usr/lib/librewolf/native-messaging-hosts",
        mac_user="{appsupport}/librewolf/NativeMessagingHosts",
        mac_system=None,
        win_key=r"Software\LibreWolf\NativeMessagingHosts",
        linux_profile="{home}/.librewolf/profiles.ini",
        mac_profile="{appsupport}/librewolf/profiles.ini",
        win_profile="{roaming}/librewolf",
        flatpak=Flatpak("io.gitlab.librewolf-community", ".librewolf/native-messaging-hosts"),
    ),
)
BY_KEY: dict[str, Browser] = {b.key: b for b in BROWSERS}


def browser(name: str) -> Browser:
    try:
        return BY_KEY[name.lower()]
    except KeyError:
        raise ConfigError(f"unknown browser {name!r}; known: {', '.join(BY_KEY)}") from None


# -- the manifest ------------------------------------------------------------------------


def manifest_for(family: Family, host_path: Path, extra_ids: Sequence[str] = ()) -> dict[str, Any]:
    """The host manifest a browser of ``family`` accepts."""
    from tuckaway.ids import CHROME_ORIGIN, GECKO_EXTENSION_ID

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
    problems: list[str] = []
    if not isinstance(manifest, dict):
        return ["the manifest is not a JSON object"]
    name = manifest.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        problems.append(f"name {name!r} is not a valid host name")
    elif name != HOST_NAME:
        problems.append(f"name is {name!r}, not {HOST_NAME!r}")
    if manifest.get("type") != "stdio":
        problems.append(f"type is {manifest.get('type')!r}, not 'stdio'")
    path = manifest.get("path")
    if not isinstance(path, str) or not path:
        problems.append("path is missing")
    elif not (Path(path).is_absolute() or re.match(r"^[A-Za-z]:[\\/]", path)):
        problems.append(f"path {path!r} is not absolute")
    if family == "chrome":
        origins = manifest.get("allowed_origins")
        if not isinstance(origins, list) or not origins:
            problems.append("allowed_origins is missing (Chrome-family browsers need it)")
        else:
            for origin in origins:
                if not isinstance(origin, str) or not re.match(
                    r"^chrome-extension://[a-p]{32}/$", origin
                ):
                    problems.append(
                        f"allowed_origins entry {origin!r} is not chrome-extension://<id>/ "
                        "(no wildcards, ends with /)"
                    )
    else:
        exts = manifest.get("allowed_extensions")
        if not isinstance(exts, list) or not exts:
            problems.append("allowed_extensions is missing (Firefox-family browsers need it)")
        elif any(not isinstance(e, str) or not e or "*" in e for e in exts):
            problems.append("allowed_extensions holds an empty or wildcard id")
    return problems


# -- the host program ---------------------------------------------------------------------


def find_host(platform: Platform, explicit: str | os.PathLike[str] | None = None) -> Path:
    """The absolute path of the installed ``tuckaway-host``.

    ``--host-path`` wins; then the frozen bundle's own host (beside this
    executable); then the host beside the Python running us (a venv's bin or
    Scripts); then this Python's scripts folders (``pip install --user``);
    then ``tuckaway-host`` on PATH.
    """
    name = "tuckaway-host" + platform.exe_suffix
    candidates: list[Path] = []
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_absolute():
            path = Path.cwd() / path
        if not path.is_file():
            raise ConfigError(f"--host-path {path} does not exist (or is not a file)")
        return path
    if getattr(sys, "frozen", False):
        candidates.append(Path(sys.executable).parent / name)
    candidates.append(Path(sys.executable).parent / name)
    import sysconfig

    for scheme in (None, f"{os.name}_user"):
        try:
            scripts = (
                sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
            )
        except KeyError:
            continue
        candidates.append(Path(scripts) / name)
    found = shutil.which("tuckaway-host")
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file():
            return candidate.absolute()
    raise ConfigError(
        "cannot find the tuckaway-host program (looked beside "
        f"{Path(sys.executable).parent} and on PATH); reinstall Tuckaway "
        "(pip install tuckaway) or pass --host-path /absolute/path/to/tuckaway-host"
    )


def _windows_launcher(host: Path, target: Path) -> Path:
    """A .bat that starts ``host`` (a browser on Windows starts .exe, .bat or .cmd)."""
    py = host.suffix.lower() == ".py"
    line = f'"{sys.executable}" "{host}" %*' if py else f'"{host}" %*'
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        "@echo off\r\nrem Written by `tuckaway install`: starts the Tuckaway host.\r\n"
        + line
        + "\r\n",
        "utf-8",
    )
    return target


def _flatpak_wrapper(host: Path, target: Path, app_id: str) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    quoted = "'" + str(host).replace("'", "'\"'\"'") + "'"
    target.write_text(
        "#!/bin/sh\n"
        f"# Written by `tuckaway install`: the Flatpak {app_id} starts the Tuckaway host\n"
        "# outside its sandbox (needs --talk-name=org.freedesktop.Flatpak).\n"
        f'exec flatpak-spawn --host {quoted} "$@"\n',
        "utf-8",
    )
    _make_executable(target)
    return target


def _make_executable(path: Path) -> None:
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def flatpak_can_spawn(platform: Platform, app_id: str) -> bool:
    """Has the user (or admin) let ``app_id`` talk to org.freedesktop.Flatpak?"""
    for base in (
        platform.home / ".local" / "share" / "flatpak" / "overrides",
        platform.system_path("/var/lib/flatpak/overrides"),
    ):
        try:
            text = (base / app_id).read_text("utf-8")
        except OSError:
            continue
        if re.search(rf"^{re.escape(FLATPAK_PERMISSION)}\s*=\s*(talk|own)", text, re.M):
            return True
    return False


# -- what install writes --------------------------------------------------------------


@dataclass
class Entry:
    """One registration: a manifest (and maybe a registry key and a wrapper)."""

    browser: str
    scope: Scope
    variant: Literal["native", "flatpak"]
    manifest: str
    host_path: str
    registry: tuple[str, str] | None = None
    wrapper: str | None = None
    created_dirs: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "browser": self.browser,
            "scope": self.scope,
            "variant": self.variant,
            "manifest": self.manifest,
            "host_path": self.host_path,
            "registry": list(self.registry) if self.registry else None,
            "wrapper": self.wrapper,
            "created_dirs": self.created_dirs,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Entry:
        reg = raw.get("registry")
        return cls(
            browser=str(raw["browser"]),
            scope="system" if raw.get("scope") == "system" else "user",
            variant="flatpak" if raw.get("variant") == "flatpak" else "native",
            manifest=str(raw["manifest"]),
            host_path=str(raw.get("host_path", "")),
            registry=(str(reg[0]), str(reg[1])) if reg else None,
            wrapper=str(raw["wrapper"]) if raw.get("wrapper") else None,
            created_dirs=[str(d) for d in raw.get("created_dirs", [])],
        )

    @property
    def ident(self) -> tuple[str, str, str]:
        return (self.browser, self.scope, self.variant)


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


def read_record(state_dir: Path) -> list[Entry]:
    path = state_dir / RECORD_FILE
    try:
        raw = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the install record {path}: {exc}") from exc
    return [Entry.from_json(e) for e in raw.get("entries", [])]


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


def _mkdirs(path: Path) -> list[str]:
    """mkdir -p, returning the directories that did not exist (deepest last)."""
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    path.mkdir(parents=True, exist_ok=True)
    return [str(p) for p in reversed(missing)]


def _write_manifest(path: Path, manifest: Mapping[str, Any]) -> list[str]:
    created = _mkdirs(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    os.replace(tmp, path)
    return created


def select_browsers(
    platform: Platform, names: Sequence[str] = (), all_detected: bool = False
) -> list[Browser]:
    """The browsers named (``--browser``), or every detected one."""
    if names and not all_detected:
        return list(dict.fromkeys(browser(n) for n in names))
    return [
        b
        for b in BROWSERS
        if b.detected(platform) or b.flatpak_dir(platform) or b.snap_dir(platform)
    ]


def install(
    platform: Platform,
    state_dir: Path,
    browsers: Sequence[Browser],
    host_path: Path,
    *,
    system: bool = False,
    extra_ids: Sequence[str] = (),
) -> Report:
    """Register ``host_path`` with ``browsers``; record what was written."""
    scope: Scope = "system" if system else "user"
    report = Report(host_path=str(host_path))
    if not host_path.is_absolute():
        raise ConfigError(f"the host path must be absolute, got {host_path}")
    record = read_record(state_dir)
    new: list[Entry] = []
    launcher: Path | None = None
    if platform.os == "windows" and host_path.suffix.lower() not in {".exe", ".bat", ".cmd"}:
        base = platform.expand("{programdata}" if system else "{local}") / "Tuckaway"
        launcher = base / "tuckaway-host.bat"
    for b in browsers:
        native = b.system_dir(platform) if system else b.user_dir(platform)
        if native is None:
            report.skipped.append(
                {
                    "browser": b.key,
                    "reason": f"{b.label} has no system-wide manifest directory on this OS; "
                    f"install for your user instead: tuckaway install --browser {b.key}",
                }
            )
        else:
            created: list[str] = []
            path = host_path
            wrapper: str | None = None
            if launcher is not None:
                created += _mkdirs(launcher.parent)
                path = _windows_launcher(host_path, launcher)
                wrapper = str(launcher)
            manifest_path = native / MANIFEST_FILE
            created += _write_manifest(manifest_path, manifest_for(b.family, path, extra_ids))
            reg: tuple[str, str] | None = None
            if platform.os == "windows":
                if platform.registry is None:
                    raise ConfigError("the Windows registry is not available")
                reg = ("HKLM" if system else "HKCU", b.registry_key())
                platform.registry.set_default(reg[0], reg[1], str(manifest_path))
            new.append(
                Entry(b.key, scope, "native", str(manifest_path), str(path), reg, wrapper, created)
            )
        if not system:
            _install_sandboxed(platform, b, host_path, extra_ids, new, report)
    kept = [e for e in record if e.ident not in {n.ident for n in new}]
    write_record(state_dir, [*kept, *new])
    report.installed = new
    return report


def _install_sandboxed(
    platform: Platform,
    b: Browser,
    host_path: Path,
    extra_ids: Sequence[str],
    new: list[Entry],
    report: Report,
) -> None:
    app = b.flatpak_dir(platform)
    if app is not None and b.flatpak is not None:
        app_id = b.flatpak.app_id
        wrapper = app / "data" / "tuckaway" / "tuckaway-host"
        created = _mkdirs(wrapper.parent)
        _flatpak_wrapper(host_path, wrapper, app_id)
        manifest_path = app / b.flatpak.manifest_dir / MANIFEST_FILE
        created += _write_manifest(manifest_path, manifest_for(b.family, wrapper, extra_ids))
        new.append(
            Entry(
                b.key,
                "user",
                "flatpak",
                str(manifest_path),
                str(wrapper),
                None,
                str(wrapper),
                created,
            )
        )
        if not flatpak_can_spawn(platform, app_id):
            report.notes.append(
                f"{b.label} (Flatpak {app_id}): the manifest is in place, but the sandbox may "
                "not start programs outside it yet. Allow it once with:\n"
                f"    flatpak override --user --talk-name={FLATPAK_PERMISSION} {app_id}\n"
                "then restart the browser."
            )
    advice = snap_advice(platform, b)
    if advice is not None:
        if b.family == "firefox":
            report.notes.append(advice)
        else:
            report.skipped.append({"browser": b.key, "reason": advice})


def snap_advice(platform: Platform, b: Browser) -> str | None:
    """What a Snap of ``b`` means for its native messaging (install and doctor say it)."""
    if b.snap_dir(platform) is None:
        return None
    if b.family == "firefox":
        return (
            f"{b.label} (Snap): it reads the manifest in ~/.mozilla/native-messaging-hosts "
            "through the xdg-desktop-portal WebExtensions portal. Needs Firefox 106+ and "
            "xdg-desktop-portal 1.17+; Firefox asks once for permission to start the host."
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
    kept_dirs = {d for e in staying for d in e.created_dirs}
    done: set[str] = set()
    for e in going:
        if e.registry and e.registry not in kept_keys and platform.registry is not None:
            hive, key = e.registry
            if platform.registry.get_default(hive, key) == e.manifest:
                platform.registry.delete_key(hive, key)
                report.removed.append(f"{hive}\\{key}")
        for name in (e.manifest, e.wrapper):
            if not name or name in kept_files or name in done:
                continue
            done.add(name)
            path = Path(name)
            if name == e.manifest and not _is_ours(path):
                continue
            try:
                path.unlink()
                report.removed.append(name)
            except FileNotFoundError:
                pass
    dirs = {d for e in going for d in e.created_dirs} - kept_dirs
    for d in sorted(dirs, key=lambda s: len(Path(s).parts), reverse=True):
        with contextlib.suppress(OSError):
            Path(d).rmdir()
    write_record(state_dir, staying)
    return report


def _is_ours(path: Path) -> bool:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("name") == HOST_NAME


# -- the commands ------------------------------------------------------------------------


def add_commands(sub: Any) -> None:
    names = ", ".join(BY_KEY)
    p = sub.add_parser(
        "install",
        help="register the host with your browsers",
        description="Write the org.tuckaway.host manifest where each browser looks for it "
        f"(browsers: {names}). Without --browser, every browser found on this machine.",
    )
    p.add_argument(
        "--browser",
        "-b",
        action="append",
        default=[],
        metavar="NAME",
        help="a browser to register with (repeat for more)",
    )
    p.add_argument("--all", action="store_true", help="every browser found (the default)")
    p.add_argument("--system", action="store_true", help="for all users (needs root/admin)")
    p.add_argument("--host-path", metavar="PATH", help="the tuckaway-host program to register")
    p.add_argument("--json", action="store_true", help="print what was done as JSON")
    p.set_defaults(func=cmd_install)

    p = sub.add_parser(
        "uninstall",
        help="remove what `tuckaway install` wrote",
        description="Remove the manifests, registry keys and wrappers `tuckaway install` "
        "recorded; nothing else.",
    )
    p.add_argument("--browser", "-b", action="append", default=[], metavar="NAME")
    p.add_argument("--system", action="store_true", help="only the system-wide registrations")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_uninstall)


def cmd_install(args: Any) -> int:
    platform = Platform.current()
    chosen = select_browsers(platform, args.browser, args.all)
    if not chosen:
        print(
            "tuckaway: no browser found (looked for "
            + ", ".join(b.label for b in BROWSERS)
            + "); name one with --browser NAME",
            file=sys.stderr,
        )
        return 1
    host = find_host(platform, args.host_path)
    try:
        report = install(
            platform,
            args.settings.paths.state_dir,
            chosen,
            host,
            system=args.system,
            extra_ids=args.settings.allowed_extensions,
        )
    except PermissionError as exc:
        raise ConfigError(
            f"permission denied writing {exc.filename}: "
            + ("run it as root (sudo)" if args.system else "check that directory's owner")
        ) from exc
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0 if report.installed else 1
    print(f"host: {host}")
    for e in report.installed:
        label = BY_KEY[e.browser].label + (" (Flatpak)" if e.variant == "flatpak" else "")
        where = e.manifest + (f"  [{e.registry[0]}\\{e.registry[1]}]" if e.registry else "")
        print(f"registered for {label}: {where}")
    for s in report.skipped:
        print(f"not registered for {BY_KEY[s['browser']].label}: {s['reason']}")
    for note in report.notes:
        print(f"note: {note}")
    if report.installed:
        print("Restart the browser if it was open; `tuckaway doctor` checks the result.")
    return 0 if report.installed else 1


def cmd_uninstall(args: Any) -> int:
    platform = Platform.current()
    chosen = [browser(n) for n in args.browser]
    report = uninstall(
        platform, args.settings.paths.state_dir, chosen, system=True if args.system else None
    )
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    if not report.removed:
        print("nothing to remove: `tuckaway install` has not registered anything here")
    for name in report.removed:
        print(f"removed {name}")
    return 0


def registered_locations(platform: Platform, b: Browser) -> Iterable[tuple[str, Path]]:
    """Every place ``b`` may read our manifest from: (label, manifest path)."""
    user = b.user_dir(platform)
    if user is not None:
        yield "user", user / MANIFEST_FILE
    system = b.system_dir(platform)
    if system is not None:
        yield "system", system / MANIFEST_FILE
    app = b.flatpak_dir(platform)
    if app is not None and b.flatpak is not None:
        yield "flatpak", app / b.flatpak.manifest_dir / MANIFEST_FILE
