"""A recording Pocket v3 stand-in on 127.0.0.1, with faults on demand.

A real aiohttp server running in its own thread (so both plain and async tests
can use it, and a host subprocess can reach it). It stores like Pocket by
delegating to :class:`tuckaway.store.ItemList` over its own SQLite file, checks
``consumer_key``/``access_token`` in the JSON body, and records every request.

Use::

    with PocketStandin(tmp_path) as pocket:
        env = host_env(home, TUCKAWAY_POCKET_URL=pocket.url)
        ...
        assert [a["action"] for a in pocket.sends()[0]] == ["add", "add"]

Faults (each applies to the requests that come after it is set):

``fail_next(status, times=1, headers=None, body="")``
    the next ``times`` requests are answered ``status`` with these headers;
    e.g. ``fail_next(503)``, ``fail_next(401)``.
``rate_limit(reset_s, times=1, window="User")``
    403 with ``X-Limit-User-Remaining: 0`` and ``X-Limit-User-Reset: reset_s``
    (``window="Key"`` for the consumer key's limit).
``reject_action(url, message="Invalid URL")``
    any action naming ``url`` (or the item saved under it) fails alone in
    ``/v3/send`` (``false`` + an ``action_errors`` entry, ``status: 0``);
    ``/v3/add`` of it answers 400.
``poison(url)``
    a ``/v3/send`` holding any action on ``url`` is refused whole with 400,
    as Pocket refuses a malformed batch; ``/v3/add`` of it too.
``delay(seconds, times=None)``
    wait this long before answering (the next ``times`` requests, or all).
``spend_allowance(reset_s)``
    the next 200 says ``X-Limit-User-Remaining: 0`` (reset in ``reset_s``):
    the call succeeded, and it was the last one the window allows.

How it describes items (attributes, changeable at any time):

``bare_adds``
    answer an add without the item, as some services do: ``/v3/add`` with
    ``{"status": 1}``, an ``add`` in ``/v3/send`` with ``true``.
``unlisted``
    urls whose items ``/v3/get`` leaves out (a listing that lags behind).
``item_extra``
    fields merged into every item ``/v3/add`` and ``/v3/send`` answer (huge
    ``images``, say).

Records: ``requests`` (every :class:`Recorded`), ``sends()`` (the action
lists of each ``/v3/send``), ``calls(path)``; the stored list: ``items``.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from threaded_standin import Fault, ServerThread

from tuckaway import db
from tuckaway.store import ItemList, Store, StoreError

CONSUMER_KEY = "4321-standin-consumer-key"
ACCESS_TOKEN = "standin-access-token-5f1e"


@dataclass
class Recorded:
    """One request as the stand-in received it, and the HTTP status it was answered."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: Any  # the parsed JSON body (None if there was none or it was not JSON)
    raw: str
    status: int = 0


class PocketStandin(ServerThread):
    """See the module docstring."""

    name = "pocket-standin"

    def __init__(
        self,
        directory: Path | None = None,
        *,
        consumer_key: str = CONSUMER_KEY,
        access_token: str = ACCESS_TOKEN,
        numeric_ids: bool = False,
        max_count: int | None = None,
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="pocket-standin-")
            directory = Path(self._tmp.name)
        self.conn = db.connect(Path(directory) / "pocket-standin.db")
        self.items: ItemList = Store(self.conn).items("local")
        self.consumer_key = consumer_key
        self.access_token = access_token
        #: answer item ids as JSON numbers (Pocket's docs) instead of strings (Pocket's servers)
        self.numeric_ids = numeric_ids
        #: cap ``/v3/get``'s ``count`` as Pocket did (30), so that clients must page
        self.max_count = max_count
        #: answer adds without the item (``{"status": 1}``, ``true``)
        self.bare_adds = False
        #: urls ``/v3/get`` does not list
        self.unlisted: set[str] = set()
        #: merged into every item an add answers
        self.item_extra: dict[str, Any] = {}
        self.requests: list[Recorded] = []
        self._faults: list[Fault] = []
        self._rejected: dict[str, str] = {}
        self._poisoned: set[str] = set()
        self._delay_s = 0.0
        self._spent: dict[str, str] = {}
        self._delay_times: int | None = None
        self._lock = threading.Lock()
        super().__init__()

    # -- faults ------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        body: str = "",
    ) -> None:
        with self._lock:
            self._faults.append(Fault(status, times, dict(headers or {}), body))

    def rate_limit(self, reset_s: int, times: int = 1, window: str = "User") -> None:
        self.fail_next(
            403,
            times,
            {
                f"X-Limit-{window}-Limit": "320",
                f"X-Limit-{window}-Remaining": "0",
                f"X-Limit-{window}-Reset": str(reset_s),
                "X-Error": "rate limit exceeded",
                "X-Error-Code": "199",
            },
        )

    def reject_action(self, url: str, message: str = "Invalid URL") -> None:
        with self._lock:
            self._rejected[url] = message

    def poison(self, url: str) -> None:
        with self._lock:
            self._poisoned.add(url)

    def spend_allowance(self, reset_s: int) -> None:
        with self._lock:
            self._spent = {
                "X-Limit-User-Limit": "320",
                "X-Limit-User-Remaining": "0",
                "X-Limit-User-Reset": str(reset_s),
            }

    def delay(self, seconds: float, times: int | None = None) -> None:
        with self._lock:
            self._delay_s, self._delay_times = seconds, times

    # -- records -----------------------------------------------------------------

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in list(self.requests) if r.path == path]

    def sends(self, *, accepted: bool = False) -> list[list[dict[str, Any]]]:
        """The ``actions`` of every ``/v3/send`` (only those answered 200 if ``accepted``)."""
        return [
            list(r.body["actions"])
            for r in self.calls("/v3/send")
            if r.body and (not accepted or r.status == 200)
        ]

    def writes(self) -> list[Recorded]:
        return [r for r in list(self.requests) if r.path in {"/v3/add", "/v3/send"}]

    # -- lifecycle ---------------------------------------------------------------

    def stop(self) -> None:
        super().stop()
        self.conn.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    # -- serving -----------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.text()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = Recorded(
            request.method, request.path, request.query_string, dict(request.headers), body, raw
        )
        self.requests.append(record)
        response = await self._answer(request, body)
        if response.status == 200:
            with self._lock:
                spent, self._spent = self._spent, {}
            response.headers.update(spent)
        record.status = response.status
        return response

    async def _answer(self, request: web.Request, body: Any) -> web.StreamResponse:
        with self._lock:
            delay = self._delay_s
            if self._delay_times is not None:
                self._delay_times -= 1
                if self._delay_times <= 0:
                    self._delay_s, self._delay_times = 0.0, None
            fault = self._faults[0] if self._faults else None
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.pop(0)
        if delay:
            await asyncio.sleep(delay)
        if fault is not None:
            return web.Response(status=fault.status, text=fault.body, headers=fault.headers)
        if request.method != "POST" or not isinstance(body, dict):
            return _error(400, "expected a JSON POST", 100)
        if body.get("consumer_key") != self.consumer_key:
            return _error(403, "Invalid consumer key.", 152)
        if body.get("access_token") != self.access_token:
            return _error(401, "Invalid access token.", 107)
        if request.path == "/v3/add":
            return self._add(body)
        if request.path == "/v3/send":
            return self._send(body)
        if request.path == "/v3/get":
            if self.max_count is not None:
                asked = int(body.get("count") or self.max_count)
                body = {**body, "count": min(asked, self.max_count)}
            answer = self.items.get(body)
            # Pocket's top-level since: the newest update among the items answered
            listed = answer["list"] or {}
            answer["since"] = max(
                (int(i["time_updated"]) for i in listed.values()), default=body.get("since") or 0
            )
            if self.unlisted and isinstance(answer["list"], dict):
                listed = {
                    k: v for k, v in answer["list"].items() if v["given_url"] not in self.unlisted
                }
                answer["list"] = listed or []
            return web.json_response(answer)
        return _error(404, "no such endpoint", 404)

    def _target_url(self, action: Mapping[str, Any]) -> str | None:
        if action.get("url"):
            return str(action["url"])
        if action.get("item_id"):
            item = self.items.get_item(str(action["item_id"]))
            return item.url if item else None
        return None

    def _add(self, body: dict[str, Any]) -> web.Response:
        url = body.get("url")
        if not isinstance(url, str) or not url:
            return _error(400, "Missing url", 100)
        if url in self._poisoned or url in self._rejected:
            return _error(400, self._rejected.get(url, "Invalid URL"), 422)
        try:
            item = self.items.apply({**body, "action": "add"})
        except StoreError as exc:
            return _error(exc.code if exc.code >= 400 else 400, exc.message, exc.code)
        if self.bare_adds:
            return web.json_response({"status": 1})
        return web.json_response({"item": self._item(item), "status": 1})

    def _send(self, body: dict[str, Any]) -> web.Response:
        actions = body.get("actions")
        if isinstance(actions, str):
            actions = json.loads(actions)
        if not isinstance(actions, list):
            return _error(400, "actions must be an array", 100)
        for action in actions:
            if not isinstance(action, dict) or not (action.get("url") or action.get("item_id")):
                if isinstance(action, dict) and action.get("action") in {
                    "tag_rename",
                    "tag_delete",
                }:
                    continue
                return _error(400, "an action names no item", 100)
            if self._target_url(action) in self._poisoned:
                return _error(400, "Invalid URL in batch", 130)
        results: list[Any] = []
        errors: list[Any] = []
        for action in actions:
            message = self._rejected.get(self._target_url(action) or "")
            if message is not None:
                results.append(False)
                errors.append({"message": message, "type": "Bad Request", "code": 422})
                continue
            try:
                result = self.items.apply(action)
            except StoreError as exc:
                results.append(False)
                errors.append(exc.to_pocket())
                continue
            if isinstance(result, dict) and action.get("action") == "add" and self.bare_adds:
                result = True
            results.append(self._item(result) if isinstance(result, dict) else result)
            errors.append(None)
        status = 0 if any(e is not None for e in errors) else 1
        return web.json_response(
            {"status": status, "action_results": results, "action_errors": errors}
        )

    def _item(self, item: dict[str, Any]) -> dict[str, Any]:
        item = {**item, **self.item_extra}
        if self.numeric_ids:
            return {**item, "item_id": int(item["item_id"])}
        return item


def _error(status: int, message: str, code: int) -> web.Response:
    return web.Response(
        status=status,
        text=f"<html><body>{status}</body></html>",
        headers={"X-Error": message, "X-Error-Code": str(code)},
    )
