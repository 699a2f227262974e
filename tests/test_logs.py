"""The log file: rotated, redacted, and for the host opened only after its first reply."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.hostproc import HostProcess, host_env
from tuckaway import logs


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def log_file(home: Path) -> Path:
    return home / "state" / "log" / "tuckaway.log"


@pytest.mark.usefixtures("restore_logging")
def test_a_deferred_log_holds_records_until_opened_then_writes_them_in_order(
    tmp_path: Path,
) -> None:
    path = tmp_path / "log" / "t.log"
    logs.setup(path, "INFO", defer=True)
    logging.getLogger("t").info("first access_token=abcdefgh1234")
    logging.getLogger("t").info("second")
    assert not path.exists()
    logs.open_deferred()
    logging.getLogger("t").info("third")
    text = path.read_text("utf-8")
    assert [line.rsplit(" ", 1)[-1] for line in text.splitlines()] == [
        "access_token=[redacted]",
        "second",
        "third",
    ]


@pytest.mark.usefixtures("restore_logging")
def test_a_warning_opens_a_deferred_log_at_once(tmp_path: Path) -> None:
    path = tmp_path / "t.log"
    logs.setup(path, "INFO", defer=True)
    logging.getLogger("t").info("waiting")
    logging.getLogger("t").warning("something is wrong")
    text = path.read_text("utf-8")
    assert "waiting" in text and "something is wrong" in text


@pytest.mark.usefixtures("restore_logging")
def test_the_log_rotates_at_its_size_and_keeps_three(tmp_path: Path) -> None:
    path = tmp_path / "t.log"
    logs.setup(path, "INFO")
    line = "x" * 1000
    for _ in range(5 * logs.MAX_BYTES // 1000):
        logging.getLogger("t").info(line)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["t.log", "t.log.1", "t.log.2", "t.log.3"]
    assert all(p.stat().st_size <= logs.MAX_BYTES + 2000 for p in tmp_path.iterdir())


def test_the_host_writes_its_log_after_the_first_reply(env: dict[str, str], home: Path) -> None:
    with HostProcess(env) as proc:
        assert proc.request({"id": 1, "op": "hello"})["ok"]
        deadline = time.monotonic() + 10
        while not log_file(home).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "started" in log_file(home).read_text("utf-8")  # while the port is open


def test_what_a_host_logged_before_any_message_is_written_when_it_exits(home: Path) -> None:
    # EOF before the first message: the records waiting in memory reach the file at exit.
    done = subprocess.run(
        [sys.executable, "-m", "tuckaway.wire.host"], input=b"", env=host_env(home),
        capture_output=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout == b""
    text = log_file(home).read_text("utf-8")
    assert "started" in text and "host exits" in text


def test_a_refused_caller_is_logged_at_once(home: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tuckaway.wire.host", "chrome-extension://" + "a" * 32 + "/"],
        input=b"", env=host_env(home), capture_output=True, timeout=30,
    )  # fmt: skip
    assert done.returncode != 0 and done.stdout == b""
    assert "refused" in log_file(home).read_text("utf-8")


def test_the_log_handler_never_raises_when_the_disk_is_full(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = logs._DeferredFile(tmp_path / "tuckaway.log")
    handler.setFormatter(logs.RedactingFormatter())
    handler.open()
    target = handler._target
    assert isinstance(target, logging.FileHandler)
    target.stream = open("/dev/full", "w", encoding="utf-8")  # every write: ENOSPC
    for level in (logging.INFO, logging.ERROR):
        handler.emit(logging.LogRecord("t", level, __file__, 1, "x" * 10_000, None, None))
    handler.flush()
    handler.close()
    assert "No space left on device" in capsys.readouterr().err  # said once, on stderr
