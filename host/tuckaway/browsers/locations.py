"""Where a browser reads our manifest on this machine, and whether the browser is here.

:func:`locations` is the one list install writes to and doctor checks: every
manifest file (Linux, macOS, a Flatpak's sandbox) or registry key (Windows;
its default value names the manifest file) a browser of the table reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tuckaway import HOST_NAME
from tuckaway.browsers.platform import Platform, Scope
from tuckaway.browsers.table import Browser

MANIFEST_FILE = f"{HOST_NAME}.json"
Variant = Literal["native", "flatpak"]
# Windows: one manifest per family in our own folder; the registry keys point at it. The
# 64-bit and 32-bit views of HKLM are separate keys; HKCU\Software is shared by both.
WINDOWS_HIVES: dict[Scope, tuple[str, ...]] = {"user": ("HKCU",), "system": ("HKLM", "HKLM32")}
# Where a bare program name is looked for, besides PATH (under the platform's root).
BIN_DIRS = ("/usr/bin", "/usr/local/bin", "/bin", "/snap/bin", "/var/lib/flatpak/exports/bin")


@dataclass(frozen=True)
class Location:
    """One place ``browser`` reads a manifest from."""

    browser: str
    scope: Scope
    variant: Variant
    manifest: Path
    registry: tuple[str, str] | None = None  # (hive, key) whose default value names `manifest`

    @property
    def where(self) -> str:
        if self.registry is not None:
            return "\\".join(self.registry)
        return "flatpak" if self.variant == "flatpak" else self.scope


def windows_manifest_dir(platform: Platform, b: Browser, scope: Scope) -> Path:
    base = platform.expand("{programdata}" if scope == "system" else "{local}")
    return base / "Tuckaway" / "NativeMessagingHosts" / b.family


def locations(platform: Platform, b: Browser, scope: Scope | None = None) -> list[Location]:
    """Every place ``b`` reads our manifest from (``scope``: only those of one scope)."""
    scopes: tuple[Scope, ...] = (scope,) if scope else ("user", "system")
    places = b.on(platform.os)
    out: list[Location] = []
    for s in scopes:
        if platform.os == "windows":
            manifest = windows_manifest_dir(platform, b, s) / MANIFEST_FILE
            for key in places.keys:
                for hive in WINDOWS_HIVES[s]:
                    out.append(
                        Location(b.key, s, "native", manifest, (hive, f"{key}\\{HOST_NAME}"))
                    )
            continue
        for template in places.user if s == "user" else places.system:
            out.append(Location(b.key, s, "native", platform.expand(template) / MANIFEST_FILE))
    app = flatpak_dir(platform, b)
    if "user" in scopes and app is not None and b.flatpak is not None:
        manifest = app / b.flatpak.manifest_dir / MANIFEST_FILE
        out.append(Location(b.key, "user", "flatpak", manifest))
    return out


def user_data_dir_location(b: Browser, user_data_dir: Path) -> Location:
    """A Chromium-family browser run with ``--user-data-dir DIR`` reads DIR/NativeMessagingHosts."""
    return Location(b.key, "user", "native", user_data_dir / "NativeMessagingHosts" / MANIFEST_FILE)


# -- is the browser here? ------------------------------------------------------------------


def flatpak_dir(platform: Platform, b: Browser) -> Path | None:
    """``~/.var/app/<id>`` when the Flatpak of ``b`` is installed (even if never started)."""
    if platform.os != "linux" or b.flatpak is None:
        return None
    app_id = b.flatpak.app_id
    app = platform.home / ".var" / "app" / app_id
    installed = (
        platform.home / ".local" / "share" / "flatpak" / "app" / app_id,
        platform.system_path(f"/var/lib/flatpak/app/{app_id}"),
    )
    return app if app.is_dir() or any(p.is_dir() for p in installed) else None


def snap_dir(platform: Platform, b: Browser) -> Path | None:
    if platform.os != "linux" or b.snap is None:
        return None
    for snap in (platform.home / "snap" / b.snap, platform.system_path(f"/snap/{b.snap}")):
        if snap.is_dir():
            return snap
    return None


def find_program(platform: Platform, name: str) -> Path | None:
    """A program path template, or a bare name on PATH (only on the real root) and BIN_DIRS."""
    if "/" in name or "{" in name:
        path = platform.expand(name)
        return path if path.exists() else None
    dirs = [platform.system_path(d) for d in BIN_DIRS]
    dirs.append(platform.home / ".local" / "bin")
    if platform.root == Path("/"):
        dirs += [Path(d) for d in platform.env.get("PATH", "").split(":") if d]
    for d in dirs:
        if (d / name).is_file():
            return d / name
    return None


def found_by(platform: Platform, b: Browser) -> str | None:
    """Why we think ``b`` is on this machine (a profile, a program, a Flatpak, a Snap), or None."""
    places = b.on(platform.os)
    for template in places.profile:
        if platform.expand(template).exists():
            return f"profile {platform.expand(template)}"
    for name in places.programs:
        program = find_program(platform, name)
        if program is not None:
            return f"program {program}"
    app = flatpak_dir(platform, b)
    if app is not None and b.flatpak is not None:
        return f"Flatpak {b.flatpak.app_id}"
    snap = snap_dir(platform, b)
    return f"Snap {snap}" if snap is not None else None
