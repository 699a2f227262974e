"""``python -m tuckaway.cli``."""

import sys

from tuckaway.cli.main import main

sys.exit(main())
