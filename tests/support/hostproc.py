"""Drive the real ``tuckaway-host`` process through its stdin/stdout, as a browser does."""

from __future__ import annotations

import io
import json
import os
import queue
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HOST_DIR = REPO / "host"
SUPPORT_DIR = Path(__file__).resolve().parent


def host_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment for a host or CLI under test: its own TUCKAWAY_HOME and test keyring."""
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


def ok(reply: dict[str, Any]) -> dict[str, Any]:
    """The result of a successful final reply (the test fails on an error reply)."""
    assert reply["ok"] is True, reply
    result: dict[str, Any] = reply["result"]
    return result


def frame(message: Any) -> bytes:
    body = message if isinstance(message, bytes) else json.dumps(message).encode("utf-8")
    return struct.pack("=I", len(body)) + body


class HostProcess:
    """One host process; a reader thread collects every frame it writes."""

    def __init__(
        self, env: dict[str, str], args: list[str] | None = None, command: list[str] | None = None
    ) -> None:
        cmd = command or [sys.executable, "-m", "tuckaway.wire.host"]
        self.proc = subprocess.Popen(
            [*cmd, *(args or [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.frames: queue.Queue[Any] = queue.Queue()
        self.raw_stdout = bytearray()
        self.stderr = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._err = threading.Thread(target=self._read_err, daemon=True)
        self._err.start()
        self._backlog: list[dict[str, Any]] = []

    def _read(self) -> None:
        assert self.proc.stdout is not None
        out = self.proc.stdout
        while True:
            header = out.read(4)
            if not header:
                break
            self.raw_stdout += header
            if len(header) < 4:
                self.frames.put(("garbage", bytes(header)))
                break
            (length,) = struct.unpack("=I", header)
            body = out.read(length)
            self.raw_stdout += body
            try:
                self.frames.put(("frame", json.loads(body)))
            except ValueError:
                self.frames.put(("garbage", body))
        self.frames.put(("eof", None))

    def _read_err(self) -> None:
        err = self.proc.stderr
        assert isinstance(err, io.BufferedReader)  # Popen's binary pipe: has read1
        for chunk in iter(lambda: err.read1(65536), b""):
            self.stderr += chunk

    # -- sending -------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message: Any) -> None:
        self.send_raw(frame(message))

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    # -- receiving -----------------------------------------------------------

    def recv(self, timeout: float = 15.0) -> dict[str, Any]:
        """The next frame (a reply or an event)."""
        if self._backlog:
            return self._backlog.pop(0)
        kind, value = self.frames.get(timeout=timeout)
        if kind != "frame":
            raise AssertionError(
                f"expected a frame, got {kind}: {value!r}; stderr: "
                f"{self.stderr.decode(errors='replace')[-2000:]}"
            )
        return value  # type: ignore[no-any-return]

    def recv_for(self, rid: Any, timeout: float = 15.0, *, final: bool = True) -> dict[str, Any]:
        """The next frame for request ``rid`` (its final reply unless final=False)."""
        deadline = time.monotonic() + timeout
        for i, msg in enumerate(self._backlog):
            if msg.get("id") == rid and (not final or "ok" in msg):
                return self._backlog.pop(i)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no reply for {rid!r} in {timeout}s")
            kind, value = self.frames.get(timeout=left)
            if kind != "frame":
                raise AssertionError(
                    f"expected a frame for {rid!r}, got {kind}: {value!r}; "
                    f"stderr: {self.stderr.decode(errors='replace')[-2000:]}"
                )
            if value.get("id") == rid and (not final or "ok" in value):
                return value  # type: ignore[no-any-return]
            self._backlog.append(value)

    def request(self, message: dict[str, Any], timeout: float = 15.0) -> dict[str, Any]:
        self.send(message)
        return self.recv_for(message["id"], timeout)

    def burst(self, requests: list[dict[str, Any]], timeout: float = 30.0) -> list[dict[str, Any]]:
        """Write all requests back to back, then collect each one's final reply, in order."""
        for request in requests:
            self.send(request)
        return [self.recv_for(r["id"], timeout) for r in requests]

    def events_for(self, rid: Any) -> list[dict[str, Any]]:
        return [m for m in self._backlog if m.get("id") == rid and "event" in m]

    def drain(self, timeout: float = 0.2) -> list[dict[str, Any]]:
        out = list(self._backlog)
        self._backlog.clear()
        while True:
            try:
                kind, value = self.frames.get(timeout=timeout)
            except queue.Empty:
                return out
            if kind == "frame":
                out.append(value)
            else:
                return out

    def wait(self, timeout: float = 30.0) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        self._err.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)

    def __enter__(self) -> HostProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            try:
                self.close_stdin()
            except (BrokenPipeError, OSError):
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def run_cli(
    env: dict[str, str], *args: str, input: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``tuckaway ARGS`` as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "tuckaway.cli", *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextmanager
def serve_process(home: Path, consumer_key: str) -> Iterator[str]:
    """``tuckaway serve`` as a user runs it, in its own ``home``; yields its base URL."""
    home.mkdir(parents=True, exist_ok=True)
    ready = home.parent / f"{home.name}.url"
    errors = home.parent / f"{home.name}.stderr"
    with errors.open("wb") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tuckaway.cli",
                "serve",
                "--port",
                "0",
                "--ready-file",
                str(ready),
                "--consumer-key",
                consumer_key,
            ],
            env=host_env(home),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not start: {errors.read_text()!r}")
            time.sleep(0.05)
        yield ready.read_text().strip()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
