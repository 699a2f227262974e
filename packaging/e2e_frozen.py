"""Run the browser tests (tests/e2e) against the FROZEN host, not `python -m tuckaway.wire.host`.

    bash packaging/build.sh
    bash .ci/keyring-session.sh python packaging/e2e_frozen.py -q tests/e2e/test_chromium.py
    TUCKAWAY_FROZEN_HOST=/elsewhere/tuckaway-host python packaging/e2e_frozen.py ...

The e2e harness writes a wrapper script per test that execs the host from
source; this runner swaps that one line for the bundle's `tuckaway-host`
(and fails loudly if the harness no longer writes it), then runs pytest with
the given arguments. The CLI the tests use to inspect the list stays the
source one: both read the same TUCKAWAY_HOME.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    frozen = Path(
        os.environ.get("TUCKAWAY_FROZEN_HOST") or REPO / "dist" / "tuckaway" / "tuckaway-host"
    )
    if not frozen.is_file():
        print(f"e2e_frozen: no host at {frozen}; run bash packaging/build.sh", file=sys.stderr)
        return 2
    sys.path[:0] = [str(REPO / "tests"), str(REPO / "host")]
    os.chdir(REPO)
    import e2e.harness as harness  # the module name pytest gives tests/e2e/harness.py

    original = harness.make_native_host

    def make_frozen_host(tmp: Path, **extra_env: str) -> Any:
        native = original(tmp, **extra_env)
        text = native.wrapper.read_text("utf-8")
        line = f"exec {harness._sh_quote(sys.executable)} -m tuckaway.wire.host"
        if line not in text:
            raise RuntimeError(f"the e2e wrapper changed; cannot swap in the frozen host:\n{text}")
        native.wrapper.write_text(text.replace(line, f"exec {harness._sh_quote(str(frozen))}"))
        return native

    harness.make_native_host = make_frozen_host
    import pytest

    return int(pytest.main(sys.argv[1:]))


if __name__ == "__main__":
    sys.exit(main())
