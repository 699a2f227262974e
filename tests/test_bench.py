"""The benchmark works: a quick run prints every row and writes valid JSON (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

EXPECTED_ROWS = {
    "cold_start_host",
    "cold_start_bundle",
    "first_start_host",
    "fsync_floor",
    "local_rt_p50",
    "local_rt_p99",
    "local_throughput",
    "rss_idle",
    "rss_after_writes",
    "flood_throughput_small",
    "flood_throughput_large",
    "flood_rss_large",
    "pocket_rt_p50",
    "pocket_rt_p99",
    "pocket_throughput",
    "pocket_calls_per_1000",
    "burst_one_port_calls",
    "burst_one_port_latency",
    "burst_two_hosts_calls",
    "burst_two_hosts_latency",
    "list_first_p50",
    "list_first_p99",
    "search_p50",
    "search_p99",
    "article_save_p50",
    "wallabag_burst_calls",
    "wallabag_edits_calls",
    "readeck_burst_calls",
    "readeck_edits_calls",
}


def test_quick_benchmark_prints_every_row_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--json", str(out)],
        capture_output=True, text=True, timeout=180, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text("utf-8"))
    rows = {row["key"]: row for row in result["rows"]}
    assert set(rows) == EXPECTED_ROWS
    assert result["quick"] is True
    assert result["machine"]["python"]
    for key, row in rows.items():
        assert row["label"] in run.stdout, key
        if row["status"] == "ok":
            assert isinstance(row["value"], (int, float)) and row["value"] >= 0, key
            if row["baseline_name"]:
                assert row["baseline"] > 0 and row["ratio"] is not None, key
        else:
            assert row["skipped"], key
    # the rows this machine can always measure are measured, not skipped
    for key in ("cold_start_host", "local_rt_p50", "local_throughput", "rss_idle"):
        assert rows[key]["status"] == "ok", key
