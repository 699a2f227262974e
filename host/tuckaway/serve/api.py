"""The ``/v3`` list endpoints: ``add``, ``send`` and ``get`` over the ``local`` namespace.

Parameters are checked here, as strictly as Pocket checked them, before the
store sees them: a malformed ``/v3/send`` is refused whole with a 400 and
changes nothing. What each action does is the store's business.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tuckaway.serve.auth import Gate
from tuckaway.serve.errors import ApiError, Code, bad_request
from tuckaway.serve.params import int_param, is_web_url, json_response, text
from tuckaway.store import ITEM_ACTIONS, ItemList

#: the store namespace this server publishes
NAMESPACE = "local"


def _time(value: object) -> int | None:
    """An action time as Pocket clients send it (number or numeric string); else now."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        when = int(float(value))
    except (ValueError, OverflowError):
        return None
    return when if when > 0 else None


def _tags_param(value: object, where: str) -> str | list[str] | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return value
    raise bad_request(f"{where}: tags must be a comma-separated string")


def check_actions(raw: object) -> list[dict[str, Any]]:
    """The ``actions`` of a ``/v3/send``, or ApiError(400) refusing the whole batch."""
    if raw is None or raw == "":
        raise bad_request("Missing actions", Code.INVALID_ACTION)
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise bad_request("actions is not valid JSON", Code.INVALID_ACTION) from None
    if not isinstance(raw, list):
        raise bad_request("actions must be a JSON array", Code.INVALID_ACTION)
    for index, action in enumerate(raw):
        _check_action(action, f"action {index}")
    return raw


def _check_action(action: object, where: str) -> None:
    def refuse(message: str) -> ApiError:
        return bad_request(f"{where}{message}", Code.INVALID_ACTION)

    if not isinstance(action, dict):
        raise refuse(" is not an object")
    name = action.get("action")
    url = action.get("url")
    if url is not None and not (isinstance(url, str) and is_web_url(url)):
        raise refuse(": url must be an http(s) URL")
    item_id = action.get("item_id")
    if item_id is not None and (isinstance(item_id, bool) or not isinstance(item_id, str | int)):
        raise refuse(": item_id must be a string")
    for key in ("title", "old_tag", "new_tag", "tag"):
        if action.get(key) is not None and not isinstance(action[key], str):
            raise refuse(f": {key} must be a string")
    _tags_param(action.get("tags"), where)
    if (name in ITEM_ACTIONS or name == "add") and item_id in (None, "") and not url:
        raise refuse(f" ({name}) needs item_id or url")


class ListApi:
    """The handlers of ``/v3/add``, ``/v3/send`` and ``/v3/get``."""

    def __init__(self, gate: Gate, items: ItemList) -> None:
        self.gate = gate
        self.items = items

    async def add(self, request: web.Request) -> web.Response:
        params = await self.gate.authed(request)
        url = text(params, "url")
        if url is None:
            raise bad_request("Missing url")
        if not is_web_url(url):
            raise bad_request("url must be an http(s) URL")
        title = text(params, "title")
        tags = _tags_param(params.get("tags"), "add")
        when = _time(params.get("time"))
        item = self.items.add(url, title=title, tags=tags, now=when or None)
        return json_response({"item": item.to_pocket("complete"), "status": 1})

    async def send(self, request: web.Request) -> web.Response:
        params = await self.gate.authed(request)
        actions = check_actions(params.get("actions"))
        results, errors = self.items.send(actions)
        ok = all(r is not False and e is None for r, e in zip(results, errors, strict=True))
        return json_response(
            {"status": 1 if ok else 0, "action_results": results, "action_errors": errors}
        )

    async def get(self, request: web.Request) -> web.Response:
        params = await self.gate.authed(request)
        query: dict[str, str | int | None] = {}
        for name in ("state", "favorite", "tag", "contentType", "sort", "detailType"):
            query[name] = text(params, name)
        for name in ("search", "domain"):
            query[name] = text(params, name)
        for name in ("since", "count", "offset"):
            query[name] = int_param(params, name)
        if query["state"] not in {None, "unread", "archive", "all"}:
            raise bad_request("state must be unread, archive or all")
        if query["detailType"] not in {None, "simple", "complete"}:
            raise bad_request("detailType must be simple or complete")
        if query["count"] == 0:
            query["count"] = None
        return json_response(self.items.get(query))


__all__ = ["NAMESPACE", "ListApi", "check_actions"]
