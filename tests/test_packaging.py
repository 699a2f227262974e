"""packaging/: the frozen one-dir bundle works without Python (TUCKAWAY_TEST_FROZEN=1 builds it).

The build takes about half a minute, so it runs only when asked (CI sets
TUCKAWAY_TEST_FROZEN=1) and PyInstaller is installed. The launcher's dispatch
on its own name is checked always, from source.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.hostproc import HostProcess
from tuckaway import __version__
from tuckaway.ids import CHROME_ORIGIN, GECKO_EXTENSION_ID

REPO = Path(__file__).resolve().parents[1]
PACKAGING = REPO / "packaging"

frozen = pytest.mark.skipif(
    os.environ.get("TUCKAWAY_TEST_FROZEN") != "1"
    or importlib.util.find_spec("PyInstaller") is None,
    reason="builds the PyInstaller bundle: set TUCKAWAY_TEST_FROZEN=1 (needs pyinstaller)",
)


def test_the_launcher_is_the_cli_or_the_host_by_its_own_name(tmp_path: Path,
                                                             env: dict[str, str]) -> None:
    for name, expect in (("tuckaway-host", "tuckaway-host "), ("tuckaway", "tuckaway ")):
        link = tmp_path / name
        link.symlink_to(PACKAGING / "launcher.py")
        out = subprocess.run([sys.executable, str(link), "--version"], env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(f"{expect}{__version__}"), out.stdout


def test_the_spec_builds_both_entry_points_into_one_dir() -> None:
    spec = (PACKAGING / "tuckaway.spec").read_text("utf-8")
    assert 'executable("tuckaway")' in spec and 'executable("tuckaway-host")' in spec
    assert spec.count("COLLECT(") == 1 and spec.count("Analysis(") == 1
    assert "onefile" not in spec.lower().replace("one-file", "")


def test_the_windows_launcher_passes_every_argument_on() -> None:
    bat = (PACKAGING / "tuckaway-host.bat").read_bytes()
    assert bat.startswith(b"@echo off\r\n")
    assert b'"%~dp0tuckaway-host.exe" %*\r\n' in bat


# -- the frozen bundle ---------------------------------------------------------------


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    built = os.environ.get("TUCKAWAY_FROZEN_DIST")
    if built:  # tests/run.sh built it once already (packaging/build.sh)
        yield Path(built)
        return
    out = tmp_path_factory.mktemp("dist")
    work = tmp_path_factory.mktemp("work")
    proc = subprocess.run(
        ["bash", str(PACKAGING / "build.sh")],
        env={**os.environ, "PYTHON": sys.executable, "DIST": str(out), "WORK": str(work)},
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    yield out


def bare_env(tmp_path: Path) -> dict[str, str]:
    """No Python anywhere: no PYTHONPATH, no venv on PATH."""
    home = tmp_path / "userhome"
    home.mkdir(exist_ok=True)
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "TUCKAWAY_HOME": str(tmp_path / "th"),
        "TUCKAWAY_SYNC_ON_START": "0",
    }


@frozen
@pytest.mark.timeout(900)
def test_the_frozen_host_answers_a_cold_hello(dist: Path, tmp_path: Path) -> None:
    bundle = dist / "tuckaway"
    host = bundle / "tuckaway-host"
    assert host.is_file() and (bundle / "tuckaway").is_file()
    assert [p.name for p in bundle.iterdir() if p.is_dir()] == ["_internal"]
    env = bare_env(tmp_path)
    with HostProcess(env, command=[str(host)], args=[CHROME_ORIGIN]) as proc:
        reply = proc.request({"id": "cold", "op": "hello"}, timeout=60)
    assert reply["ok"] is True, reply
    assert reply["result"]["version"] == __version__

    refused = HostProcess(env, command=[str(host)], args=["chrome-extension://" + "a" * 32 + "/"])
    assert refused.wait(timeout=60) != 0
    assert bytes(refused.raw_stdout) == b""


@frozen
@pytest.mark.timeout(900)
def test_the_frozen_install_registers_the_frozen_host(dist: Path, tmp_path: Path) -> None:
    bundle = dist / "tuckaway"
    env = bare_env(tmp_path)
    out = subprocess.run(
        [str(bundle / "tuckaway"), "install", "--browser", "chromium", "--browser", "firefox",
         "--json"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["host_path"] == str(bundle / "tuckaway-host")
    firefox = next(e for e in result["installed"] if e["browser"] == "firefox")
    manifest = json.loads(Path(firefox["manifest"]).read_text("utf-8"))
    assert manifest["path"] == str(bundle / "tuckaway-host")
    with HostProcess(env, command=[manifest["path"]],
                     args=[firefox["manifest"], GECKO_EXTENSION_ID]) as proc:
        assert proc.request({"id": 1, "op": "hello"}, timeout=60)["ok"] is True

    doctor = subprocess.run([str(bundle / "tuckaway"), "doctor", "--json", "-b", "chromium",
                             "-b", "firefox"], env=env, capture_output=True, text=True,
                            timeout=120)
    checks = {c["area"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["chromium"]["status"] == "ok" and checks["firefox"]["status"] == "ok"


@frozen
@pytest.mark.timeout(900)
def test_the_extension_zip_holds_the_extension_only(dist: Path) -> None:
    with zipfile.ZipFile(dist / f"tuckaway-extension-{__version__}.zip") as zf:
        names = zf.namelist()
    assert "manifest.json" in names and "background.js" in names
    assert not [n for n in names if n.startswith(("node_modules/", "test/", "tools/"))]
    if (REPO / "extension" / "node_modules" / ".bin" / "web-ext").exists():
        with zipfile.ZipFile(dist / f"tuckaway-{__version__}.xpi") as zf:
            assert "manifest.json" in zf.namelist()


@frozen
@pytest.mark.timeout(900)
def test_the_release_archive_installs_for_the_user_and_registers_its_browsers(
    dist: Path, tmp_path: Path
) -> None:
    archive = dist / f"tuckaway-{__version__}-linux-x86_64.tar.gz"
    sums = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=dist, capture_output=True,
                          text=True, timeout=60)
    assert sums.returncode == 0, sums.stdout + sums.stderr
    assert archive.name in sums.stdout
    assert (dist / f"tuckaway-{__version__}-py3-none-any.whl").is_file()
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "unpacked", filter="tar")
    top = tmp_path / "unpacked" / f"tuckaway-{__version__}-linux-x86_64"
    env = bare_env(tmp_path)
    home = Path(env["HOME"])
    (home / ".config" / "chromium").mkdir(parents=True)  # a Chromium that was started once
    (tmp_path / "root").mkdir()
    env["TUCKAWAY_SYSTEM_ROOT"] = str(tmp_path / "root")  # this machine's browsers stay out
    out = subprocess.run(["sh", str(top / "install.sh")], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    lib = home / ".local" / "lib" / "tuckaway"
    assert (home / ".local" / "bin" / "tuckaway").resolve() == lib / "tuckaway"
    manifest_path = home / ".config" / "chromium" / "NativeMessagingHosts" / "org.tuckaway.host.json"
    manifest = json.loads(manifest_path.read_text("utf-8"))
    assert manifest["path"] == str(lib / "tuckaway-host")
    with HostProcess(env, command=[manifest["path"]], args=[CHROME_ORIGIN]) as proc:
        assert proc.request({"id": 1, "op": "hello"}, timeout=60)["ok"] is True
    # Unpacked and run again elsewhere (an upgrade): still one install, the same path.
    again = subprocess.run(["sh", str(top / "install.sh")], env=env, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert json.loads(manifest_path.read_text("utf-8"))["path"] == str(lib / "tuckaway-host")
