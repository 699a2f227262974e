"""Pocket rows: the Pocket backend against ``tuckaway serve``, service calls counted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.client import HOST_DIR

if TYPE_CHECKING:
    from bench.run import Config, Row

POCKET_BACKEND = HOST_DIR / "tuckaway" / "backends" / "pocket.py"
SKIPPED = "pocket backend not available"

ROWS = (
    ("pocket_rt_p50", "save round trip p50, Pocket (serve)", "ms"),
    ("pocket_rt_p99", "save round trip p99, Pocket (serve)", "ms"),
    ("pocket_throughput", "throughput into Pocket (serve)", "saves/s"),
    ("pocket_calls_per_1000", "service calls per 1,000 saves", "calls"),
    ("burst_one_port_calls", "100-save burst, one port: service calls", "calls"),
    ("burst_one_port_latency", "100-save burst, one port: added latency", "ms"),
    ("burst_two_hosts_calls", "100-save burst, two hosts: service calls", "calls"),
    ("burst_two_hosts_latency", "100-save burst, two hosts: added latency", "ms"),
)


def pocket_rows(cfg: Config) -> list[Row]:
    from bench.run import Row

    if not POCKET_BACKEND.exists():
        return [Row(key, label, unit, skipped=SKIPPED) for key, label, unit in ROWS]
    return [Row(key, label, unit, skipped="not measured yet") for key, label, unit in ROWS]
