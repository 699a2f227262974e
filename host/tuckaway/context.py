"""Per-process wiring: settings, the database, the store, the outbox, backends.

Everything is created on first use so that ``hello`` on a cold start touches
only SQLite, and aiohttp or keyring are imported only by the ops that need
them. Backends are found by service name through ``BACKENDS``; the protocol
layer never imports one.
"""

from __future__ import annotations

import importlib
import os
import sqlite3
from functools import cached_property
from typing import TYPE_CHECKING, Any

from tuckaway.settings import Settings

if TYPE_CHECKING:
    import aiohttp

    from tuckaway.accounts.credentials import Credentials
    from tuckaway.delivery.outbox import Outbox
    from tuckaway.listing import Listing
    from tuckaway.services.base import Backend
    from tuckaway.store import Store

#: service name -> "module:factory"; a factory takes the Context and returns a Backend.
BACKENDS: dict[str, str] = {
    "local": "tuckaway.services.local.backend:create",
    "pocket": "tuckaway.services.pocket.backend:create",
    "mastodon": "tuckaway.services.mastodon.backend:create",
}
MASTODON_OPS = frozenset({"bookmark", "unbookmark"})
#: read ops served by a backend module: op -> "module:function" taking (ctx, **fields)
READS: dict[str, str] = {
    "bookmarks": "tuckaway.services.mastodon.backend:list_bookmarks",
    "bookmark_state": "tuckaway.services.mastodon.backend:bookmark_state",
    "sync": "tuckaway.services.pocket.backend:sync",
}
#: read op -> the service whose account it needs
READ_SERVICE: dict[str, str] = {
    "bookmarks": "mastodon",
    "bookmark_state": "mastodon",
    "sync": "pocket",
}
#: how a service is named in messages
SERVICE_NAMES = {"pocket": "Pocket", "mastodon": "Mastodon", "local": "the local list"}


class Context:
    """What one host process (or one CLI command) works with."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.owner = f"{os.getpid()}-{os.urandom(4).hex()}"
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
        from tuckaway import db

        return db.connect(self.settings.paths.db_path)

    @cached_property
    def store(self) -> Store:
        from tuckaway.store import Store

        return Store(self.db)

    def listing(self, ns: str) -> Listing:
        """Pages, search and tag counts of one list (``local`` or ``pocket``)."""
        from tuckaway.listing import Listing

        return Listing(self.db, ns)

    @cached_property
    def outbox(self) -> Outbox:
        from tuckaway.delivery.outbox import Outbox

        return Outbox(self.db, self.owner)

    @cached_property
    def credentials(self) -> Credentials:
        from tuckaway.accounts.credentials import Credentials

        return Credentials(self.settings, self.db)

    def is_linked(self, service: str) -> bool:
        from tuckaway.accounts.credentials import is_linked

        return is_linked(self.db, service)

    def accounts(self) -> dict[str, Any]:
        from tuckaway.accounts.credentials import accounts_summary

        return accounts_summary(self.db)

    @property
    def list_service(self) -> str:
        """The reading list's backend: ``pocket`` while linked, else ``local``."""
        return "pocket" if self.is_linked("pocket") else "local"

    def service_for(self, op: str) -> str:
        return "mastodon" if op in MASTODON_OPS else self.list_service

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

            from tuckaway import __version__

            self._http = aiohttp.ClientSession(
                headers={"User-Agent": f"Tuckaway/{__version__} (+native host)"},
                timeout=aiohttp.ClientTimeout(total=self.settings.request_timeout_s),
            )
        return self._http

    def backend(self, service: str) -> Backend:
        backend = self._backends.get(service)
        if backend is None:
            module_name, _, factory = BACKENDS[service].partition(":")
            module = importlib.import_module(module_name)
            backend = getattr(module, factory)(self)
            self._backends[service] = backend
        return backend

    async def read(self, op: str, **fields: Any) -> dict[str, Any]:
        """Run the read op ``op`` of the backend that serves it.

        Raises ``NotLinked`` before importing the backend when the service it
        needs has no account, and ``Unavailable`` (saying what to do) when the
        keyring that holds its token cannot be read.
        """
        from tuckaway.accounts.credentials import KeyringUnavailable, keyring_message

        service = READ_SERVICE[op]
        if not self.is_linked(service):
            from tuckaway.errors import NotLinked

            raise NotLinked(
                f"no {service} account is linked: sign in from the extension's options"
                f" page or run `tuckaway login {service}`"
            )
        module_name, _, function = READS[op].partition(":")
        handler = getattr(importlib.import_module(module_name), function)
        try:
            result: dict[str, Any] = await handler(self, **fields)
        except KeyringUnavailable as exc:  # locked, or its service is not running yet
            from tuckaway.errors import Unavailable

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
