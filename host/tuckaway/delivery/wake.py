"""Wake-ups between host processes that share one database (two browsers, two profiles).

Each host process listens on a UDP socket on 127.0.0.1 and names its port in a
file under ``<data dir>/wake/``. A process tells the others at once when it
records writes for a coalescing service (their workers count them into the
burst) and when it commits outcomes (their callers are answered now, not at
their next poll). A lost or unsent datagram costs only that delay: the
database stays the one truth and the polls remain.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
#: a datagram larger than this is not one of ours
_MAX_DATAGRAM = 4096


class WakeChannel:
    """This process's end: ``send`` to every other process, ``handler`` for what arrives."""

    def __init__(self, directory: Path, owner: str, handler: Handler) -> None:
        self.directory = directory
        self.owner = owner
        self.handler = handler
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def open(self) -> bool:
        """Start listening; False where it cannot (no UDP reader on this event loop)."""
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
            loop.add_reader(sock.fileno(), self._read)
        except (OSError, NotImplementedError) as exc:  # Windows' proactor loop has no readers
            log.info("no wake-ups between host processes: %s", exc)
            sock.close()
            return False
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._own_file().write_text(str(sock.getsockname()[1]), "ascii")
        except OSError as exc:
            log.info("no wake-ups between host processes: %s", exc)
            loop.remove_reader(sock.fileno())
            sock.close()
            return False
        self._sock, self._loop = sock, loop
        return True

    def close(self) -> None:
        if self._sock is None:
            return
        with contextlib.suppress(OSError):
            self._own_file().unlink()
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        self._sock = None

    def send(self, message: dict[str, Any]) -> None:
        """Tell every other live process sharing the database (best effort, never raises)."""
        if self._sock is None:
            return
        data = json.dumps(message, separators=(",", ":")).encode("utf-8")
        for path in self._peers():
            try:
                port = int(path.read_text("ascii"))
                self._sock.sendto(data, ("127.0.0.1", port))
            except (OSError, ValueError):
                continue

    def _own_file(self) -> Path:
        return self.directory / self.owner

    def _peers(self) -> list[Path]:
        try:
            names = os.listdir(self.directory)
        except OSError:
            return []
        peers = []
        for name in names:
            if name == self.owner:
                continue
            path = self.directory / name
            if _gone(name):
                with contextlib.suppress(OSError):
                    path.unlink()  # a process that died without closing
                continue
            peers.append(path)
        return peers

    def _read(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data, _ = self._sock.recvfrom(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            try:
                message = json.loads(data)
            except ValueError:
                continue
            if isinstance(message, dict):
                try:
                    self.handler(message)
                except Exception:
                    log.exception("a wake-up from another host process failed")


def _gone(owner: str) -> bool:
    """Whether the process named by an owner id (``<pid>-<random>``) has ended (POSIX only)."""
    pid_text, _, _ = owner.partition("-")
    if sys.platform == "win32" or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False
