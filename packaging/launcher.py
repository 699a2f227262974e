"""The one entry script of the frozen bundle: dispatch on the executable's own name.

The bundle holds two executables built from this one script, ``tuckaway`` and
``tuckaway-host`` (``.exe`` on Windows), that share one ``_internal`` folder.
The host branch imports only what the host needs, so its cold start stays
that of ``tuckaway-host`` from a virtualenv minus the interpreter's search.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> int:
    exe = sys.executable if getattr(sys, "frozen", False) else sys.argv[0]
    if Path(exe).stem.lower().startswith("tuckaway-host"):
        from tuckaway.wire.host import main as host_main

        return host_main()
    from tuckaway.cli.main import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
