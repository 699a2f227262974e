"""`tuckaway doctor`: healthy and broken setups, each problem with its fix."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest
from aiohttp import web

from support.hostproc import run_cli
from test_install import cli_env, make_platform, write_host_wrapper
from tuckaway import HOST_NAME
from tuckaway.browsers.doctor import Check, check_queue, probe_hello, run
from tuckaway.browsers.install import install
from tuckaway.browsers.table import BY_KEY
from tuckaway.context import Context
from tuckaway.settings import Settings


@pytest.fixture
def settings(env: dict[str, str]) -> Settings:
    return Settings.load(env)


@pytest.fixture
def host_path(tmp_path: Path, env: dict[str, str]) -> Path:
    return write_host_wrapper(tmp_path / "bin" / "tuckaway-host.exe", env)


def browser_checks(checks: list[Check], key: str) -> list[Check]:
    return [c for c in checks if c.area == key]


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n", "utf-8")
    path.chmod(0o755)
    return path


def test_a_registered_host_that_answers_is_ok_for_each_family(
    tmp_path: Path, settings: Settings, host_path: Path
) -> None:
    platform = make_platform(tmp_path, "linux")
    install(platform, tmp_path / "state", [BY_KEY["chromium"], BY_KEY["firefox"]], host_path)
    checks = run(platform, settings, [BY_KEY["chromium"], BY_KEY["firefox"]])
    for key in ("chromium", "firefox"):
        (check,) = browser_checks(checks, key)
        assert check.status == "ok", check
        assert "answers hello" in check.message and str(host_path) in check.message
        assert check.fix is None


def test_a_manifest_naming_a_missing_program_says_reinstall(
    tmp_path: Path, settings: Settings, host_path: Path
) -> None:
    platform = make_platform(tmp_path, "linux")
    install(platform, tmp_path / "state", [BY_KEY["chromium"]], host_path)
    host_path.unlink()
    (check,) = browser_checks(run(platform, settings, [BY_KEY["chromium"]]), "chromium")
    assert check.status == "fail"
    assert "does not exist" in check.message
    assert check.fix is not None and "tuckaway install --browser chromium" in check.fix


def test_a_host_that_exits_at_once_is_reported_with_its_last_words(
    tmp_path: Path, settings: Settings
) -> None:
    platform = make_platform(tmp_path, "linux")
    dead = script(tmp_path / "bin" / "dead-host", 'echo "cannot import tuckaway" >&2; exit 1')
    install(platform, tmp_path / "state", [BY_KEY["firefox"]], dead)
    (check,) = browser_checks(run(platform, settings, [BY_KEY["firefox"]]), "firefox")
    assert check.status == "fail"
    assert "exited with status 1" in check.message
    assert "cannot import tuckaway" in check.message
    assert "the extension sees 'An unexpected error occurred'" in check.message
    assert check.fix is not None and "--version" in check.fix


def test_a_host_that_never_answers_times_out(tmp_path: Path, settings: Settings) -> None:
    platform = make_platform(tmp_path, "linux")
    mute = script(tmp_path / "bin" / "mute-host", "exec sleep 30")
    install(platform, tmp_path / "state", [BY_KEY["chrome"]], mute)
    (check,) = browser_checks(run(platform, settings, [BY_KEY["chrome"]], timeout=1), "chrome")
    assert check.status == "fail"
    assert "no answer within 1s" in check.message


def test_a_program_that_is_not_executable_gets_chmod(
    tmp_path: Path, settings: Settings, host_path: Path
) -> None:
    platform = make_platform(tmp_path, "linux")
    install(platform, tmp_path / "state", [BY_KEY["brave"]], host_path)
    host_path.chmod(host_path.stat().st_mode & ~(stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))
    (check,) = browser_checks(run(platform, settings, [BY_KEY["brave"]]), "brave")
    assert check.status == "fail"
    assert check.fix == f"chmod +x '{host_path}'"


def test_a_browser_found_but_not_registered_says_not_found_and_how_to_install(
    tmp_path: Path, settings: Settings
) -> None:
    platform = make_platform(tmp_path, "linux")
    (platform.home / ".config" / "microsoft-edge").mkdir(parents=True)
    (check,) = browser_checks(run(platform, settings, [BY_KEY["edge"]]), "edge")
    assert check.status == "fail"
    assert "the extension sees 'Specified native messaging host not found.'" in check.message
    assert check.fix == "tuckaway install --browser edge"


def test_a_manifest_a_browser_would_reject_is_named(
    tmp_path: Path, settings: Settings, host_path: Path
) -> None:
    platform = make_platform(tmp_path, "linux")
    entry = install(platform, tmp_path / "state", [BY_KEY["vivaldi"]], host_path).installed[0]
    manifest = json.loads(Path(entry.manifest).read_text("utf-8"))
    manifest["allowed_origins"] = ["chrome-extension://*/"]
    Path(entry.manifest).write_text(json.dumps(manifest), "utf-8")
    (check,) = browser_checks(run(platform, settings, [BY_KEY["vivaldi"]]), "vivaldi")
    assert check.status == "fail"
    assert "no wildcards" in check.message
    assert check.fix == "tuckaway install --browser vivaldi"


def test_nothing_registered_anywhere_is_broken(tmp_path: Path, settings: Settings) -> None:
    platform = make_platform(tmp_path, "linux")
    checks = run(platform, settings)
    assert [c.status for c in checks if c.area in BY_KEY] == ["info"] * len(BY_KEY)
    broken = [c for c in checks if c.status == "fail"]
    assert [c.area for c in broken] == ["browsers"]
    assert broken[0].fix is not None and "tuckaway install --browser" in broken[0].fix


def test_windows_layout_follows_the_registry_to_the_manifest(
    tmp_path: Path, settings: Settings, host_path: Path
) -> None:
    platform = make_platform(tmp_path, "windows")
    entry = install(platform, tmp_path / "state", [BY_KEY["edge"]], host_path).installed[0]
    (check,) = browser_checks(run(platform, settings, [BY_KEY["edge"]]), "edge")
    assert check.status == "ok"
    assert check.message.startswith(f"Microsoft Edge (HKCU\\{BY_KEY['edge'].windows.keys[0]}\\{HOST_NAME})")
    Path(entry.manifest).unlink()
    (check,) = browser_checks(run(platform, settings, [BY_KEY["edge"]]), "edge")
    assert check.status == "fail" and "missing" in check.message


def test_a_snap_chromium_is_explained_not_reported_missing(
    tmp_path: Path, settings: Settings
) -> None:
    platform = make_platform(tmp_path, "linux")
    (platform.home / "snap" / "chromium").mkdir(parents=True)
    (check,) = browser_checks(run(platform, settings, [BY_KEY["chromium"]]), "chromium")
    assert check.status == "warn"
    assert "(Snap) is confined" in check.message and "Flatpak" in check.message


def test_a_snap_firefox_gets_the_portal_note_beside_its_registration(
    tmp_path: Path, settings: Settings, host_path: Path
) -> None:
    platform = make_platform(tmp_path, "linux")
    (platform.home / "snap" / "firefox").mkdir(parents=True)
    install(platform, tmp_path / "state", [BY_KEY["firefox"]], host_path)
    checks = browser_checks(run(platform, settings, [BY_KEY["firefox"]]), "firefox")
    assert [c.status for c in checks] == ["info", "ok"]
    assert "xdg-desktop-portal" in checks[0].message


def test_flatpak_without_permission_is_a_warning_with_the_override(
    tmp_path: Path, settings: Settings, host_path: Path
) -> None:
    platform = make_platform(tmp_path, "linux")
    (platform.home / ".var" / "app" / "org.mozilla.firefox").mkdir(parents=True)
    install(platform, tmp_path / "state", [BY_KEY["firefox"]], host_path)
    checks = browser_checks(run(platform, settings, [BY_KEY["firefox"]]), "firefox")
    assert [c.status for c in checks] == ["ok", "warn"]
    assert checks[1].fix == (
        "flatpak override --user --talk-name=org.freedesktop.Flatpak org.mozilla.firefox"
    )


def test_the_queue_line_counts_what_waits_and_failures_get_a_fix(
    tmp_path: Path, settings: Settings, host_path: Path
) -> None:
    ctx = Context.open(settings)
    ctx.outbox.add_many([("pocket", "save", {"url": "https://example.org/a"})])
    ctx.db.close()
    platform = make_platform(tmp_path, "linux")
    (queue,) = [c for c in run(platform, settings, []) if c.area == "queue"]
    assert queue.message == "queue: 1 waiting, 0 held, 0 failed"
    failed = check_queue({"failed": 2})
    assert failed.status == "warn"
    assert failed.fix is not None and "tuckaway queue retry" in failed.fix


def test_probe_of_a_program_that_cannot_start(tmp_path: Path) -> None:
    reply, why = probe_hello([str(tmp_path / "nothing-here")])
    assert reply is None
    assert why.startswith("cannot start it")


# -- as a user runs it ----------------------------------------------------------------------


def test_doctor_on_a_healthy_install_exits_zero(
    tmp_path: Path, env: dict[str, str], host_path: Path
) -> None:
    cenv = cli_env(tmp_path, env)
    out = run_cli(cenv, "install", "--browser", "chromium", "--host-path", str(host_path))
    assert out.returncode == 0, out.stderr
    out = run_cli(cenv, "doctor")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ok    Chromium (user):" in out.stdout
    assert "ok    keyring: testkeyring.TestKeyring answers" in out.stdout
    assert out.stdout.rstrip().endswith("all good")

    out = run_cli(cenv, "doctor", "--json", "--browser", "chromium")
    report = json.loads(out.stdout)
    assert report["ok"] is True
    assert [c["area"] for c in report["checks"]] == ["chromium", "keyring", "service", "queue"]


def test_doctor_exits_nonzero_and_prints_the_fix_when_the_host_is_gone(
    tmp_path: Path, env: dict[str, str], host_path: Path
) -> None:
    cenv = cli_env(tmp_path, env)
    run_cli(cenv, "install", "--browser", "firefox", "--host-path", str(host_path))
    host_path.unlink()
    out = run_cli(cenv, "doctor", "--browser", "firefox")
    assert out.returncode == 1
    assert "FAIL  Firefox (user)" in out.stdout
    assert "      fix: tuckaway install --browser firefox" in out.stdout


def test_doctor_without_a_keyring_says_what_to_install(
    tmp_path: Path, env: dict[str, str], host_path: Path
) -> None:
    cenv = cli_env(tmp_path, env, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    run_cli(cenv, "install", "--browser", "chromium", "--host-path", str(host_path))
    out = run_cli(cenv, "doctor", "--json", "--browser", "chromium")
    (keyring,) = [c for c in json.loads(out.stdout)["checks"] if c["area"] == "keyring"]
    assert keyring["status"] == "warn"  # no account linked yet: not broken
    assert "gnome-keyring" in keyring["fix"]


async def test_doctor_reaches_the_configured_service(
    tmp_path: Path, env: dict[str, str], host_path: Path, aiohttp_server: object
) -> None:
    async def get(request: web.Request) -> web.Response:
        return web.json_response({"error": "no token"}, status=401)

    app = web.Application()
    app.router.add_route("*", "/v3/get", get)
    server = await aiohttp_server(app)  # type: ignore[operator]
    url = f"http://127.0.0.1:{server.port}"
    cenv = cli_env(tmp_path, env, TUCKAWAY_POCKET_URL=url)
    run_cli(cenv, "install", "--browser", "chromium", "--host-path", str(host_path))
    import asyncio

    out = await asyncio.to_thread(run_cli, cenv, "doctor", "--browser", "chromium")
    assert out.returncode == 0, out.stdout
    assert f"ok    service: {url} answers (HTTP 401" in out.stdout

    await server.close()  # type: ignore[attr-defined]
    out = await asyncio.to_thread(run_cli, cenv, "doctor", "--browser", "chromium")
    assert out.returncode == 1
    assert f"FAIL  service: {url} is not reachable" in out.stdout
    assert "pocket_url" in out.stdout


# -- each broken case named with its fix (issue 18) ------------------------------------


def test_a_manifest_that_is_not_json_is_named(
    tmp_path: Path, settings: Settings, host_path: Path
) -> None:
    platform = make_platform(tmp_path, "linux")
    entry = install(platform, tmp_path / "state", [BY_KEY["chromium"]], host_path).installed[0]
    Path(entry.manifest).write_text('{"name": "org.tuckaway.host",', "utf-8")
    (check,) = browser_checks(run(platform, settings, [BY_KEY["chromium"]]), "chromium")
    assert check.status == "fail" and "is not valid JSON" in check.message
    assert check.fix == "tuckaway install --browser chromium"


@pytest.mark.parametrize("key", ["chromium", "firefox"])
def test_a_manifest_without_our_id_is_named(
    tmp_path: Path, settings: Settings, host_path: Path, key: str
) -> None:
    platform = make_platform(tmp_path, "linux")
    entry = install(platform, tmp_path / "state", [BY_KEY[key]], host_path).installed[0]
    manifest = json.loads(Path(entry.manifest).read_text("utf-8"))
    if key == "chromium":
        manifest["allowed_origins"] = ["chrome-extension://" + "b" * 32 + "/"]
    else:
        manifest["allowed_extensions"] = ["someone@example.org"]
    Path(entry.manifest).write_text(json.dumps(manifest), "utf-8")
    (check,) = browser_checks(run(platform, settings, [BY_KEY[key]]), key)
    assert check.status == "fail" and "does not hold Tuckaway's" in check.message
    assert check.fix == f"tuckaway install --browser {key}"


def test_a_host_of_another_version_is_stale(tmp_path: Path, settings: Settings) -> None:
    platform = make_platform(tmp_path, "linux")
    old = script(tmp_path / "bin" / "old-host", (
        "exec /usr/bin/python3 -c 'import json, struct, sys\n"
        "sys.stdin.buffer.read(4)\n"
        'body = json.dumps({"id": "doctor", "ok": True, "result": {"version": "0.0.1"}}).encode()\n'
        "sys.stdout.buffer.write(struct.pack(\"=I\", len(body)) + body)'"
    ))
    install(platform, tmp_path / "state", [BY_KEY["firefox"]], old)
    (check,) = browser_checks(run(platform, settings, [BY_KEY["firefox"]]), "firefox")
    assert check.status == "fail" and "is version 0.0.1" in check.message
    assert check.fix == "tuckaway install --browser firefox"


def test_the_hello_goes_through_the_manifest_path_with_a_browsers_path(
    tmp_path: Path, settings: Settings, host_path: Path
) -> None:
    platform = make_platform(tmp_path, "linux")
    # A host that needs a program only on the user's shell PATH: a browser would not find it.
    shell_bin = tmp_path / "shell-bin"
    script(shell_bin / "tuckaway-only-in-my-shell", f"exec '{host_path}' \"$@\"")
    needy = script(tmp_path / "bin" / "needy-host", 'exec tuckaway-only-in-my-shell "$@"')
    install(platform, tmp_path / "state", [BY_KEY["chromium"]], needy)
    env = {"PATH": f"{shell_bin}:/usr/bin:/bin", "HOME": str(platform.home)}
    with_shell = subprocess.run([str(needy), "--version"], env=env, capture_output=True)
    assert with_shell.returncode == 0  # it works from the user's shell...
    (check,) = browser_checks(run(platform, settings, [BY_KEY["chromium"]], env=env), "chromium")
    assert check.status == "fail" and "PATH=/usr/bin:/bin" in check.message  # ...not a browser


def test_explain_maps_browser_errors_to_causes_and_fixes(
    tmp_path: Path, env: dict[str, str]
) -> None:
    cenv = cli_env(tmp_path, env)
    out = run_cli(cenv, "doctor", "--explain",
                  "Unchecked runtime.lastError: Specified native messaging host not found.")
    assert out.returncode == 0, out.stderr
    assert "cause:" in out.stdout and "tuckaway install --all" in out.stdout
    out = run_cli(cenv, "doctor", "--json", "--explain",
                  "Error: No such native application org.tuckaway.host")
    (found,) = json.loads(out.stdout)
    assert found["browser"] == "Firefox family" and "allowed_extensions" in found["cause"]
    assert run_cli(cenv, "doctor", "--explain", "something else").returncode == 1


def test_report_holds_versions_paths_and_hashes_but_no_secret(
    tmp_path: Path, env: dict[str, str], host_path: Path
) -> None:
    cenv = cli_env(tmp_path, env)
    run_cli(cenv, "install", "--browser", "chromium", "--host-path", str(host_path))
    out = run_cli(cenv, "doctor", "--report", "--browser", "chromium")
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("### Tuckaway report")
    manifest = Path(cenv["HOME"]) / ".config" / "chromium" / "NativeMessagingHosts"
    assert f"{manifest / (HOST_NAME + '.json')} -> {host_path}" in out.stdout
    assert "manifest sha256 " in out.stdout and "ok: Chromium (user)" in out.stdout
    report = json.loads(run_cli(cenv, "doctor", "--report", "--json", "-b", "chromium").stdout)
    assert len(report["registrations"][0]["manifest_sha256"]) == 64
    assert "token" not in out.stdout.lower()
