"""Logging to a rotating file in the state directory, with token redaction.

The host never logs a token on purpose; the redaction filter is the last line
of defence for a token that slips into an exception message or a URL.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

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


def setup(log_file: Path, level: str = "INFO", *, stderr: bool = False) -> None:
    """Log to ``log_file`` (1 MiB x 3, rotated) and, when asked, to stderr. Never stdout."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    fmt = RedactingFormatter("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    for handler in list(root.handlers):
        root.removeHandler(handler)
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        file_handler = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=1 << 20, backupCount=3, encoding="utf-8", delay=True
        )
        file_handler.setFormatter(fmt)
        root.addHandler(file_handler)
    except OSError:
        stderr = True
    if stderr:
        import sys

        err = logging.StreamHandler(sys.stderr)
        err.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(err)
