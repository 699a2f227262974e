"""Per-process wiring: settings, the database, the store, the outbox, backends.

Everything is created on first use, and this module is on the first
``hello``'s path: that reply touches only SQLite, so the modules that bring
in pydantic (the protocol's tables), aiohttp or keyring are imported by the
methods that need them. Backends come from a mapping of service name to
factory (``BACKENDS`` unless a test passes its own); the protocol layer never
imports one.
"""

from __future__ import annotations

import importlib
import os
import sqlite3
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from tuckaway import __version__, db
from tuckaway.accounts.credentials import (
    Credentials,
    KeyringUnavailable,
    accounts_summary,
    is_linked,
    keyring_message,
)
from tuckaway.delivery.outbox import Outbox
from tuckaway.errors import NotLinked, Unavailable
from tuckaway.settings import Settings

if TYPE_CHECKING:
    import aiohttp

    from tuckaway.listing import Listing
    from tuckaway.services.base import Backend
    from tuckaway.store import Store

#: makes the backend of one service for a Context
BackendFactory = Callable[["Context"], "Backend"]
#: service -> the module with its backend (``create(ctx)``) and the reads it serves
SERVICE_MODULES: dict[str, str] = {
    "local": "tuckaway.services.local.backend",
    "pocket": "tuckaway.services.pocket.backend",
    "mastodon": "tuckaway.services.mastodon.backend",
    "wallabag": "tuckaway.services.wallabag.backend",
    "readeck": "tuckaway.services.readeck.backend",
}
#: the services that can hold the reading list, in the order ``list_service`` asks
LIST_SERVICES = ("pocket", "wallabag", "readeck")
#: read op -> its function in the service's module, taking (ctx, **fields): the protocol's
#: reads a service answers (``protocol.READ_SERVICE``), and the host's own ``sync``
READS: dict[str, str] = {
    "bookmarks": "list_bookmarks",
    "bookmark_state": "bookmark_state",
    "sync": "sync",
}
#: reads that are not protocol ops -> their service ("list": the linked list service)
OWN_READS: dict[str, str] = {"sync": "list"}
#: how a service is named in messages
SERVICE_NAMES = {
    "pocket": "Pocket",
    "mastodon": "Mastodon",
    "wallabag": "wallabag",
    "readeck": "Readeck",
    "local": "the local list",
}


def _from_module(service: str) -> BackendFactory:
    """The service module's ``create``, imported when the first write needs it."""

    def create(ctx: Context) -> Backend:
        factory: BackendFactory = importlib.import_module(SERVICE_MODULES[service]).create
        return factory(ctx)

    return create


#: the real backends, by service
BACKENDS: Mapping[str, BackendFactory] = {name: _from_module(name) for name in SERVICE_MODULES}


class Context:
    """What one host process (or one CLI command) works with."""

    def __init__(
        self, settings: Settings, backends: Mapping[str, BackendFactory] = BACKENDS
    ) -> None:
        self.settings = settings
        self.owner = f"{os.getpid()}-{os.urandom(4).hex()}"
        self._factories = backends
        self._backends: dict[str, Backend] = {}
        self._http: aiohttp.ClientSession | None = None

    @classmethod
    def open(cls, settings: Settings | None = None) -> Context:
        settings = settings or Settings.load()
        settings.ensure_dirs()
        return cls(settings)

    def use_settings(self, settings: Settings) -> None:
        """New settings (the options page changed config.toml), for everything from now on."""
        self.settings = settings
        self.__dict__.pop("credentials", None)  # it holds the settings it was made with

    @cached_property
    def db(self) -> sqlite3.Connection:
        return db.connect(self.settings.paths.db_path)

    @cached_property
    def store(self) -> Store:
        from tuckaway.store import Store  # it imports the protocol's tables (pydantic)

        return Store(self.db)

    def listing(self, ns: str) -> Listing:
        """Pages, search and tag counts of one list (``local`` or ``pocket``)."""
        from tuckaway.listing import Listing  # hashlib: not before the first reply

        return Listing(self.db, ns)

    @cached_property
    def outbox(self) -> Outbox:
        return Outbox(self.db, self.owner)

    @cached_property
    def credentials(self) -> Credentials:
        return Credentials(self.settings, self.db)

    def is_linked(self, service: str) -> bool:
        return is_linked(self.db, service)

    def accounts(self) -> dict[str, Any]:
        return accounts_summary(self.db)

    @property
    def list_service(self) -> str:
        """The reading list's backend: the linked list service (Pocket, wallabag or
        Readeck; one at most), else ``local``."""
        return next((s for s in LIST_SERVICES if self.is_linked(s)), "local")

    def service_for(self, op: str) -> str:
        """The service a write op goes to (the reading list's: local or Pocket)."""
        from tuckaway.wire.protocol import WRITE_SERVICE  # pydantic: not on hello's path

        service = WRITE_SERVICE[op]
        return self.list_service if service == "list" else service

    def read_service(self, op: str) -> str:
        """The service whose account the read ``op`` needs."""
        from tuckaway.wire.protocol import READ_SERVICE  # pydantic: not on hello's path

        own = OWN_READS.get(op)
        if own == "list":  # with no list service linked, the message names Pocket
            return self.list_service if self.list_service != "local" else "pocket"
        return own or READ_SERVICE[op]

    def with_default_tags(self, op: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A write's payload as it is recorded: a save naming no tags gets ``default_tags``.

        The browser and the command line both go through here, so a script's
        save is the same as a click's.
        """
        defaults = self.settings.default_tags
        if op == "save" and defaults and not payload.get("tags"):
            return {**payload, "tags": list(defaults)}
        return payload

    async def http(self) -> aiohttp.ClientSession:
        """The one shared client session (created on first use)."""
        if self._http is None or self._http.closed:
            import aiohttp

            self._http = aiohttp.ClientSession(
                headers={"User-Agent": f"Tuckaway/{__version__} (+native host)"},
                timeout=aiohttp.ClientTimeout(total=self.settings.request_timeout_s),
            )
        return self._http

    def backend(self, service: str) -> Backend:
        backend = self._backends.get(service)
        if backend is None:
            backend = self._factories[service](self)
            self._backends[service] = backend
        return backend

    async def read(self, op: str, **fields: Any) -> dict[str, Any]:
        """Run the read op ``op`` of the backend that serves it.

        Raises ``NotLinked`` before importing the backend when the service it
        needs has no account, and ``Unavailable`` (saying what to do) when the
        keyring that holds its token cannot be read.
        """
        service = self.read_service(op)
        if not self.is_linked(service):
            raise NotLinked(
                f"no {service} account is linked: sign in from the extension's options"
                f" page or run `tuckaway login {service}`"
            )
        module = importlib.import_module(SERVICE_MODULES[service])
        handler = getattr(module, READS[op])
        try:
            result: dict[str, Any] = await handler(self, **fields)
        except KeyringUnavailable as exc:  # locked, or its service is not running yet
            raise Unavailable(keyring_message(SERVICE_NAMES[service], exc, write=False)) from exc
        return result

    async def aclose(self) -> None:
        for backend in self._backends.values():
            await backend.aclose()
        self._backends.clear()
        if self._http is not None:
            await self._http.close()
            self._http = None
        if "db" in self.__dict__:
            self.db.close()
            del self.__dict__["db"]
