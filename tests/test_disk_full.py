"""A full disk: acknowledged writes wait (``retrying``, ``disk_full``) and are delivered after.

The real host against a real ``tuckaway serve`` behind the fault proxy; the
disk is "full" through SQLite itself: ``PRAGMA max_page_count`` (the test
hook ``TUCKAWAY_TEST_DB_PAGE_LIMIT_FILE`` in ``tuckaway.db``) stops the
database from growing, so SQLite answers SQLITE_FULL as on a full disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.faultproxy import Fault, PocketService
from support.hostproc import HostProcess
from test_faults import Frames, outbox_states, pocket_env, queued_all, saves, send_all
from tuckaway.db import PAGE_LIMIT_FILE_ENV


def _disk_full_heard(seen: list[dict[str, Any]]) -> bool:
    return any(m.get("event") == "retrying" and m.get("reason") == "disk_full" for m in seen)


def test_a_full_disk_keeps_acknowledged_writes_and_delivers_them_when_space_returns(
    tmp_path: Path,
) -> None:
    with PocketService(tmp_path / "svc") as svc:
        home = tmp_path / "home"
        limit = tmp_path / "page-limit"
        env = pocket_env(home, svc, **{PAGE_LIMIT_FILE_ENV: str(limit)})
        svc.script(Fault.hold())
        requests = saves("f", 40)
        rids = [r["id"] for r in requests]
        with HostProcess(env) as host:
            frames = Frames(host)
            send_all(host, requests)
            frames.until(queued_all(rids), what="queued")
            svc.wait_held()
            limit.write_text("1")  # the file may not grow by a page: the disk is full

            # a new write cannot be recorded: refused in plain words, and nothing is kept
            big = [{"id": f"n{i}", "op": "save", "url": f"https://f.example/new{i}",
                    "title": "x" * 2000} for i in range(5)]
            send_all(host, big)
            refused = frames.settle([b["id"] for b in big])
            for one in refused.values():
                assert one.final is not None and one.final["error"]["code"] == "unavailable"
                assert "disk is full" in one.final["error"]["message"]
                assert one.kinds == []

            svc.release()  # the service applies the batch; its outcomes cannot be recorded
            frames.until(_disk_full_heard, what="retrying with reason disk_full")
            assert all(frames.of(rid).final is None for rid in rids)
            limit.write_text("")  # space returns

            settled = frames.settle(rids, timeout=90)
            assert all(s.ok for s in settled.values()), [s.final for s in settled.values()]
            assert hello_pending(frames) == 0
        assert outbox_states(home) == {"done": 40}
        items = svc.items()
        assert all(r["url"] in items for r in requests)
        assert not any(f"https://f.example/new{i}" in items for i in range(5))


def hello_pending(frames: Frames) -> int:
    return int(frames.request({"id": "h", "op": "hello"})["result"]["pending"])
