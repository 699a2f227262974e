"""``tuckaway doctor``: is everything in place, and if not, what to do about it.

For each browser: is the manifest where the browser reads it, is it valid,
does its ``path`` exist and run, does the host answer ``hello`` when started
the way that browser starts it. Then: is the keyring usable (no secret is
read or printed), is the service reachable (when one is configured), what is
queued. Every problem comes with its fix; the exit status is 1 when
something is broken.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tuckaway import HOST_NAME, __version__
from tuckaway.accounts.credentials import KEYRING_SERVICE, KeyringUnavailable, keyring_backend
from tuckaway.browsers.install import snap_advice
from tuckaway.browsers.launchers import FLATPAK_PERMISSION, flatpak_can_spawn
from tuckaway.browsers.locations import Location, found_by, locations
from tuckaway.browsers.manifest import manifest_problems, read_manifest
from tuckaway.browsers.platform import Platform
from tuckaway.browsers.table import BROWSERS, Browser
from tuckaway.context import Context
from tuckaway.ids import CHROME_ORIGIN, GECKO_EXTENSION_ID
from tuckaway.repair import quick_check
from tuckaway.settings import DEFAULT_POCKET_URL, Settings

Status = Literal["ok", "warn", "fail", "info"]
HELLO_TIMEOUT_S = 10.0
SERVICE_TIMEOUT_S = 5.0
# What a browser passes on to the host it starts, at least: a desktop session's basics.
BROWSER_PATH = "/usr/bin:/bin"
KEPT_ENV = (
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "DBUS_SESSION_BUS_ADDRESS",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "SYSTEMROOT",
    "LOCALAPPDATA",
    "APPDATA",
)


@dataclass
class Check:
    area: str
    status: Status
    message: str
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"area": self.area, "status": self.status, "message": self.message, "fix": self.fix}


# -- browsers ------------------------------------------------------------------------


def registered(platform: Platform, b: Browser) -> list[tuple[Location, Path]]:
    """(location, manifest path) for every place ``b`` reads that holds a registration."""
    out: list[tuple[Location, Path]] = []
    for loc in locations(platform, b):
        if loc.registry is not None:
            value = platform.registry.get_default(*loc.registry) if platform.registry else None
            if value:
                out.append((loc, Path(value)))
        elif loc.manifest.exists():
            out.append((loc, loc.manifest))
    return out


def browser_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The minimal environment a browser started from a desktop gives the host."""
    env = {k: environ[k] for k in KEPT_ENV if k in environ}
    env.update({k: v for k, v in environ.items() if k.startswith("TUCKAWAY_")})
    env["PATH"] = BROWSER_PATH
    return env


def browser_args(b: Browser, platform: Platform, manifest_path: Path) -> list[str]:
    """The arguments ``b`` passes to the host it starts."""
    if b.family == "chrome":
        args = [CHROME_ORIGIN]
        if platform.os == "windows":
            args.append("--parent-window=0")
        return args
    return [str(manifest_path), GECKO_EXTENSION_ID]


def probe_hello(
    command: Sequence[str], timeout: float = HELLO_TIMEOUT_S, env: dict[str, str] | None = None
) -> tuple[dict[str, Any] | None, str]:
    """Start ``command``, send one ``hello`` frame; (the reply or None, what went wrong)."""
    body = json.dumps({"id": "doctor", "op": "hello"}).encode()
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
    except OSError as exc:
        return None, f"cannot start it: {exc.strerror or exc}"
    result: dict[str, Any] = {}

    def read() -> None:
        assert proc.stdout is not None
        header = proc.stdout.read(4)
        if len(header) == 4:
            (length,) = struct.unpack("=I", header)
            result["body"] = proc.stdout.read(length)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert proc.stdin is not None
        proc.stdin.write(struct.pack("=I", len(body)) + body)
        proc.stdin.flush()
        proc.stdin.close()
    except OSError:
        pass
    reader.join(timeout)
    elapsed = time.monotonic() - started
    if reader.is_alive():
        proc.kill()
    try:
        code = proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    assert proc.stderr is not None
    err = proc.stderr.read().decode("utf-8", "replace").strip().splitlines()
    tail = err[-1] if err else ""
    if "body" in result:
        try:
            reply = json.loads(result["body"])
        except ValueError:
            return None, "it wrote something that is not JSON on stdout"
        if isinstance(reply, dict) and reply.get("ok") is True:
            reply["_elapsed_s"] = round(elapsed, 3)
            return reply, ""
        return None, f"it answered with an error: {reply!r}"[:300]
    if reader.is_alive() or code in (-9, None):
        return None, f"no answer within {timeout:g}s"
    return None, f"it exited with status {code} without answering" + (f" ({tail})" if tail else "")


def _says(b: Browser, what: str) -> str:
    """The error text the browser shows the extension for ``what``."""
    texts = {
        ("chrome", "not_found"): "Specified native messaging host not found.",
        ("chrome", "exited"): "Native host has exited.",
        ("firefox", "not_found"): f"No such native application {HOST_NAME}",
        ("firefox", "exited"): "An unexpected error occurred",
    }
    return f"the extension sees '{texts[(b.family, what)]}'"


def check_browser(
    platform: Platform,
    b: Browser,
    timeout: float = HELLO_TIMEOUT_S,
    env: Mapping[str, str] | None = None,
) -> list[Check]:
    """Every registration of ``b``: one check each; or why there is none."""
    found = registered(platform, b)
    snap = snap_advice(platform, b)
    # A Chrome-family Snap cannot start the host at all: say why, not "not registered".
    checks = (
        [] if snap is None else [Check(b.key, "info" if b.family == "firefox" else "warn", snap)]
    )
    if not found:
        if found_by(platform, b) is not None and not (snap and b.family == "chrome"):
            message = f"{b.label}: {HOST_NAME} is not registered, so {_says(b, 'not_found')}"
            return [Check(b.key, "fail", message, _reinstall(b)), *checks]
        return checks or [Check(b.key, "info", f"{b.label}: not found on this machine")]
    run_env = browser_env(os.environ if env is None else env)
    for loc, manifest_path in found:
        checks.append(check_location(platform, b, loc, manifest_path, timeout, run_env))
    return checks


def check_location(
    platform: Platform,
    b: Browser,
    loc: Location,
    manifest_path: Path,
    timeout: float,
    env: dict[str, str],
) -> Check:
    """One registration: the manifest, the program it names, and a hello through it."""
    label = f"{b.label} ({loc.where})"
    manifest = _read(b, label, manifest_path)
    if isinstance(manifest, Check):
        return manifest
    path = Path(manifest["path"])
    broken = _program_problem(platform, b, label, path)
    if broken is not None:
        return broken
    if loc.variant == "flatpak" and _is_spawn_wrapper(path):
        return _check_flatpak(platform, b, label, path)
    if platform.os == "windows" and sys.platform != "win32":
        return Check(b.key, "ok", f"{label}: {manifest_path} -> {path}")
    return _check_hello(platform, b, label, manifest_path, path, timeout, env)


def _reinstall(b: Browser) -> str:
    return f"tuckaway install --browser {b.key}"


def _read(b: Browser, label: str, manifest_path: Path) -> dict[str, Any] | Check:
    """The manifest, if a browser would accept it; else the failed check saying why."""
    try:
        manifest = read_manifest(manifest_path)
    except FileNotFoundError:
        message = f"{label}: the registry names {manifest_path}, which is missing"
        return Check(b.key, "fail", message, _reinstall(b))
    except (OSError, ValueError) as exc:
        message = f"{label}: {manifest_path} is not valid JSON ({exc})"
        return Check(b.key, "fail", message, _reinstall(b))
    problems = manifest_problems(manifest, b.family)
    if problems:
        message = f"{label}: {manifest_path}: " + "; ".join(problems)
        return Check(b.key, "fail", message, _reinstall(b))
    assert isinstance(manifest, dict)
    return manifest


def _program_problem(platform: Platform, b: Browser, label: str, path: Path) -> Check | None:
    if not path.is_file():
        message = f"{label}: the manifest names {path}, which does not exist ({_says(b, 'exited')})"
        fix = f"{_reinstall(b)}  (after reinstalling Tuckaway if it was removed)"
        return Check(b.key, "fail", message, fix)
    if platform.os != "windows" and not os.access(path, os.X_OK):
        return Check(b.key, "fail", f"{label}: {path} is not executable", f"chmod +x '{path}'")
    return None


def _check_hello(
    platform: Platform,
    b: Browser,
    label: str,
    manifest_path: Path,
    path: Path,
    timeout: float,
    env: dict[str, str],
) -> Check:
    """Start exactly the manifest's path as ``b`` would and ask it ``hello``."""
    reply, why = probe_hello([str(path), *browser_args(b, platform, manifest_path)], timeout, env)
    if reply is None:
        message = (
            f"{label}: {path} did not answer hello when started as {b.label} starts "
            f"it (PATH={BROWSER_PATH}): {why} ({_says(b, 'exited')})"
        )
        fix = (
            f"run `{path} --version` to see it start, and read the log "
            f"(`tuckaway status` shows where); then {_reinstall(b)}"
        )
        return Check(b.key, "fail", message, fix)
    version = reply.get("result", {}).get("version")
    if version != __version__:
        message = (
            f"{label}: {path} is version {version}, not {__version__} (a stale copy or an "
            "older install)"
        )
        return Check(b.key, "fail", message, _reinstall(b))
    return Check(
        b.key,
        "ok",
        f"{label}: {manifest_path} -> {path}; answers hello "
        f"(version {version}, {reply['_elapsed_s']:.2f}s)",
    )


def _is_spawn_wrapper(path: Path) -> bool:
    try:
        return b"flatpak-spawn --host" in path.read_bytes()[:512]
    except OSError:
        return False


def _check_flatpak(platform: Platform, b: Browser, label: str, wrapper: Path) -> Check:
    assert b.flatpak is not None
    app_id = b.flatpak.app_id
    if not flatpak_can_spawn(platform, app_id):
        return Check(
            b.key,
            "warn",
            f"{label}: the sandbox may not start the host outside it",
            f"flatpak override --user --talk-name={FLATPAK_PERMISSION} {app_id}",
        )
    return Check(b.key, "ok", f"{label}: {wrapper} (via flatpak-spawn --host)")


# -- keyring, service, queue --------------------------------------------------------------


def check_keyring(linked: bool, timeout: float = 5.0) -> Check:
    try:
        backend = keyring_backend()
    except KeyringUnavailable as exc:
        return Check(
            "keyring",
            "fail" if linked else "warn",
            "keyring: not usable",
            exc.message + ("" if linked else " (needed once you link an account)"),
        )
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    outcome: dict[str, str] = {}

    def probe() -> None:
        try:
            # Reads an entry nobody writes: proves the keyring answers, reveals nothing.
            backend.get_password(KEYRING_SERVICE, "doctor-probe")
            outcome["ok"] = ""
        except Exception as exc:
            outcome["error"] = type(exc).__name__

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout)
    if "ok" in outcome:
        return Check("keyring", "ok", f"keyring: {name} answers")
    why = outcome.get("error") or f"no answer within {timeout:g}s (locked?)"
    return Check(
        "keyring",
        "fail" if linked else "warn",
        f"keyring: {name} does not answer: {why}",
        "unlock the keyring (log in to the desktop session) or start gnome-keyring-daemon "
        "--unlock inside a dbus session",
    )


def check_service(url: str, timeout: float = SERVICE_TIMEOUT_S) -> Check:
    req = urllib.request.Request(url.rstrip("/") + "/v3/get", method="GET")  # noqa: S310
    started = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            status = resp.status
    except urllib.error.HTTPError as exc:
        status = exc.code  # any HTTP answer means the service is there
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Check(
            "service",
            "fail",
            f"service: {url} is not reachable ({reason})",
            "check the network and the pocket_url setting (`tuckaway status`); saves wait in "
            "the queue and are sent when it is back",
        )
    elapsed = time.monotonic() - started
    return Check("service", "ok", f"service: {url} answers (HTTP {status}, {elapsed:.2f}s)")


def check_queue(counts: dict[str, int]) -> Check:
    waiting, held, failed = (counts.get(k, 0) for k in ("pending", "held", "failed"))
    message = f"queue: {waiting} waiting, {held} held, {failed} failed"
    if failed:
        return Check(
            "queue",
            "warn",
            message,
            "`tuckaway queue` shows why; `tuckaway queue retry` tries again, "
            "`tuckaway queue drop ID` forgets one",
        )
    if held:
        return Check("queue", "warn", message, "link the account again: tuckaway login pocket")
    return Check("queue", "info", message)


def run(
    platform: Platform,
    settings: Settings,
    browsers: Sequence[Browser] = BROWSERS,
    env: dict[str, str] | None = None,
    timeout: float = HELLO_TIMEOUT_S,
) -> list[Check]:
    checks: list[Check] = []
    for b in browsers:
        checks.extend(check_browser(platform, b, timeout, env))
    if all(c.status == "info" for c in checks):
        checks.append(
            Check(
                "browsers",
                "fail",
                f"{HOST_NAME} is registered with no browser",
                "tuckaway install --browser NAME (names: "
                + ", ".join(b.key for b in BROWSERS)
                + ")",
            )
        )
    linked = False
    counts: dict[str, int] = {}
    damage = quick_check(settings.paths.db_path) if settings.paths.db_path.exists() else None
    pocket_linked = False
    if damage is not None:
        checks.append(
            Check(
                "database",
                "fail",
                f"the database {settings.paths.db_path} is damaged ({damage})",
                "tuckaway repair (it keeps a copy and recovers what can be read)",
            )
        )
    elif settings.paths.db_path.exists():
        ctx = Context(settings)
        try:
            accounts = ctx.accounts()
            linked = any(a.get("linked") for a in accounts.values())
            pocket_linked = bool(accounts.get("pocket", {}).get("linked"))
            counts = ctx.outbox.counts()
        finally:
            ctx.db.close()
    checks.append(check_keyring(linked))
    environ = os.environ if env is None else env
    if (
        pocket_linked
        or environ.get("TUCKAWAY_POCKET_URL")
        or (settings.pocket_url != DEFAULT_POCKET_URL)
    ):
        checks.append(check_service(settings.pocket_url))
    else:
        checks.append(Check("service", "info", "service: none linked (saves go to the local list)"))
    checks.append(check_queue(counts))
    return checks
