"""Requests in, replies and events out: one handler per op.

Reads answer from SQLite at once (``ANSWERS``), wait on the user (``TASKS``)
or are a service's (the request model names it; the Context runs them).
Writes are recorded in the outbox (one commit for every write that arrived
together), acknowledged with ``queued``, and answered when the batcher settles
them. The dispatcher knows services only by name; the backends behind them
are the Context's business. This module answers the first ``hello``, so what
needs asyncio or pydantic is imported where it is used.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import sqlite3
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from tuckaway import PROTOCOL_VERSION, __version__, configfile, db
from tuckaway.context import Context
from tuckaway.errors import (
    Internal,
    InvalidMessage,
    InvalidRequest,
    NotFound,
    TuckawayError,
    Unavailable,
)
from tuckaway.urls import has_userinfo

if TYPE_CHECKING:
    import asyncio

    from tuckaway.articles import Articles
    from tuckaway.delivery.batcher import Batcher
    from tuckaway.delivery.waiters import Final
    from tuckaway.wire.protocol import ArticleGet, ListItems, Login, Request, SettingsSet

log = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], None]
Result = dict[str, Any]


def error_reply(rid: str | int | None, error: TuckawayError) -> dict[str, Any]:
    return {"id": rid, "ok": False, "error": error.to_wire()}


def ok_reply(rid: str | int, result: dict[str, Any]) -> dict[str, Any]:
    return {"id": rid, "ok": True, "result": result}


#: hello's accounts when the database cannot be read: nothing can be said linked
NO_ACCOUNTS: dict[str, Any] = {
    "pocket": {"linked": False, "username": None},
    "mastodon": {"linked": False, "instance": None, "acct": None},
    "wallabag": {"linked": False, "username": None, "instance": None},
    "readeck": {"linked": False, "username": None, "instance": None},
}


class Dispatcher:
    """Handles decoded messages for one port."""

    def __init__(self, ctx: Context, emit: Emit) -> None:
        self.ctx = ctx
        self.emit = emit
        self._tasks: set[asyncio.Task[None]] = set()
        self._batcher: Batcher | None = None

    @property
    def batcher(self) -> Batcher:
        if self._batcher is None:
            from tuckaway.delivery.batcher import Batcher  # asyncio: not before the first reply

            self._batcher = Batcher(self.ctx)
            self._batcher.start()
        return self._batcher

    # -- entry points --------------------------------------------------------

    def handle_many(self, messages: list[Any]) -> None:
        """Handle messages that arrived together; their writes share one commit."""
        writes: list[tuple[Request, list[str]]] = []
        for message in messages:
            try:
                request = self._take(message)
            except Exception:
                # A bug in validation or a read: this message fails alone, the port serves on.
                from tuckaway.wire.protocol import request_id

                rid = request_id(message)
                self.emit(error_reply(rid, _internal(rid)))
                continue
            if request is not None:
                writes.append((request, _notes(message)))
        if writes:
            self._accept_writes(writes)

    def _take(self, message: Any) -> Request | None:
        """Answer a read or a bad message now; a valid write is returned to be recorded."""
        if is_plain_hello(message):
            self._answer(message["id"], self._hello)
            return None
        # pydantic: not for a plain hello
        from tuckaway.wire.protocol import parse_request, request_id

        try:
            request = parse_request(message)
        except InvalidMessage as exc:
            self.emit(error_reply(None, exc))
            return None
        except InvalidRequest as exc:
            self.emit(error_reply(request_id(message), exc))
            return None
        if request.is_write:
            return request
        self._read(request)
        return None

    def start_background(self) -> None:
        """After the first reply: drain writes earlier processes left, sync the index.

        Neither blocks a reply; both run on the loop between requests.
        """
        try:
            self.batcher  # noqa: B018 - creating it starts the drain of due writes
            self.ctx.outbox.purge()
            if self.ctx.settings.sync_on_start and self.ctx.list_service != "local":
                self._background(self.ctx.read("sync"), "initial sync")
        except Exception:
            log.exception("background start-up work failed")

    def _background(self, work: Coroutine[Any, Any, object], what: str) -> None:
        import asyncio

        async def run() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s failed: %s", what, exc)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def reject(self, error: TuckawayError) -> None:
        """A frame that could not be read as a message."""
        self.emit(error_reply(None, error))

    async def finish(self, timeout_s: float) -> None:
        """EOF: deliver what was accepted (bounded), then stop waiting."""
        import asyncio

        if self._batcher is not None:
            await self._batcher.finish(timeout_s)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- reads ---------------------------------------------------------------

    def _answer(self, rid: str | int, handler: Callable[[], dict[str, Any]]) -> None:
        try:
            self.emit(ok_reply(rid, handler()))
        except TuckawayError as exc:
            self.emit(error_reply(rid, exc))
        except Exception:
            self.emit(error_reply(rid, _internal(rid)))

    def _read(self, request: Request) -> None:
        if request.handled_by is not None:  # a service's read: its backend module answers
            self._spawn(request.id, self.ctx.read(request.op, **request.payload()))
        elif request.op in TASKS:
            self._spawn(request.id, TASKS[request.op](self, request))
        else:
            answer = ANSWERS[request.op]
            self._answer(request.id, lambda: answer(self, request))

    def _hello(self) -> dict[str, Any]:
        problems = [{"kind": "config", **p.to_wire()} for p in self.ctx.settings.problems]
        result: dict[str, Any] = {
            "name": "tuckaway",
            "version": __version__,
            "protocol": PROTOCOL_VERSION,
        }
        try:
            result.update(
                backend=self.ctx.list_service,
                accounts=self.ctx.accounts(),
                pending=self.ctx.outbox.pending_count(),
            )
        except sqlite3.DatabaseError as exc:  # say so, so the options page can show it
            log.exception("hello: the database failed")
            problems.append(db.failure_problem(self.ctx.settings.paths.db_path, exc))
            result.update(backend="local", accounts=NO_ACCOUNTS, pending=0)
        if problems:
            result["problems"] = problems
        return result

    def _lookup(self, url: str) -> dict[str, Any]:
        item = self.ctx.store.items(self.ctx.list_service).lookup(url)
        pending = self.ctx.outbox.pending_for_url(url)
        if item is None:
            return {
                "saved": False,
                "item_id": None,
                "status": None,
                "favorite": False,
                "tags": [],
                "pending": pending,
                "has_article": False,
            }
        return {**item.to_lookup(), "pending": pending, "has_article": _articles(self).has(url)}

    def _tags(self, prefix: str, counts: bool = False) -> dict[str, Any]:
        from tuckaway.wire.protocol import MAX_TAG  # pydantic: not before the first reply

        # Tags a service synced in may be longer than a request may carry: offering them for
        # completion would only lead to a refused request (and could swell the reply).
        items = self.ctx.store.items(self.ctx.list_service)
        if counts:
            pairs = items.tag_counts(prefix)
            return {"tags": [{"tag": t, "count": n} for t, n in pairs if len(t) <= MAX_TAG]}
        names = items.tags(prefix)
        return {"tags": [name for name in names if len(name) <= MAX_TAG]}

    def _list(self, request: ListItems) -> dict[str, Any]:
        from tuckaway.listing import Query  # hashlib: not before the first reply

        query = Query(**request.payload())
        return self.ctx.listing(self.ctx.list_service).page(query)

    def _article(self, request: ArticleGet) -> dict[str, Any]:
        from tuckaway.articles import reply  # zlib: not before the first reply
        from tuckaway.store import DELETED
        from tuckaway.wire.framing import MAX_REPLY

        items = self.ctx.store.items(self.ctx.list_service)
        item_id: str | None
        if request.item_id is not None:
            item = items.get_item(request.item_id)
            if item is None or item.status == DELETED:
                raise NotFound(f"no saved item {request.item_id}")
            url, item_id = item.url, item.item_id
        else:
            assert request.url is not None  # the model asks for one of the two
            url, item_id = request.url, items.resolve(request.url)
        stored = _articles(self).get(url)
        if stored is None:
            raise NotFound(f"no copy of {url} is kept")
        try:
            return reply(stored, item_id, url, request.offset, MAX_REPLY)
        except ValueError as exc:
            raise InvalidRequest(str(exc), [{"loc": "offset", "msg": str(exc)}]) from None

    def _settings(self) -> dict[str, Any]:
        return configfile.describe(self.ctx.settings)

    def _settings_set(self, request: SettingsSet) -> dict[str, Any]:
        new = configfile.update(
            self.ctx.settings,
            request.changes(),
            tuple(request.reset),
            pocket_linked=self.ctx.is_linked("pocket"),
        )
        # This process uses the new values from its next batch; other running hosts
        # (another browser) when they next start.
        self.ctx.use_settings(new)
        return configfile.describe(new)

    async def _login(self, request: Login) -> dict[str, Any]:
        from tuckaway.accounts import signin as accounts  # aiohttp: only for a sign-in

        rid = request.id

        async def on_authorize(url: str) -> None:
            self.emit({"id": rid, "event": "authorize", "url": url})

        result: dict[str, Any]
        if request.service in {"wallabag", "readeck"}:
            from tuckaway.accounts import selfhosted

            result = await selfhosted.login(self.ctx, request, on_authorize)
        else:
            result = await accounts.login(self.ctx, request.service, request.instance, on_authorize)
        self.batcher.release_held(request.service)
        return result

    async def _logout(self, service: str) -> dict[str, Any]:
        from tuckaway.accounts import signin as accounts  # aiohttp: only for a sign-out

        result: dict[str, Any] = await accounts.logout(self.ctx, service)
        return result

    def _spawn(self, rid: str | int, work: Coroutine[Any, Any, Result]) -> None:
        import asyncio

        async def run() -> None:
            try:
                result = await work
            except TuckawayError as exc:
                self.emit(error_reply(rid, exc))
            except asyncio.CancelledError:
                raise
            except Exception:
                self.emit(error_reply(rid, _internal(rid)))
            else:
                self.emit(ok_reply(rid, result))

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- writes --------------------------------------------------------------

    def _accept_writes(self, writes: list[tuple[Request, list[str]]]) -> None:
        from tuckaway.delivery.batcher import NewWrite  # asyncio: not before the first reply
        from tuckaway.wire.protocol import Save

        new = [
            NewWrite(
                request.op,
                self.ctx.with_default_tags(request.op, request.payload()),
                self._event_sink(request.id),
                request.kept_article() if isinstance(request, Save) else None,
            )
            for request, _ in writes
        ]
        try:
            queued = self.batcher.enqueue(new)
        except Exception as exc:
            error: TuckawayError
            if db.is_disk_full(exc):
                log.warning("the disk is full: %d write(s) not recorded (%s)", len(new), exc)
                error = Unavailable(DISK_FULL)
            else:
                log.exception("could not record %d write(s)", len(new))
                error = Internal("could not record the write in the database; see the log file")
            for request, _ in writes:
                self.emit(error_reply(request.id, error))
            return
        for (request, notes), entry in zip(writes, queued, strict=True):
            self.emit({"id": request.id, "event": "queued"})
            entry.future.add_done_callback(self._reply_when_settled(request.id, notes))

    def _reply_when_settled(
        self, rid: str | int, notes: list[str]
    ) -> Callable[[asyncio.Future[Final]], None]:
        """The final reply of a write, sent when the batcher settles it (no task per write).

        ``notes``: what the host changed in the request, told in a successful reply.
        """

        def reply(future: asyncio.Future[Final]) -> None:
            if future.cancelled():  # the port closed and the host is stopping
                return
            final = future.result()
            if final.error is not None:
                self.emit(error_reply(rid, final.error))
            else:
                result = final.result or {}
                self.emit(ok_reply(rid, {**result, "notes": notes} if notes else result))

        return reply

    def _event_sink(self, rid: str | int) -> Callable[[dict[str, Any]], None]:
        def sink(event: dict[str, Any]) -> None:
            self.emit({"id": rid, **event})

        return sink


#: reads the host answers at once from its own files and settings
ANSWERS: dict[str, Callable[[Dispatcher, Any], Result]] = {
    "hello": lambda d, _: d._hello(),
    "lookup": lambda d, request: d._lookup(request.url),
    "tags": lambda d, request: d._tags(request.prefix or "", request.counts),
    "list": Dispatcher._list,
    "article": Dispatcher._article,
    "article_stats": lambda d, _: _articles(d).stats(),
    "articles_clear": lambda d, _: _articles(d).clear(),
    "settings": lambda d, _: d._settings(),
    "settings_set": Dispatcher._settings_set,
}
#: reads that wait on the user (a sign-in) or the keyring: run as tasks, the port keeps serving
TASKS: dict[str, Callable[[Dispatcher, Any], Coroutine[Any, Any, Result]]] = {
    "login": Dispatcher._login,
    "logout": lambda d, request: d._logout(request.service),
}


def _articles(dispatcher: Dispatcher) -> Articles:
    from tuckaway.articles import Articles  # zlib: not before the first reply

    return Articles(dispatcher.ctx.db)


#: the reply to a write the database could not record because the disk is full
DISK_FULL = (
    "the disk is full: the write could not be recorded (nothing was saved); "
    "free some space and try again"
)
#: the note a reply carries when the url's user name and password were left out
USERINFO_NOTE = "the user name and password in the url were removed: they are never stored or sent"


def _notes(message: Any) -> list[str]:
    """What the validator changed in a valid write that its caller should hear."""
    url = message.get("url") if isinstance(message, dict) else None
    return [USERINFO_NOTE] if isinstance(url, str) and has_userinfo(url) else []


def is_plain_hello(message: Any) -> bool:
    """``{"id": .., "op": "hello"}`` answered without loading the validation models."""
    if not isinstance(message, dict) or message.get("op") != "hello" or len(message) != 2:
        return False
    rid = message.get("id")
    if isinstance(rid, bool):
        return False
    if isinstance(rid, int):
        return -_MAX_SAFE_ID <= rid <= _MAX_SAFE_ID
    if not isinstance(rid, str) or not 1 <= len(rid) <= 64:
        return False
    try:
        rid.encode("utf-8")  # a lone surrogate: the validator says which field
    except UnicodeEncodeError:
        return False
    return True


#: protocol.MAX_SAFE_ID, repeated: that module (pydantic) is not loaded for the first hello
_MAX_SAFE_ID = 2**53 - 1


def _internal(rid: str | int | None) -> Internal:
    """Log the exception being handled under a fresh reference, and the error that carries it.

    The reference lets a user (or a bug report) find the traceback in the log.
    """
    ref = secrets.token_hex(4)
    log.exception("request %r failed (ref %s)", rid, ref)
    return Internal(f"the host hit an internal error (ref {ref}); details are in its log file", ref)
