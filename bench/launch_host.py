"""``tuckaway-host`` exactly as pip's console-script launcher starts it (no ``-m``, no runpy).

The benchmark runs this file with the venv's interpreter, so the host's cold
start is measured the way a browser pays it.
"""

import sys

from tuckaway.wire.host import main

if __name__ == "__main__":
    sys.argv[0] = sys.argv[0].removesuffix(".exe")
    sys.exit(main())
