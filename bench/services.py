"""wallabag and Readeck rows: service calls for a 100-save burst and for 50 mixed
edits, per service, against one call per click (what their own extensions make).

The host runs against the test stand-ins (tests/support/wallabag_standin.py,
readeck_standin.py), which count every API call they answer. The edits are
five each (archive, favorite, tags_add, tags_remove, unfavorite) on ten saved
pages, written back to back: one batch.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.client import SUPPORT_DIR, TUCKAWAY_HOST, Port, frame, host_env
from bench.pocket import Listener

if TYPE_CHECKING:
    from bench.run import Config, Row

EDITS = ("archive", "favorite", "tags_add", "tags_remove", "unfavorite")


def _send(port: Port, requests: list[dict[str, Any]]) -> None:
    """Write ``requests`` back to back and wait for every final reply (all must succeed)."""
    listener = Listener(port, len(requests))
    for request in requests:
        port.send_raw(frame(request))
    listener.join(120)


def _login(env: dict[str, str], args: list[str], stdin: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tuckaway.cli", "login", *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"tuckaway login failed: {done.stderr.strip()}")


def _measure(cfg: Config, name: str, standin: Any, login: tuple[list[str], str]) -> list[Row]:
    from bench.run import Row

    env = host_env(
        cfg.home(name), TUCKAWAY_BATCH_QUIET_MS="1000", TUCKAWAY_BATCH_MAX_DELAY_MS="8000"
    )
    _login(env, *login)
    port = Port(TUCKAWAY_HOST, env, cfg.stderr(name))
    try:
        before = len(standin.api_calls())
        _send(port, [{"id": i, "op": "save", "url": f"https://example.com/{name}/{i}"}
                     for i in range(cfg.burst)])  # fmt: skip
        burst_calls = len(standin.api_calls()) - before
        urls = [f"https://example.com/{name}/{i}" for i in range(10)]
        edits = [
            {"id": 1000 + n, "op": op, "url": url}
            | ({"tags": [f"t{n % 3}"]} if op.startswith("tags_") else {})
            for n, (url, op) in enumerate((u, op) for op in EDITS for u in urls)
        ]
        before = len(standin.api_calls())
        _send(port, edits)
        edit_calls = len(standin.api_calls()) - before
    finally:
        port.close()
    label = {"wallabag": "wallabag", "readeck": "Readeck"}[name]
    return [
        Row(f"{name}_burst_calls", f"100-save burst, {label}: service calls", "calls",
            float(burst_calls), float(cfg.burst), "one call per click", "",
            "mass adds within api_limit_mass_actions" if name == "wallabag"
            else "Readeck has no batch endpoint: one POST per page"),
        Row(f"{name}_edits_calls", f"50 mixed edits on 10 pages, {label}: service calls",
            "calls", float(edit_calls), float(len(edits)), "one call per click", "",
            "one PATCH per entry; tags by url in one call each way" if name == "wallabag"
            else "one PATCH per bookmark"),
    ]  # fmt: skip


def service_rows(cfg: Config) -> list[Row]:
    sys.path.insert(0, str(SUPPORT_DIR))
    sys.path.insert(0, str(Path(SUPPORT_DIR).parent))
    from support.readeck_standin import TOKEN, ReadeckStandin
    from support.wallabag_standin import (
        CLIENT_ID,
        CLIENT_SECRET,
        PASSWORD,
        USERNAME,
        WallabagStandin,
    )

    rows: list[Row] = []
    with WallabagStandin() as wb:
        args = ["wallabag", "--url", wb.url, "--client-id", CLIENT_ID, "--username", USERNAME,
                "--secrets-stdin"]  # fmt: skip
        rows += _measure(cfg, "wallabag", wb, (args, f"{CLIENT_SECRET}\n{PASSWORD}\n"))
    with ReadeckStandin() as rd:
        args = ["readeck", "--url", rd.url, "--token-stdin"]
        rows += _measure(cfg, "readeck", rd, (args, TOKEN + "\n"))
        if rd.violations:
            raise RuntimeError(f"requests outside Readeck's API description: {rd.violations[:3]}")
    return rows
