"""Logging to a rotating file in the state directory, with token redaction.

The host never logs a token on purpose; the redaction filter is the last line
of defence for a token that slips into an exception message or a URL.

The host's file handler may be *deferred*: records are kept in memory until
the first reply is out (:func:`open_deferred`), a warning or worse arrives, or
the process exits, because opening it costs ``logging.handlers`` and with it
``socket`` and ``pickle``, a tenth of the host's cold start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from pathlib import Path
from typing import Any

from tuckaway.settings import private_dir

_SECRET_KEYS = re.compile(
    r"(?i)(access_token|consumer_key|client_secret|code_verifier|refresh_token|password"
    r"|authorization|request_token)(\"?\s*[:=]\s*\"?|=)(bearer\s+)?([^\s\"&,;}]+)"
)
_CODE_PARAM = re.compile(r"([?&]code=)[^&\s\"]+")
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}")
_TOKENISH = re.compile(r"\b[A-Za-z0-9_-]*[0-9][A-Za-z0-9_-]*[A-Za-z][A-Za-z0-9_-]{20,}\b")
_UUIDISH = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)

_known_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret so that any log line containing it is redacted."""
    if value and len(value) >= 4:
        _known_secrets.add(value)


def redact(text: str) -> str:
    """Replace anything token-shaped in ``text`` with ``[redacted]``."""
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    text = _SECRET_KEYS.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) or ''}[redacted]", text)
    text = _CODE_PARAM.sub(r"\1[redacted]", text)
    text = _BEARER.sub("Bearer [redacted]", text)
    text = _UUIDISH.sub("[redacted]", text)
    return _TOKENISH.sub("[redacted]", text)


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


#: the rotating log: this size, this many old files kept
MAX_BYTES = 1 << 20
BACKUPS = 3
#: a deferred handler opens its file at the latest when it holds this many records
_DEFER_LIMIT = 1000


def setup(
    log_file: Path, level: str = "INFO", *, stderr: bool = False, defer: bool = False
) -> None:
    """Log to ``log_file`` (1 MiB x 3, rotated) and, when asked, to stderr. Never stdout.

    ``defer``: open the file only once :func:`open_deferred` is called (or a
    warning arrives, or the process exits); until then records wait in memory.
    """
    root = logging.getLogger()
    root.setLevel(level.upper())
    fmt = RedactingFormatter("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    for old in list(root.handlers):
        root.removeHandler(old)
    handler: logging.Handler
    if defer:
        handler = _DeferredFile(log_file)
        handler.setFormatter(fmt)
    else:
        handler = _open_file(log_file, fmt)  # stderr when the file cannot be made
    root.addHandler(handler)
    fell_back = isinstance(handler, logging.StreamHandler) and not isinstance(
        handler, logging.FileHandler
    )
    if stderr and not fell_back:
        root.addHandler(_stderr_handler())


def open_deferred() -> None:
    """Open the log file of a deferred :func:`setup` and write what waited."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, _DeferredFile):
            handler.open()


def _stderr_handler() -> logging.Handler:
    import sys

    err = logging.StreamHandler(sys.stderr)
    err.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    return err


def _open_file(log_file: Path, fmt: logging.Formatter) -> logging.Handler:
    """The rotating file handler, or stderr when the file cannot be made."""
    import logging.handlers

    try:
        private_dir(log_file.parent)

        class PrivateRotatingFile(logging.handlers.RotatingFileHandler):
            def _open(self) -> Any:  # each new file after a rollover is 0600 too
                fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                if os.name == "posix":
                    os.fchmod(fd, 0o600)
                return open(fd, "a", encoding=self.encoding, errors=self.errors)

        handler: logging.Handler = PrivateRotatingFile(
            log_file, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
        )
        handler.setFormatter(fmt)
    except OSError:
        handler = _stderr_handler()
    return handler


class _DeferredFile(logging.Handler):
    """Holds records until :meth:`open`, then hands them and every later one to the file."""

    def __init__(self, log_file: Path) -> None:
        super().__init__()
        self._log_file = log_file
        self._waiting: list[logging.LogRecord] = []
        self._target: logging.Handler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        # Never raises (a full disk, a file gone): a log line is not worth a failed request.
        try:
            if self._target is not None:
                self._target.handle(record)
                return
            self._waiting.append(record)
            if record.levelno >= logging.WARNING or len(self._waiting) >= _DEFER_LIMIT:
                self.open()
        except Exception:
            self.handleError(record)

    def open(self) -> None:
        self.acquire()
        try:
            if self._target is not None:
                return
            fmt = self.formatter or RedactingFormatter()
            self._target = _open_file(self._log_file, fmt)
            waiting, self._waiting = self._waiting, []
            for record in waiting:
                self._target.handle(record)
        finally:
            self.release()

    def flush(self) -> None:
        if self._target is not None:
            with contextlib.suppress(OSError, ValueError):  # ENOSPC: the lines are lost
                self._target.flush()

    def close(self) -> None:
        # logging.shutdown() at exit: what still waits is written now.
        self.open()
        if self._target is not None:
            with contextlib.suppress(OSError, ValueError):  # a full disk: what waited is lost
                self._target.close()
        super().close()
