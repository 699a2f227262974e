"""A lean native-messaging client for the benchmark: one host process, its frames, its memory.

It reads frames synchronously on the calling thread (no reader thread and no
queue between the pipe and the timer), so a round trip measured through it is
the host's time plus two pipe hops.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import subprocess
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]
HOST_DIR = REPO / "host"
SUPPORT_DIR = REPO / "tests" / "support"
ECHO_HOST = Path(__file__).resolve().parent / "echo_host.py"
#: the frozen bundle's host (packaging/build.sh); TUCKAWAY_BENCH_BUNDLE names another build
BUNDLE = Path(
    os.environ.get("TUCKAWAY_BENCH_BUNDLE") or REPO / "dist" / "tuckaway" / "tuckaway-host"
)
_HEADER = struct.Struct("=I")

#: what a browser runs: the console-script launcher (bench/launch_host.py mirrors pip's)
TUCKAWAY_HOST: list[str] = [sys.executable, str(Path(__file__).resolve().parent / "launch_host.py")]
ECHO: list[str] = [sys.executable, str(ECHO_HOST)]


def host_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a host under test: its own home, a file keyring, no sync."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUCKAWAY_")}
    env.update(
        TUCKAWAY_HOME=str(home),
        PYTHONPATH=os.pathsep.join([str(HOST_DIR), str(SUPPORT_DIR)]),
        PYTHON_KEYRING_BACKEND="testkeyring.TestKeyring",
        TUCKAWAY_TEST_KEYRING_FILE=str(home.parent / f"{home.name}-keyring.json"),
        TUCKAWAY_SYNC_ON_START="0",
    )
    env.update(extra)
    return env


def compile_host() -> None:
    """Byte-compile the host as an install does (pip writes .pyc files), so that a start is
    not a first import from source: PYTHONDONTWRITEBYTECODE, common in development shells,
    would otherwise make every start compile every module again."""
    import compileall

    compileall.compile_dir(str(HOST_DIR / "tuckaway"), quiet=2)


def frame(message: Any) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return _HEADER.pack(len(body)) + body


class Port:
    """One host process spoken to as a browser port."""

    def __init__(self, command: Sequence[str], env: dict[str, str], stderr_path: Path) -> None:
        self._stderr = stderr_path.open("ab")
        self.proc = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in: IO[bytes] = self.proc.stdin
        self._out: IO[bytes] = self.proc.stdout
        self.stderr_path = stderr_path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def send(self, message: Any) -> None:
        self.send_raw(frame(message))

    def send_raw(self, data: bytes) -> None:
        self._in.write(data)
        self._in.flush()

    def send_all_in_background(self, frames: Iterable[bytes]) -> threading.Thread:
        """Pipeline many frames from a thread (the pipe blocks when the host falls behind)."""

        def pump() -> None:
            try:
                for data in frames:
                    self._in.write(data)
                self._in.flush()
            except (BrokenPipeError, OSError):
                pass

        thread = threading.Thread(target=pump, name="pump", daemon=True)
        thread.start()
        return thread

    def recv(self) -> dict[str, Any]:
        header = self._out.read(4)
        if len(header) < 4:
            tail = self.stderr_path.read_text("utf-8", errors="replace")[-1500:]
            raise RuntimeError(f"host closed its stdout (exit {self.proc.poll()}): {tail}")
        (length,) = _HEADER.unpack(header)
        message: dict[str, Any] = json.loads(self._out.read(length))
        return message

    def final(self, rid: Any) -> dict[str, Any]:
        """Frames until the final reply for ``rid`` (events and other replies are skipped)."""
        while True:
            message = self.recv()
            if message.get("id") == rid and "ok" in message:
                return message

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        self.send(message)
        return self.final(message["id"])

    def memory_kb(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak RSS) of the host process, in kB, from /proc."""
        out: dict[str, int] = {}
        with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in {"VmRSS", "VmHWM"}:
                    out[key] = int(value.split()[0])
        return out

    def close(self, timeout: float = 30.0) -> int:
        """EOF on stdin (the browser closed the port); wait for a clean exit."""
        with contextlib.suppress(BrokenPipeError, OSError):
            self._in.close()
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._out.close()
        self._stderr.close()
        return code

    def __enter__(self) -> Port:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.close()
