"""The ``tuckaway`` command line: every command, and the only code that prints.

Commands call library functions that return data, and print it. May import
anything in the package.
"""

from tuckaway.cli.main import main

__all__ = ["main"]
