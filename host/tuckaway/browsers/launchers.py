"""The program a manifest names: finding ``tuckaway-host``, the Windows .bat, Flatpak wrapper."""

from __future__ import annotations

import os
import re
import shutil
import stat
import sys
import sysconfig
from pathlib import Path

from tuckaway.browsers.platform import Platform
from tuckaway.errors import ConfigError

FLATPAK_PERMISSION = "org.freedesktop.Flatpak"
WINDOWS_RUNNABLE = {".exe", ".bat", ".cmd"}


def find_host(platform: Platform, explicit: str | os.PathLike[str] | None = None) -> Path:
    """The absolute path of the installed ``tuckaway-host``.

    ``--host-path`` wins; then the host beside the Python (or frozen program)
    running us, a venv's bin or Scripts; then this Python's scripts folders
    (``pip install --user``); then ``tuckaway-host`` on PATH.
    """
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_absolute():
            path = Path.cwd() / path
        if not path.is_file():
            raise ConfigError(f"--host-path {path} does not exist (or is not a file)")
        return path
    name = "tuckaway-host" + platform.exe_suffix
    candidates = [Path(sys.executable).parent / name]
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
        "(see docs/install.md) or pass --host-path /absolute/path/to/tuckaway-host"
    )


def windows_launcher_path(platform: Platform, host: Path, system: bool) -> Path | None:
    """Where the .bat goes when ``host`` is not something Windows browsers start directly."""
    if platform.os != "windows" or host.suffix.lower() in WINDOWS_RUNNABLE:
        return None
    return (
        platform.expand("{programdata}" if system else "{local}") / "Tuckaway" / "tuckaway-host.bat"
    )


def write_windows_launcher(host: Path, target: Path) -> Path:
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


def write_flatpak_wrapper(host: Path, target: Path, app_id: str) -> Path:
    """A script inside the sandbox that starts ``host`` outside it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    quoted = "'" + str(host).replace("'", "'\"'\"'") + "'"
    target.write_text(
        "#!/bin/sh\n"
        f"# Written by `tuckaway install`: the Flatpak {app_id} starts the Tuckaway host\n"
        f"# outside its sandbox (needs --talk-name={FLATPAK_PERMISSION}).\n"
        f'exec flatpak-spawn --host {quoted} "$@"\n',
        "utf-8",
    )
    make_executable(target)
    return target


def make_executable(path: Path) -> None:
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
