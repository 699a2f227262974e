"""Backpressure: one host flooded with 10,000 and 100,000 pipelined saves.

The reader stops reading the port while the inbox holds ``INBOX_MAX``
messages, so a browser that writes faster than the host commits costs the
host no memory: peak RSS at 100,000 stays under idle + 30 MB, and the rate at
100,000 is the rate at 10,000 (issue 15). ``--quick``: 1,000 and 5,000.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from bench.client import TUCKAWAY_HOST, Port, host_env

if TYPE_CHECKING:
    from bench.run import Config, Row

#: the most peak RSS may grow over idle at the larger flood (MB)
RSS_BUDGET_MB = 30


def flood(cfg: Config, count: int) -> tuple[float, float, float]:
    """A fresh host: (idle peak RSS MB, saves per second, peak RSS MB after ``count``)."""
    from bench.run import pipelined

    name = f"flood-{count}"
    port = Port(TUCKAWAY_HOST, host_env(cfg.home(name)), cfg.stderr(name))
    try:
        if not port.request({"id": 1, "op": "hello"}).get("ok"):
            raise RuntimeError(f"{name}: hello failed")
        time.sleep(0.5)
        idle = port.memory_kb()["VmHWM"] / 1024
        rate = pipelined(port, count, name, first_id=10)
        peak = port.memory_kb()["VmHWM"] / 1024
    finally:
        port.close()
    return idle, rate, peak


def flood_rows(cfg: Config) -> list[Row]:
    from bench.run import Row

    small, large = (1_000, 5_000) if cfg.quick else (10_000, 100_000)
    idle_s, rate_s, peak_s = flood(cfg, small)
    idle_l, rate_l, peak_l = flood(cfg, large)
    within = "within" if peak_l <= idle_l + RSS_BUDGET_MB else "OVER"
    return [
        Row("flood_throughput_small", f"throughput, {small:,} pipelined saves", "saves/s",
            round(rate_s, 1), note=f"a fresh host, one port; peak RSS {peak_s:.1f} MB "
            f"(idle {idle_s:.1f} MB)"),
        Row("flood_throughput_large", f"throughput, {large:,} pipelined saves", "saves/s",
            round(rate_l, 1), round(rate_s, 1), f"{small:,} saves", ">= 0.8x",
            "the reader waits while the inbox is full: no slow-down with size"),
        Row("flood_rss_large", f"peak RSS after {large:,} pipelined saves", "MB",
            round(peak_l, 1), round(idle_l, 1), "idle host", f"<= idle + {RSS_BUDGET_MB} MB",
            f"VmHWM; {within} idle + {RSS_BUDGET_MB} MB"),
    ]
