"""Tuckaway: the native-messaging host and command line behind the browser extension.

Importing the package is cheap on purpose: the browser starts the host on the
first click of a session, so heavy modules (aiohttp, keyring, sqlite) are
imported by the code that needs them, never here.
"""

from __future__ import annotations

__version__ = "0.1.0"
PROTOCOL_VERSION = 1
HOST_NAME = "org.tuckaway.host"

__all__ = ["HOST_NAME", "PROTOCOL_VERSION", "__version__"]
