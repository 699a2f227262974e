"""Tuckaway's benchmark: every row a ratio against a baseline measured in the same run.

    python bench/run.py [--quick] [--json FILE] [--record]

``--record`` keeps the run: appended to bench/history.jsonl (with the commit
and the machine), written to bench/results.json, and the README's table
regenerated from it.

Rows (docs/performance.md explains each one):

* cold start: spawn to the first ``hello`` reply, ``tuckaway-host`` vs the
  stdlib echo host (bench/echo_host.py), median of interleaved runs; also the
  frozen bundle (dist/tuckaway/tuckaway-host, or built here with PyInstaller
  on a full run when it is installed);
* warm save round trip (p50, p99) into the local store, vs the echo host;
* throughput: saves per second over one port into the local store, vs echo;
* memory: peak RSS of an idle host, and after 100,000 writes, vs echo;
* flood: throughput and peak RSS at 10,000 and 100,000 pipelined saves (bench/flood.py);
* Pocket rows against ``tuckaway serve`` (bench/pocket.py);
* the list page's ``list`` and search over 100,000 items (bench/listing.py);
* a save carrying a 1 MB article vs a plain save (bench/article.py);
* wallabag and Readeck: service calls per burst and per edits (bench/services.py).

Nothing here asserts a time: the numbers are printed and written as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in {None, ""}:  # run as a script: make ``bench.*`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.client import BUNDLE, ECHO, REPO, TUCKAWAY_HOST, Port, compile_host, frame, host_env
from bench.readme import update_readme

HISTORY = REPO / "bench" / "history.jsonl"
RESULTS = REPO / "bench" / "results.json"


@dataclass
class Row:
    """One line of the table."""

    key: str
    label: str
    unit: str
    value: float | None = None
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    note: str = ""
    skipped: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = None if self.ratio is None else round(self.ratio, 3)
        data["status"] = "skipped" if self.skipped else "ok"
        return data


@dataclass
class Config:
    quick: bool
    work: Path
    cold_runs: int
    first_runs: int
    round_trips: int
    throughput_saves: int
    memory_writes: int
    burst: int = 100
    bundle: Path | None = None

    @classmethod
    def make(cls, quick: bool, work: Path) -> Config:
        if quick:
            return cls(quick, work, cold_runs=5, first_runs=2, round_trips=100,
                       throughput_saves=1000, memory_writes=1000)
        return cls(quick, work, cold_runs=21, first_runs=5, round_trips=1000,
                   throughput_saves=10_000, memory_writes=100_000)

    def home(self, name: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.work))
        return path / "home"

    def stderr(self, name: str) -> Path:
        return self.work / f"{name}.stderr"


def ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100.0 * (len(ordered) - 1))))
    return ordered[index]


def save_request(rid: int, tag: str = "bench") -> dict[str, Any]:
    return {"id": rid, "op": "save", "url": f"https://example.com/{tag}/{rid}",
            "title": f"Bench page {rid}"}


# -- cold start ------------------------------------------------------------------


HELLO = frame({"id": 1, "op": "hello"})


def time_to_hello(command: Sequence[str], env: dict[str, str], stderr: Path) -> float:
    """Seconds from spawn to the first ``hello`` reply (hello written at once, as browsers do)."""
    start = time.perf_counter()
    port = Port(command, env, stderr)
    port.send_raw(HELLO)
    reply = port.final(1)
    elapsed = time.perf_counter() - start
    port.close()
    if not reply.get("ok"):
        raise RuntimeError(f"hello failed: {reply}")
    return elapsed


def build_bundle(work: Path) -> Path | None:
    """The frozen bundle, built with PyInstaller into ``work`` (None: PyInstaller is missing)."""
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        return None
    dist = work / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "ERROR",
         "--distpath", str(dist), "--workpath", str(work / "pyinstaller"),
         str(REPO / "packaging" / "tuckaway.spec")],
        cwd=REPO, capture_output=True, text=True,
    )
    host = dist / "tuckaway" / "tuckaway-host"
    if built.returncode != 0 or not host.exists():
        print(f"# the bundle did not build:\n{built.stderr[-2000:]}", file=sys.stderr)
        return None
    return host


def cold_start(cfg: Config) -> list[Row]:
    kinds: dict[str, list[str]] = {"echo": ECHO, "host": TUCKAWAY_HOST}
    if cfg.bundle is not None:
        kinds["bundle"] = [str(cfg.bundle)]
    envs = {name: host_env(cfg.home(f"cold-{name}")) for name in kinds}
    for name, command in kinds.items():  # one untimed run: page cache, database created
        time_to_hello(command, envs[name], cfg.stderr(f"cold-{name}"))
    times: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(cfg.cold_runs):
        for name, command in kinds.items():
            times[name].append(time_to_hello(command, envs[name], cfg.stderr(f"cold-{name}")))
    first: dict[str, list[float]] = {"echo": [], "host": []}
    for i in range(cfg.first_runs):  # a brand-new home: the very first start after install
        for name in first:
            env = host_env(cfg.home(f"first-{name}-{i}"))
            first[name].append(time_to_hello(kinds[name], env, cfg.stderr(f"first-{name}")))
    echo = statistics.median(times["echo"])
    rows = [
        Row("cold_start_host", "cold start to hello: tuckaway-host", "ms",
            ms(statistics.median(times["host"])), ms(echo), "echo host", "<= 2x",
            f"median of {cfg.cold_runs} interleaved runs; fastest {ms(min(times['host'])):.0f} "
            f"vs {ms(min(times['echo'])):.0f}",
            extra={"runs_ms": [ms(t) for t in times["host"]],
                   "baseline_runs_ms": [ms(t) for t in times["echo"]]}),
    ]
    if "bundle" in times:
        rows.append(Row("cold_start_bundle", "cold start to hello: frozen bundle", "ms",
                        ms(statistics.median(times["bundle"])), ms(echo), "echo host", "<= 2x",
                        f"median of {cfg.cold_runs} interleaved runs; fastest "
                        f"{ms(min(times['bundle'])):.0f}",
                        extra={"runs_ms": [ms(t) for t in times["bundle"]]}))
    else:
        rows.append(Row("cold_start_bundle", "cold start to hello: frozen bundle", "ms",
                        skipped="no bundle at dist/tuckaway/tuckaway-host and no PyInstaller "
                        "to build one (pip install -e '.[build]')"))
    rows.append(Row("first_start_host", "first start (empty home) to hello", "ms",
                    ms(statistics.median(first["host"])), ms(statistics.median(first["echo"])),
                    "echo host", "",
                    f"median of {cfg.first_runs}; creates the database"))
    return rows


# -- warm round trip, throughput, memory ------------------------------------------


def round_trips(port: Port, count: int, tag: str, first_id: int = 1000) -> list[float]:
    """Sequential saves on a warm port: seconds from request to final reply."""
    out: list[float] = []
    for i in range(count):
        request = save_request(first_id + i, tag)
        data = frame(request)
        start = time.perf_counter()
        port.send_raw(data)
        reply = port.final(request["id"])
        out.append(time.perf_counter() - start)
        if not reply.get("ok"):
            raise RuntimeError(f"save failed: {reply}")
    return out


def pipelined(port: Port, count: int, tag: str, first_id: int = 100_000) -> float:
    """Saves per second: ``count`` saves written back to back, until the last final reply."""
    frames = [frame(save_request(first_id + i, tag)) for i in range(count)]
    start = time.perf_counter()
    pump = port.send_all_in_background(frames)
    finals = 0
    failed = 0
    while finals < count:
        message = port.recv()
        if "ok" in message:
            finals += 1
            failed += not message["ok"]
    elapsed = time.perf_counter() - start
    pump.join()
    if failed:
        raise RuntimeError(f"{failed} of {count} saves failed")
    return count / elapsed


def warm_port(command: Sequence[str], cfg: Config, name: str) -> Port:
    port = Port(command, host_env(cfg.home(name)), cfg.stderr(name))
    if not port.request({"id": 1, "op": "hello"}).get("ok"):
        raise RuntimeError(f"{name}: hello failed")
    round_trips(port, 20, f"warmup-{name}", first_id=10)  # models loaded, database warm
    return port


def fsync_floor(directory: Path, count: int) -> list[float]:
    """Seconds per fsync of a small append in ``directory``: the disk's price of durability."""
    path = directory / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    out: list[float] = []
    try:
        for _ in range(count):
            os.write(fd, b"x" * 200)
            start = time.perf_counter()
            os.fsync(fd)
            out.append(time.perf_counter() - start)
    finally:
        os.close(fd)
        path.unlink()
    return out


def local_rows(cfg: Config) -> list[Row]:
    idle: dict[str, dict[str, int]] = {}
    trips: dict[str, list[float]] = {}
    rate: dict[str, float] = {}
    after: dict[str, dict[str, int]] = {}
    for name, command in (("echo", ECHO), ("host", TUCKAWAY_HOST)):
        # idle: a fresh host that answered hello and then waited a moment
        port = Port(command, host_env(cfg.home(f"idle-{name}")), cfg.stderr(f"idle-{name}"))
        port.request({"id": 1, "op": "hello"})
        time.sleep(0.5)
        idle[name] = port.memory_kb()
        port.close()

        port = warm_port(command, cfg, f"local-{name}")
        trips[name] = round_trips(port, cfg.round_trips, f"rt-{name}")
        rate[name] = pipelined(port, cfg.throughput_saves, f"tp-{name}")
        written = 20 + cfg.round_trips + cfg.throughput_saves
        if written < cfg.memory_writes:
            pipelined(port, cfg.memory_writes - written, f"mem-{name}", first_id=1_000_000)
        after[name] = port.memory_kb()
        port.close()
    p50 = {k: percentile(v, 50) for k, v in trips.items()}
    p99 = {k: percentile(v, 99) for k, v in trips.items()}
    writes = max(cfg.memory_writes, 20 + cfg.round_trips + cfg.throughput_saves)
    fsyncs = fsync_floor(cfg.work, 50 if cfg.quick else 200)
    return [
        Row("fsync_floor", "fsync of a small append (disk floor)", "ms",
            ms(statistics.median(fsyncs)), note=f"p99 {ms(percentile(fsyncs, 99)):.2f} ms; "
            "each save commits to SQLite (synchronous=FULL)"),
        Row("local_rt_p50", "save round trip p50, local store", "ms", ms(p50["host"]),
            ms(statistics.median(fsyncs)), "fsync floor", "<= 3x",
            f"{cfg.round_trips} sequential saves; echo host {ms(p50['echo']):.2f} ms"),
        Row("local_rt_p99", "save round trip p99, local store", "ms", ms(p99["host"]),
            ms(p99["echo"]), "echo host", "<= 5 ms", f"{cfg.round_trips} sequential saves"),
        Row("local_throughput", "throughput into the local store", "saves/s",
            round(rate["host"], 1), round(rate["echo"], 1), "echo host", ">= 20000",
            f"{cfg.throughput_saves} pipelined saves over one port"),
        Row("rss_idle", "peak RSS, idle (after hello)", "MB",
            round(idle["host"]["VmHWM"] / 1024, 1), round(idle["echo"]["VmHWM"] / 1024, 1),
            "echo host", "<= 30 MB",
            f"VmHWM; VmRSS {idle['host']['VmRSS'] / 1024:.1f} MB"),
        Row("rss_after_writes", f"peak RSS after {writes:,} writes", "MB",
            round(after["host"]["VmHWM"] / 1024, 1), round(idle["host"]["VmHWM"] / 1024, 1),
            "idle host", "<= idle + 15 MB",
            f"VmHWM; VmRSS {after['host']['VmRSS'] / 1024:.1f} MB; echo host "
            f"{after['echo']['VmHWM'] / 1024:.1f} MB"),
    ]


# -- output ------------------------------------------------------------------------


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(rows: Sequence[Row]) -> str:
    header = ("row", "unit", "tuckaway", "baseline", "ratio", "target", "notes")
    lines = [header]
    for row in rows:
        if row.skipped:
            lines.append((row.label, row.unit, "skipped", "", "", row.target, row.skipped))
            continue
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
        baseline = f"{fmt(row.baseline)} ({row.baseline_name})" if row.baseline_name else "-"
        lines.append((row.label, row.unit, fmt(row.value), baseline, ratio, row.target, row.note))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "loadavg": load()}


def load() -> list[float]:
    """1, 5 and 15-minute load averages: other work on the machine shows in the timings."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


Section = Callable[[Config], list[Row]]


def sections() -> list[tuple[str, Section]]:
    from bench.article import article_rows
    from bench.flood import flood_rows
    from bench.listing import listing_rows
    from bench.pocket import pocket_rows
    from bench.services import service_rows

    return [
        ("cold start", cold_start),
        ("local store", local_rows),
        ("flood", flood_rows),
        ("list page", listing_rows),
        ("kept pages", article_rows),
        ("pocket", pocket_rows),
        ("wallabag and Readeck", service_rows),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke test, ~20 s)")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON to FILE")
    parser.add_argument("--record", action="store_true",
                        help="append to bench/history.jsonl, write bench/results.json and "
                        "regenerate the README's table")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    load_before = load()
    work = Path(tempfile.mkdtemp(prefix="tuckaway-bench-"))
    cfg = Config.make(args.quick, work)
    compile_host()
    rows: list[Row] = []
    try:
        cfg.bundle = BUNDLE if BUNDLE.exists() else None
        if cfg.bundle is None and not args.quick:
            t0 = time.perf_counter()
            cfg.bundle = build_bundle(work)
            print(f"# bundle built: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        for title, section in sections():
            t0 = time.perf_counter()
            rows.extend(section(cfg))
            print(f"# {title}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.perf_counter() - started
    print(table(rows))
    info = machine()
    info["loadavg_before"] = load_before
    print(f"\n{info['cpu']}, {info['cores']} cores, Python {info['python']}; "
          f"{'quick' if args.quick else 'full'} run in {elapsed:.1f} s; load average "
          f"{load_before[0] if load_before else '?'} before, "
          f"{info['loadavg'][0] if info['loadavg'] else '?'} after")
    result = {"quick": args.quick, "elapsed_s": round(elapsed, 2), "machine": info,
              "commit": commit(), "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "rows": [row.to_json() for row in rows]}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    if args.record:
        with HISTORY.open("a", encoding="utf-8") as history:
            history.write(json.dumps(result, separators=(",", ":")) + "\n")
        RESULTS.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
        update_readme(REPO / "README.md", result)
    return 0


def commit() -> str:
    """The commit measured (``+dirty`` when the work tree has changes)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "host", "bench"],
                               cwd=REPO, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty.strip() else "")


if __name__ == "__main__":
    sys.exit(main())
