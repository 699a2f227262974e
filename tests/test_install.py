"""`tuckaway install` / `uninstall`: every browser on every OS layout, under a temporary home.

Linux, macOS and Windows layouts are all exercised on this machine: paths come
from a Platform (home, environment, a root for system-wide paths) and the
Windows registry is a MemoryRegistry. The registered host is then started the
way each browser starts it, and must answer `hello`.
"""

from __future__ import annotations

import json
import os
import site
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from support.hostproc import HostProcess, run_cli
from tuckaway import HOST_NAME
from tuckaway.browsers.install import install, uninstall
from tuckaway.browsers.locations import MANIFEST_FILE, locations
from tuckaway.browsers.manifest import manifest_problems
from tuckaway.browsers.platform import Platform
from tuckaway.browsers.record import read_record
from tuckaway.browsers.registry import MemoryRegistry
from tuckaway.browsers.table import BROWSERS, Browser
from tuckaway.ids import CHROME_ORIGIN, GECKO_EXTENSION_ID

OSES = ["linux", "darwin", "windows"]
WRONG_ORIGIN = "chrome-extension://" + "a" * 32 + "/"


def write_host_wrapper(path: Path, env: dict[str, str]) -> Path:
    """The host as an installed program: a script running `python -m tuckaway.wire.host` in the test env."""
    lines = ["#!/bin/sh"]
    for key in sorted(k for k in env if k.startswith(("TUCKAWAY_", "PYTHON"))):
        value = env[key].replace("'", "'\"'\"'")
        lines.append(f"export {key}='{value}'")
    lines.append(f'exec \'{sys.executable}\' -m tuckaway.wire.host "$@"')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", "utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def make_platform(tmp_path: Path, os_name: str) -> Platform:
    home = tmp_path / "userhome"
    home.mkdir(parents=True, exist_ok=True)
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    registry = MemoryRegistry() if os_name == "windows" else None
    return Platform(os_name, home, {}, root, registry)  # type: ignore[arg-type]


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def host_path(tmp_path: Path, env: dict[str, str]) -> Path:
    # Named .exe so the Windows layout registers it directly (no .bat, which Linux cannot run).
    return write_host_wrapper(tmp_path / "bin" / "tuckaway-host.exe", env)


def tree(*roots: Path) -> set[str]:
    return {str(p) for r in roots for p in r.rglob("*")}


def start_like_browser(b: Browser, platform: Platform, manifest_path: Path,
                       env: dict[str, str], caller: str | None = None) -> HostProcess:
    """Start the manifest's `path` as this browser would, with the arguments it passes."""
    manifest = json.loads(manifest_path.read_text("utf-8"))
    path = manifest["path"]
    if b.family == "chrome":
        args = [caller or CHROME_ORIGIN]
        if platform.os == "windows":
            args.append("--parent-window=0")
    else:
        args = [str(manifest_path), caller or GECKO_EXTENSION_ID]
    return HostProcess(env, command=[path], args=args)


# -- every browser, every layout ---------------------------------------------------


@pytest.mark.parametrize("os_name", OSES)
@pytest.mark.parametrize("b", BROWSERS, ids=lambda b: b.key)
def test_user_install_writes_a_manifest_the_browser_accepts(
    tmp_path: Path, state_dir: Path, host_path: Path, os_name: str, b: Browser
) -> None:
    platform = make_platform(tmp_path, os_name)
    report = install(platform, state_dir, [b], host_path)
    if not locations(platform, b, "user"):  # Arc exists on macOS only
        assert report.installed == [] and report.skipped[0]["browser"] == b.key
        return
    assert {e.browser for e in report.installed} == {b.key}
    assert len(report.installed) == len(locations(platform, b, "user"))
    entry = report.installed[0]
    manifest_path = Path(entry.manifest)
    assert manifest_path.name == MANIFEST_FILE
    assert manifest_path.is_relative_to(platform.home)
    manifest = json.loads(manifest_path.read_text("utf-8"))
    assert manifest_problems(manifest, b.family) == []
    assert manifest["name"] == HOST_NAME
    assert Path(manifest["path"]).is_absolute() and Path(manifest["path"]).is_file()
    assert os.access(manifest["path"], os.X_OK)
    if b.family == "chrome":
        assert manifest["allowed_origins"] == [CHROME_ORIGIN]
        assert "allowed_extensions" not in manifest
    else:
        assert manifest["allowed_extensions"] == [GECKO_EXTENSION_ID]
        assert "allowed_origins" not in manifest
    if os_name == "windows":
        assert isinstance(platform.registry, MemoryRegistry)
        key = f"{b.windows.keys[0]}\\{HOST_NAME}"
        assert platform.registry.get_default("HKCU", key) == str(manifest_path)
        assert platform.registry.get_default("HKLM", key) is None
    else:
        assert entry.registry is None


# One browser per way of being started (Chrome, a fork reading Chrome's places, Firefox,
# forks reading their own and Mozilla's): starting a host per row of the table adds nothing.
STARTED = [b for b in BROWSERS if b.key in {"chrome", "brave", "firefox", "librewolf", "zen"}]


@pytest.mark.parametrize("os_name", OSES)
@pytest.mark.parametrize("b", STARTED, ids=lambda b: b.key)
def test_the_registered_host_answers_hello_when_started_the_browsers_way(
    tmp_path: Path, state_dir: Path, host_path: Path, env: dict[str, str], os_name: str,
    b: Browser,
) -> None:
    platform = make_platform(tmp_path, os_name)
    if not locations(platform, b, "user"):
        pytest.skip(f"{b.label} has no native messaging on {os_name}")
    entry = install(platform, state_dir, [b], host_path).installed[0]
    with start_like_browser(b, platform, Path(entry.manifest), env) as host:
        reply = host.request({"id": "h", "op": "hello"})
    assert reply["ok"] is True, reply
    assert reply["result"]["protocol"] == 1


@pytest.mark.parametrize("b", [b for b in BROWSERS if b.key in {"chrome", "firefox"}],
                         ids=lambda b: b.key)
def test_a_caller_that_is_not_allowed_gets_nothing(
    tmp_path: Path, state_dir: Path, host_path: Path, env: dict[str, str], b: Browser
) -> None:
    platform = make_platform(tmp_path, "linux")
    entry = install(platform, state_dir, [b], host_path).installed[0]
    caller = WRONG_ORIGIN if b.family == "chrome" else "evil@example.org"
    host = start_like_browser(b, platform, Path(entry.manifest), env, caller=caller)
    host.send({"id": 1, "op": "hello"})
    code = host.wait(timeout=30)
    assert code != 0
    assert bytes(host.raw_stdout) == b""
    assert b"refused" in bytes(host.stderr)


@pytest.mark.parametrize("os_name", OSES)
@pytest.mark.parametrize("b", BROWSERS, ids=lambda b: b.key)
def test_system_install_goes_to_the_system_place_or_says_why_not(
    tmp_path: Path, state_dir: Path, host_path: Path, os_name: str, b: Browser
) -> None:
    platform = make_platform(tmp_path, os_name)
    report = install(platform, state_dir, [b], host_path, system=True)
    if not locations(platform, b, "system"):
        assert report.installed == []
        assert report.skipped[0]["browser"] == b.key
        if locations(platform, b, "user"):
            assert f"--browser {b.key}" in report.skipped[0]["reason"]
        return
    entry = report.installed[0]
    manifest_path = Path(entry.manifest)
    assert not manifest_path.is_relative_to(platform.home)
    assert manifest_path.is_relative_to(platform.root)
    assert manifest_problems(json.loads(manifest_path.read_text("utf-8")), b.family) == []
    if os_name == "windows":
        assert platform.registry is not None
        key = f"{b.windows.keys[0]}\\{HOST_NAME}"
        assert platform.registry.get_default("HKLM", key) == str(manifest_path)
        assert platform.registry.get_default("HKCU", key) is None


@pytest.mark.parametrize("os_name", OSES)
def test_uninstall_leaves_nothing_behind(
    tmp_path: Path, state_dir: Path, host_path: Path, os_name: str
) -> None:
    platform = make_platform(tmp_path, os_name)
    before = tree(platform.home, platform.root)
    install(platform, state_dir, BROWSERS, host_path)
    install(platform, state_dir, BROWSERS, host_path, system=True)
    assert tree(platform.home, platform.root) != before
    report = uninstall(platform, state_dir)
    assert report.removed
    assert tree(platform.home, platform.root) == before
    assert read_record(state_dir) == []
    if isinstance(platform.registry, MemoryRegistry):
        assert platform.registry.values == {}


def test_uninstall_of_one_browser_keeps_what_another_shares(
    tmp_path: Path, state_dir: Path, host_path: Path
) -> None:
    # On Windows, Opera reads Chrome's registry key, and Chrome-family browsers share one manifest.
    platform = make_platform(tmp_path, "windows")
    by_key = {b.key: b for b in BROWSERS}
    install(platform, state_dir, [by_key["chrome"], by_key["opera"], by_key["edge"]], host_path)
    uninstall(platform, state_dir, [by_key["opera"]])
    assert platform.registry is not None
    chrome_key = f"{by_key['chrome'].windows.keys[0]}\\{HOST_NAME}"
    manifest = platform.registry.get_default("HKCU", chrome_key)
    assert manifest is not None and Path(manifest).is_file()
    uninstall(platform, state_dir, [by_key["chrome"]])
    assert platform.registry.get_default("HKCU", chrome_key) is None
    edge_key = f"{by_key['edge'].windows.keys[0]}\\{HOST_NAME}"
    assert platform.registry.get_default("HKCU", edge_key) == manifest
    assert Path(manifest).is_file()


def test_uninstall_does_not_remove_a_manifest_someone_else_replaced(
    tmp_path: Path, state_dir: Path, host_path: Path
) -> None:
    platform = make_platform(tmp_path, "linux")
    entry = install(platform, state_dir, [BROWSERS[0]], host_path).installed[0]
    Path(entry.manifest).write_text(json.dumps({"name": "com.other.host"}), "utf-8")
    uninstall(platform, state_dir)
    assert Path(entry.manifest).is_file()


def test_windows_host_that_is_not_an_exe_gets_a_bat_launcher(
    tmp_path: Path, state_dir: Path, env: dict[str, str]
) -> None:
    platform = make_platform(tmp_path, "windows")
    script = write_host_wrapper(tmp_path / "bin" / "tuckaway-host", env)
    entry = install(platform, state_dir, BROWSERS[:1], script).installed[0]
    manifest = json.loads(Path(entry.manifest).read_text("utf-8"))
    launcher = Path(manifest["path"])
    assert launcher.suffix == ".bat" and launcher.is_file()
    assert launcher.is_relative_to(platform.home / "AppData" / "Local")
    text = launcher.read_bytes().decode("utf-8")
    assert text.startswith("@echo off\r\n")
    assert f'"{script}" %*\r\n' in text
    uninstall(platform, state_dir)
    assert not launcher.exists()


def test_the_manifest_check_catches_what_browsers_reject() -> None:
    good: dict[str, Any] = {"name": HOST_NAME, "description": "x", "path": "/usr/bin/th",
                            "type": "stdio", "allowed_origins": [CHROME_ORIGIN]}
    assert manifest_problems(good, "chrome") == []
    assert manifest_problems({**good, "name": "Org.Tuckaway"}, "chrome")
    assert manifest_problems({**good, "path": "bin/th"}, "chrome")
    assert manifest_problems({**good, "type": "socket"}, "chrome")
    assert manifest_problems({**good, "allowed_origins": ["chrome-extension://*/"]}, "chrome")
    assert manifest_problems({**good, "allowed_origins": [CHROME_ORIGIN.rstrip("/")]}, "chrome")
    assert manifest_problems(good, "firefox")  # no allowed_extensions


def test_extra_allowed_ids_from_settings_go_to_the_right_family(
    tmp_path: Path, state_dir: Path, host_path: Path
) -> None:
    platform = make_platform(tmp_path, "linux")
    other_chrome = "b" * 32
    by_key = {b.key: b for b in BROWSERS}
    report = install(platform, state_dir, [by_key["chromium"], by_key["firefox"]], host_path,
                     extra_ids=[other_chrome, "dev@tuckaway.org"])
    chromium, firefox = (json.loads(Path(e.manifest).read_text("utf-8")) for e in report.installed)
    assert chromium["allowed_origins"] == [CHROME_ORIGIN, f"chrome-extension://{other_chrome}/"]
    assert firefox["allowed_extensions"] == [GECKO_EXTENSION_ID, "dev@tuckaway.org"]


# -- Flatpak and Snap -----------------------------------------------------------------


def fake_flatpak_spawn(bin_dir: Path) -> Path:
    """`flatpak-spawn --host CMD...` outside a sandbox is just CMD."""
    tool = bin_dir / "flatpak-spawn"
    tool.write_text('#!/bin/sh\n[ "$1" = "--host" ] && shift\nexec "$@"\n', "utf-8")
    tool.chmod(0o755)
    return tool


def test_flatpak_firefox_gets_a_manifest_in_its_sandbox_and_a_spawn_wrapper(
    tmp_path: Path, state_dir: Path, host_path: Path, env: dict[str, str]
) -> None:
    platform = make_platform(tmp_path, "linux")
    app = platform.home / ".var" / "app" / "org.mozilla.firefox"
    app.mkdir(parents=True)
    firefox = next(b for b in BROWSERS if b.key == "firefox")
    report = install(platform, state_dir, [firefox], host_path)
    flatpak = next(e for e in report.installed if e.variant == "flatpak")
    manifest_path = Path(flatpak.manifest)
    assert manifest_path == app / ".mozilla" / "native-messaging-hosts" / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text("utf-8"))
    assert manifest_problems(manifest, "firefox") == []
    wrapper = Path(manifest["path"])
    assert wrapper.is_relative_to(app)  # visible inside the sandbox
    assert f"flatpak-spawn --host '{host_path}'" in wrapper.read_text("utf-8")
    assert any("flatpak override --user --talk-name=org.freedesktop.Flatpak org.mozilla.firefox"
               in n for n in report.notes)

    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    fake_flatpak_spawn(bin_dir)
    spawn_env = {**env, "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"}
    with start_like_browser(firefox, platform, manifest_path, spawn_env) as host:
        assert host.request({"id": 1, "op": "hello"})["ok"] is True

    before = {str(p) for p in app.rglob("*")}
    assert before
    uninstall(platform, state_dir)
    assert list(app.rglob("*")) == []


def test_flatpak_with_permission_granted_needs_no_note(
    tmp_path: Path, state_dir: Path, host_path: Path
) -> None:
    platform = make_platform(tmp_path, "linux")
    (platform.home / ".var" / "app" / "org.chromium.Chromium").mkdir(parents=True)
    overrides = platform.home / ".local" / "share" / "flatpak" / "overrides"
    overrides.mkdir(parents=True)
    (overrides / "org.chromium.Chromium").write_text(
        "[Session Bus Policy]\norg.freedesktop.Flatpak=talk\n", "utf-8")
    chromium = next(b for b in BROWSERS if b.key == "chromium")
    report = install(platform, state_dir, [chromium], host_path)
    assert {e.variant for e in report.installed} == {"native", "flatpak"}
    assert report.notes == []


def test_snap_chromium_is_explained_not_installed_into(
    tmp_path: Path, state_dir: Path, host_path: Path
) -> None:
    platform = make_platform(tmp_path, "linux")
    (platform.home / "snap" / "chromium").mkdir(parents=True)
    chromium = next(b for b in BROWSERS if b.key == "chromium")
    report = install(platform, state_dir, [chromium], host_path)
    assert [e.variant for e in report.installed] == ["native"]
    reason = next(s["reason"] for s in report.skipped if s["browser"] == "chromium")
    assert "Snap" in reason and "Flatpak" in reason


def test_snap_firefox_uses_the_portal_note(tmp_path: Path, state_dir: Path,
                                           host_path: Path) -> None:
    platform = make_platform(tmp_path, "linux")
    (platform.home / "snap" / "firefox").mkdir(parents=True)
    firefox = next(b for b in BROWSERS if b.key == "firefox")
    report = install(platform, state_dir, [firefox], host_path)
    assert report.installed[0].manifest == str(
        platform.home / ".mozilla" / "native-messaging-hosts" / MANIFEST_FILE)
    assert any("portal" in n for n in report.notes)


# -- every place each browser reads (issue 18) ---------------------------------------


def by(key: str) -> Browser:
    return next(b for b in BROWSERS if b.key == key)


@pytest.mark.parametrize("os_name", OSES)
def test_every_location_of_every_browser_gets_a_manifest_or_key(
    tmp_path: Path, state_dir: Path, host_path: Path, os_name: str
) -> None:
    platform = make_platform(tmp_path, os_name)
    install(platform, state_dir, BROWSERS, host_path)
    install(platform, state_dir, BROWSERS, host_path, system=True)
    for b in BROWSERS:
        for loc in locations(platform, b):
            manifest = json.loads(loc.manifest.read_text("utf-8"))
            assert manifest_problems(manifest, b.family) == [], (b.key, loc)
            if loc.registry is not None:
                assert platform.registry is not None
                assert platform.registry.get_default(*loc.registry) == str(loc.manifest)
    recorded = {(e.browser, e.manifest, e.registry) for e in read_record(state_dir)}
    expected = {(b.key, str(loc.manifest), loc.registry)
                for b in BROWSERS for loc in locations(platform, b)}
    assert recorded == expected


def test_forks_write_where_they_really_read(tmp_path: Path) -> None:
    linux = make_platform(tmp_path / "l", "linux")
    home = linux.home
    mozilla = home / ".mozilla" / "native-messaging-hosts" / MANIFEST_FILE

    def user(p: Platform, key: str) -> list[Path]:
        return [loc.manifest for loc in locations(p, by(key), "user")]

    assert user(linux, "zen") == [mozilla]  # not ~/.zen (zen-browser/desktop#10622)
    assert user(linux, "waterfox") == [
        home / ".waterfox" / "native-messaging-hosts" / MANIFEST_FILE, mozilla]
    assert user(linux, "librewolf")[0] == (
        home / ".librewolf" / "native-messaging-hosts" / MANIFEST_FILE)
    assert user(linux, "firefox") == [mozilla]
    mac = make_platform(tmp_path / "m", "darwin")
    support = mac.home / "Library" / "Application Support"
    assert user(mac, "brave") == [  # brave/brave-browser#5272
        support / "BraveSoftware" / "Brave-Browser" / "NativeMessagingHosts" / MANIFEST_FILE,
        support / "Google" / "Chrome" / "NativeMessagingHosts" / MANIFEST_FILE,
    ]
    assert user(mac, "arc") == [
        support / "Arc" / "User Data" / "NativeMessagingHosts" / MANIFEST_FILE]
    win = make_platform(tmp_path / "w", "windows")
    keys = [loc.registry for loc in locations(win, by("brave"))]
    own, chrome = (rf"Software\BraveSoftware\Brave-Browser\NativeMessagingHosts\{HOST_NAME}",
                   rf"Software\Google\Chrome\NativeMessagingHosts\{HOST_NAME}")
    assert keys == [("HKCU", own), ("HKCU", chrome), ("HKLM", own), ("HKLM32", own),
                    ("HKLM", chrome), ("HKLM32", chrome)]
    assert next(loc.registry for loc in locations(win, by("zen"))) == (
        "HKCU", rf"Software\Mozilla\NativeMessagingHosts\{HOST_NAME}")


def test_a_browser_is_found_by_its_program_though_never_started(tmp_path: Path) -> None:
    from tuckaway.browsers.install import select_browsers

    platform = make_platform(tmp_path, "linux")
    assert select_browsers(platform) == []
    for name in ("chromium", "firefox-esr"):
        program = platform.root / "usr" / "bin" / name
        program.parent.mkdir(parents=True, exist_ok=True)
        program.write_text("#!/bin/sh\n", "utf-8")
    (platform.root / "opt" / "vivaldi").mkdir(parents=True)
    (platform.root / "opt" / "vivaldi" / "vivaldi").write_text("", "utf-8")
    (platform.home / ".zen").mkdir()  # a profile
    # A Flatpak installed for the whole system, never started: no ~/.var/app yet.
    (platform.root / "var" / "lib" / "flatpak" / "app" / "com.brave.Browser").mkdir(parents=True)
    found = [b.key for b in select_browsers(platform)]
    assert found == ["chromium", "brave", "vivaldi", "firefox", "zen"]
    # --browser with --all: the named ones and those found (install.sh passes both forms).
    both = [b.key for b in select_browsers(platform, ["arc"], all_detected=True)]
    assert both == ["arc", "chromium", "brave", "vivaldi", "firefox", "zen"]
    assert [b.key for b in select_browsers(platform, ["arc"])] == ["arc"]


def test_a_flatpak_gets_a_copy_of_the_frozen_bundle_inside_its_sandbox(
    tmp_path: Path, state_dir: Path, env: dict[str, str]
) -> None:
    platform = make_platform(tmp_path, "linux")
    bundle = tmp_path / "dist" / "tuckaway"
    (bundle / "_internal").mkdir(parents=True)
    (bundle / "_internal" / "lib.so").write_bytes(b"\0" * 64)
    host = write_host_wrapper(bundle / "tuckaway-host", env)
    app = platform.home / ".var" / "app" / "org.mozilla.firefox"
    app.mkdir(parents=True)
    before = tree(platform.home)
    report = install(platform, state_dir, [by("firefox")], host)
    flatpak = next(e for e in report.installed if e.variant == "flatpak")
    copy = app / "data" / "tuckaway" / "bundle"
    manifest = json.loads(Path(flatpak.manifest).read_text("utf-8"))
    assert manifest["path"] == str(copy / "tuckaway-host")
    assert (copy / "_internal" / "lib.so").read_bytes() == b"\0" * 64
    assert report.notes == []  # runs inside the sandbox: no permission to ask for
    with start_like_browser(by("firefox"), platform, Path(flatpak.manifest), env) as proc:
        assert proc.request({"id": 1, "op": "hello"})["ok"] is True
    uninstall(platform, state_dir)
    assert tree(platform.home) == before


def test_user_data_dir_registers_a_custom_chromium_profile(
    tmp_path: Path, host_path: Path, env: dict[str, str]
) -> None:
    cenv = cli_env(tmp_path, env)
    profile = tmp_path / "profiles" / "work"
    out = run_cli(cenv, "install", "--user-data-dir", str(profile), "--host-path",
                  str(host_path), "--json")
    assert out.returncode == 0, out.stderr
    manifest = profile / "NativeMessagingHosts" / MANIFEST_FILE
    assert [e["manifest"] for e in json.loads(out.stdout)["installed"]] == [str(manifest)]
    assert manifest_problems(json.loads(manifest.read_text("utf-8")), "chrome") == []
    assert run_cli(cenv, "uninstall").returncode == 0
    assert not (profile / "NativeMessagingHosts").exists()


# -- self-healing -----------------------------------------------------------------------


def test_heal_repoints_a_manifest_whose_host_moved_or_lost_its_python(
    tmp_path: Path, state_dir: Path, env: dict[str, str]
) -> None:
    from tuckaway.browsers.heal import heal

    platform = make_platform(tmp_path, "linux")
    old = write_host_wrapper(tmp_path / "old" / "tuckaway-host", env)
    new = write_host_wrapper(tmp_path / "new" / "tuckaway-host", env)
    entries = install(platform, state_dir, [by("chromium"), by("firefox")], old).installed
    assert heal(state_dir, new) == []  # the old one still runs: nothing to do
    # An upgraded venv: the script is there, its #! interpreter is not.
    old.write_text("#!/nonexistent/python3.9\n", "utf-8")
    healed = heal(state_dir, new)
    assert sorted(e.browser for e in healed) == ["chromium", "firefox"]
    for e in entries:
        assert json.loads(Path(e.manifest).read_text("utf-8"))["path"] == str(new)
    assert {e.target for e in read_record(state_dir)} == {str(new)}
    uninstall(platform, state_dir)
    assert not any(Path(e.manifest).exists() for e in entries)


def test_a_host_start_heals_the_manifests_of_a_moved_host(
    tmp_path: Path, state_dir: Path, env: dict[str, str]
) -> None:
    import time

    # The host as pip installs it: a script named tuckaway-host that runs main().
    new = tmp_path / "venv" / "bin" / "tuckaway-host"
    new.parent.mkdir(parents=True)
    new.write_text(f"#!{sys.executable}\nimport sys\nfrom tuckaway.wire.host import main\n"
                   "sys.exit(main())\n", "utf-8")
    new.chmod(0o755)
    old = write_host_wrapper(tmp_path / "old" / "tuckaway-host", env)
    platform = make_platform(tmp_path, "linux")
    home_state = Path(env["TUCKAWAY_HOME"]) / "state"
    entry = install(platform, home_state, [by("chromium")], old).installed[0]
    old.unlink()  # the old bundle was moved away
    with HostProcess(env, command=[str(new)], args=[CHROME_ORIGIN]) as host:
        assert host.request({"id": 1, "op": "hello"})["ok"] is True
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # healing runs on a thread after the first reply
            if json.loads(Path(entry.manifest).read_text("utf-8"))["path"] == str(new):
                break
            time.sleep(0.1)
    assert json.loads(Path(entry.manifest).read_text("utf-8"))["path"] == str(new)
    assert read_record(home_state)[0].target == str(new)


def test_a_moved_host_is_healed_by_the_next_command(tmp_path: Path, env: dict[str, str]) -> None:
    # A venv layout (bin/python beside bin/tuckaway-host) whose host the CLI finds.
    venv_bin = tmp_path / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").symlink_to(sys.executable)
    current = write_host_wrapper(venv_bin / "tuckaway-host", env)
    moved = write_host_wrapper(tmp_path / "old-bundle" / "tuckaway-host", env)
    cenv = cli_env(tmp_path, env)
    cenv["PYTHONPATH"] = os.pathsep.join([cenv["PYTHONPATH"], *site.getsitepackages()])
    out = run_cli(cenv, "install", "--browser", "chromium", "--host-path", str(moved))
    assert out.returncode == 0, out.stderr
    manifest = Path(cenv["HOME"]) / ".config" / "chromium" / "NativeMessagingHosts" / MANIFEST_FILE
    moved.unlink()
    out = subprocess.run([str(venv_bin / "python"), "-m", "tuckaway.cli", "status"],
                         env=cenv, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"it now names {current}" in out.stderr
    assert json.loads(manifest.read_text("utf-8"))["path"] == str(current)


# -- the commands, as a user runs them ------------------------------------------------------


def cli_env(tmp_path: Path, env: dict[str, str], **extra: str) -> dict[str, str]:
    """The CLI's environment: a fake home, and a fake root so this machine's browsers stay out."""
    user_home = tmp_path / "userhome"
    user_home.mkdir(exist_ok=True)
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    out = {k: v for k, v in env.items() if not k.startswith("XDG_")}
    out["HOME"] = str(user_home)
    out["TUCKAWAY_SYSTEM_ROOT"] = str(root)
    out.update(extra)
    return out


def test_install_all_registers_the_browsers_found_and_uninstall_removes_them(
    tmp_path: Path, host_path: Path, env: dict[str, str]
) -> None:
    cenv = cli_env(tmp_path, env)
    home = Path(cenv["HOME"])
    (home / ".config" / "chromium").mkdir(parents=True)
    (home / ".mozilla" / "firefox").mkdir(parents=True)
    before = tree(home)
    out = run_cli(cenv, "install", "--all", "--host-path", str(host_path), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert sorted(e["browser"] for e in result["installed"]) == ["chromium", "firefox"]
    assert result["host_path"] == str(host_path)
    chromium = home / ".config" / "chromium" / "NativeMessagingHosts" / MANIFEST_FILE
    assert json.loads(chromium.read_text("utf-8"))["path"] == str(host_path)
    assert (home / ".mozilla" / "native-messaging-hosts" / MANIFEST_FILE).is_file()

    out = run_cli(cenv, "uninstall")
    assert out.returncode == 0, out.stderr
    assert f"removed {chromium}" in out.stdout
    assert tree(home) == before


def test_install_without_a_browser_found_says_how_to_name_one(
    tmp_path: Path, host_path: Path, env: dict[str, str]
) -> None:
    out = run_cli(cli_env(tmp_path, env), "install", "--host-path", str(host_path))
    assert out.returncode == 1
    assert "--browser NAME" in out.stderr


def test_install_names_an_unknown_browser_and_the_known_ones(
    tmp_path: Path, host_path: Path, env: dict[str, str]
) -> None:
    out = run_cli(cli_env(tmp_path, env), "install", "--browser", "netscape",
                  "--host-path", str(host_path))
    assert out.returncode != 0
    assert "netscape" in out.stderr and "librewolf" in out.stderr


def test_install_refuses_a_host_path_that_does_not_exist(
    tmp_path: Path, env: dict[str, str]
) -> None:
    out = run_cli(cli_env(tmp_path, env), "install", "--browser", "chrome",
                  "--host-path", str(tmp_path / "nope"))
    assert out.returncode != 0
    assert "does not exist" in out.stderr


def test_install_finds_the_host_beside_the_python_running_it(
    tmp_path: Path, env: dict[str, str]
) -> None:
    # A venv layout: bin/python and bin/tuckaway-host side by side.
    venv_bin = tmp_path / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    python = venv_bin / "python"
    python.symlink_to(sys.executable)
    write_host_wrapper(venv_bin / "tuckaway-host", env)
    cenv = cli_env(tmp_path, env)
    # That python has no venv of its own: give it this one's packages.
    cenv["PYTHONPATH"] = os.pathsep.join([cenv["PYTHONPATH"], *site.getsitepackages()])
    out = subprocess.run(
        [str(python), "-m", "tuckaway.cli", "install", "--browser", "chrome", "--json"],
        env=cenv, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["host_path"] == str(venv_bin / "tuckaway-host")


def test_without_an_installed_host_install_asks_for_host_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sysconfig

    from tuckaway.browsers.launchers import find_host
    from tuckaway.errors import ConfigError

    lonely = tmp_path / "bin" / "python"
    lonely.parent.mkdir()
    monkeypatch.setattr(sys, "executable", str(lonely))
    monkeypatch.setattr(sysconfig, "get_path", lambda *a, **k: str(tmp_path / "scripts"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="--host-path"):
        find_host(make_platform(tmp_path, "linux"))
    (tmp_path / "scripts").mkdir()
    user_scripts_host = write_host_wrapper(tmp_path / "scripts" / "tuckaway-host", {})
    assert find_host(make_platform(tmp_path, "linux")) == user_scripts_host


# -- a real browser reads what install wrote ------------------------------------------------

HELLO_FROM_EXTENSION = """async () => {
  try {
    return {reply: await chrome.runtime.sendNativeMessage('org.tuckaway.host', {id: 'x', op: 'hello'})};
  } catch (e) {
    return {error: String((e && e.message) || e)};
  }
}"""


@pytest.mark.e2e
@pytest.mark.parametrize("case", ["installed", "forbidden", "missing", "exited"])
async def test_real_chromium_uses_what_install_wrote_and_says_what_docs_say(
    tmp_path: Path, state_dir: Path, host_path: Path, case: str
) -> None:
    from e2e.harness import CHROMIUM

    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    from e2e.chromium import launch_chromium

    platform = make_platform(tmp_path, "linux")
    chromium = next(b for b in BROWSERS if b.key == "chromium")
    if case == "exited":
        host_path.write_text("#!/bin/sh\nexit 1\n", "utf-8")
    if case != "missing":
        entry = install(platform, state_dir, [chromium], host_path).installed[0]
        if case == "forbidden":
            manifest = json.loads(Path(entry.manifest).read_text("utf-8"))
            manifest["allowed_origins"] = ["chrome-extension://" + "b" * 32 + "/"]
            Path(entry.manifest).write_text(json.dumps(manifest), "utf-8")
    # The default profile folder: where Chromium reads NativeMessagingHosts/ for this user.
    profile = platform.home / ".config" / "chromium"
    async with async_playwright() as pw, launch_chromium(pw, profile) as browser:
        answer = await browser.sw(HELLO_FROM_EXTENSION)
    if case == "installed":
        assert answer["reply"]["ok"] is True, answer
        assert answer["reply"]["result"]["protocol"] == 1
    elif case == "forbidden":
        assert answer == {"error": "Access to the specified native messaging host is forbidden."}
    elif case == "exited":
        # Which one depends on whether Chromium sees the exit or the broken pipe first.
        assert answer["error"] in {
            "Native host has exited.",
            "Error when communicating with the native messaging host.",
        }, answer
    else:
        assert answer == {"error": "Specified native messaging host not found."}


FIREFOX_HELLO = (
    "browser.runtime.sendNativeMessage('org.tuckaway.host', {id: 'x', op: 'hello'})"
    ".then(r => JSON.stringify({reply: r}), e => JSON.stringify({error: String(e && e.message)}))"
)


@pytest.mark.e2e
@pytest.mark.parametrize("case", ["installed", "forbidden", "missing", "exited"])
async def test_real_firefox_uses_what_install_wrote(
    tmp_path: Path, state_dir: Path, host_path: Path, case: str
) -> None:
    from e2e.harness import FIREFOX, GECKO_ID

    if not os.access(FIREFOX, os.X_OK):
        pytest.skip(f"{FIREFOX} is not installed (apt-get install firefox-esr)")
    from e2e.firefox import launch_firefox

    platform = make_platform(tmp_path, "linux")
    firefox = next(b for b in BROWSERS if b.key == "firefox")
    if case == "exited":
        host_path.write_text("#!/bin/sh\nexit 1\n", "utf-8")
    if case != "missing":
        entry = install(platform, state_dir, [firefox], host_path).installed[0]
        if case == "forbidden":
            manifest = json.loads(Path(entry.manifest).read_text("utf-8"))
            manifest["allowed_extensions"] = ["someone-else@example.org"]
            Path(entry.manifest).write_text(json.dumps(manifest), "utf-8")
    async with launch_firefox(tmp_path, platform.home) as browser:
        assert await browser.install_extension() == GECKO_ID
        page = await browser.open_extension_page("options/options.html")
        answer = json.loads(await browser.evaluate(page, FIREFOX_HELLO))
    if case == "installed":
        assert answer["reply"]["ok"] is True, answer
    elif case == "exited":
        assert answer == {"error": "An unexpected error occurred"}
    else:
        # Firefox ignores a manifest that does not allow the add-on: both read "not found".
        assert answer == {"error": "No such native application org.tuckaway.host"}


@pytest.mark.skipif(sys.platform != "win32", reason="the real registry exists only on Windows")
def test_the_real_windows_registry_sets_reads_and_deletes_a_host_key() -> None:
    from tuckaway.browsers.registry import system_registry

    registry = system_registry()
    assert registry is not None
    parent = f"Software\\Tuckaway-test-{os.getpid()}"
    key = f"{parent}\\{HOST_NAME}"
    try:
        registry.set_default("HKCU", key, "C:\\tuckaway\\manifest.json")
        assert registry.get_default("HKCU", key) == "C:\\tuckaway\\manifest.json"
        assert registry.delete_key("HKCU", key) is True
        assert registry.get_default("HKCU", key) is None
        assert registry.delete_key("HKCU", key) is False
    finally:
        registry.delete_key("HKCU", key)
        registry.delete_key("HKCU", parent)


def test_the_install_guide_lists_every_browser_of_the_table() -> None:
    guide = (Path(__file__).resolve().parents[1] / "docs" / "install.md").read_text("utf-8")
    missing = [b.key for b in BROWSERS if f"(`{b.key}`)" not in guide]
    assert missing == [], "docs/install.md's table misses these: regenerate it from table.py"
