"""What ``tuckaway-host`` imports before its first reply, from ``python -X importtime``.

    python bench/importprofile.py [--top N]

Runs the host once under ``-X importtime`` in a throwaway home, sends
``hello``, and cuts the import log at the moment the first frame is written
(a marker written to stderr from inside the process, so the cut is exact).
Prints the modules imported before it, the heaviest first (self time), and
the total.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in {None, ""}:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.client import compile_host, frame, host_env

MARKER = "tuckaway-bench: first reply written"
# Runs inside the host process: mark the first frame written, then run the host as usual.
_DRIVER = f"""
import os, sys
import tuckaway.wire.framing as framing
_write = framing.FrameWriter.write
def write(self, message):
    _write(self, message)
    if not getattr(framing, "_bench_marked", False):
        framing._bench_marked = True
        os.write(2, b"{MARKER}\\n")
framing.FrameWriter.write = write
from tuckaway.wire.host import main
sys.exit(main([]))
"""
_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def profile() -> tuple[list[tuple[str, int, int, int]], list[str]]:
    """(module, self us, cumulative us, depth) imported before the first reply; and after."""
    compile_host()
    with tempfile.TemporaryDirectory(prefix="tuckaway-importtime-") as work:
        env = host_env(Path(work) / "home")
        # a first run creates the database, so the profile is that of a usual start
        for _ in range(2):
            done = subprocess.run(
                [sys.executable, "-X", "importtime", "-c", _DRIVER],
                input=frame({"id": 1, "op": "hello"}), env=env, capture_output=True, timeout=60,
            )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode(errors="replace")[-2000:])
    before: list[tuple[str, int, int, int]] = []
    after: list[str] = []
    marked = False
    for line in done.stderr.decode(errors="replace").splitlines():
        if line.startswith(MARKER):
            marked = True
            continue
        match = _LINE.match(line)
        if not match:
            continue
        name = match.group(4)
        if marked:
            after.append(name)
        else:
            before.append((name, int(match.group(1)), int(match.group(2)),
                           len(match.group(3)) // 2))
    if not marked:
        raise RuntimeError("the host never wrote a frame")
    return before, after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="imports before tuckaway-host's first reply")
    parser.add_argument("--top", type=int, default=25, help="how many modules to list")
    args = parser.parse_args(argv)
    before, after = profile()
    ours = [m for m in before if m[0].startswith("tuckaway")]
    total = sum(m[1] for m in before)
    print(f"{len(before)} modules imported before the first reply ({total / 1000:.1f} ms "
          f"self time in total); {len(ours)} of them tuckaway's: "
          f"{', '.join(m[0] for m in ours)}")
    print(f"{'self ms':>8} {'cum ms':>8}  module")
    for name, self_us, cum_us, _depth in sorted(before, key=lambda m: -m[1])[: args.top]:
        print(f"{self_us / 1000:8.2f} {cum_us / 1000:8.2f}  {name}")
    print(f"\nafter the first reply: {len(after)} modules, e.g. "
          f"{', '.join(sorted(n for n in after if '.' not in n)[:15])}")
    heavy = {"aiohttp", "keyring", "pydantic", "sqlite3", "asyncio", "ssl"}
    loaded = sorted(heavy & {m[0] for m in before})
    print(f"heavy modules before the first reply: {', '.join(loaded) or 'none'}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "0")
    sys.exit(main())
