"""The ``/v3`` list endpoints: ``add``, ``send`` and ``get`` over the ``local`` namespace.

Parameters are checked here, exactly as strictly as Pocket's own server checked
them (its ``SendActionValidators``, ``AddSchema`` and ``GetSchema``), so that
what passes ``serve`` passes Pocket: a malformed ``/v3/send`` is refused whole
with a 400 (``X-Error-Code`` 130) and changes nothing. Stored times are the
server's: a client's ``time`` is checked, never stored (clients send
milliseconds, or clocks that are off). What each action does is the store's
business.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from aiohttp import web

from tuckaway.articles import Articles, reading_minutes
from tuckaway.serve.auth import Gate
from tuckaway.serve.errors import ApiError, Code, bad_request
from tuckaway.serve.params import Params, int_param, is_web_url, json_response, text
from tuckaway.store import ITEM_ACTIONS, Item, ItemList

#: the store namespace this server publishes
NAMESPACE = "local"

_TAG_ACTIONS = frozenset({"tags_add", "tags_remove", "tags_replace"})
#: Pocket's ``state`` values and what they ask for (queue and read are old names)
_STATES = {
    "unread": "unread",
    "queue": "unread",
    "archive": "archive",
    "read": "archive",
    "all": "all",
}
#: sorts Pocket took; relevance without a search, shortest and longest answered newest
_SORTS = {"newest": "newest", "oldest": "oldest", "title": "title", "site": "site"}
_SORTS |= {"relevance": "newest", "shortest": "newest", "longest": "newest"}
_CONTENT_TYPES = frozenset({"article", "image", "video"})

T = TypeVar("T")


def _digits(value: object) -> bool:
    """Pocket's test for ``item_id`` and ``time``: a whole number, written in digits only."""
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return value.is_integer() and value >= 0
    if isinstance(value, int):
        return value >= 0
    return isinstance(value, str) and value.isascii() and value.isdigit()


def _tag_list(value: object) -> list[str] | None:
    """Tags as Pocket took them (a comma-joined string, or a list for ``/v3/add``);
    None when there is none or one of them is empty (``"a,,b"``, ``""``)."""
    tags = value.split(",") if isinstance(value, str) else value
    if not isinstance(tags, list) or not tags:
        return None
    if not all(isinstance(t, str) and t != "" for t in tags):
        return None
    return tags


def check_actions(raw: object) -> list[dict[str, Any]]:
    """The ``actions`` of a ``/v3/send``, ``time`` left out, or ApiError(400) refusing
    the whole batch."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise bad_request("actions is not valid JSON", Code.INVALID_ACTION) from None
    if not isinstance(raw, list) or not raw:
        raise bad_request("actions must be a non-empty JSON array", Code.INVALID_ACTION)
    checked = []
    for index, action in enumerate(raw):
        if not isinstance(action, dict):
            raise bad_request(f"action {index} is not an object", Code.INVALID_ACTION)
        problem = _action_problem(action)
        if problem is not None:
            raise bad_request(f"action {index}: {problem}", Code.INVALID_ACTION)
        checked.append({k: v for k, v in action.items() if k != "time"})
    return checked


def _action_problem(action: Mapping[str, object]) -> str | None:
    """What Pocket's validators would say about one action, or None."""
    name = action.get("action")
    if not isinstance(name, str) or not name:
        return "action must be a non-empty string"
    if "time" in action and not _digits(action["time"]):
        return f"Invalid time: {action['time']}"
    if "url" in action and not (isinstance(action["url"], str) and is_web_url(action["url"])):
        return f"Invalid url: {action['url']}"
    if "item_id" in action and not _digits(action["item_id"]):
        return f"Invalid item_id: {action['item_id']}"
    if (name in ITEM_ACTIONS or name == "add") and "item_id" not in action and "url" not in action:
        return "Action must have one of `item_id` or `url`"
    title = action.get("title", "-")
    if name == "add" and not (isinstance(title, str) and title):
        return "Field title must be a non-empty string."
    if name in _TAG_ACTIONS or (name == "add" and "tags" in action):
        if "tags" not in action:
            return "Action must have tags field"
        if not isinstance(action["tags"], str) or _tag_list(action["tags"]) is None:
            return "tags must be a comma-separated string of non-empty tags"
    required = {"tag_rename": ("old_tag", "new_tag"), "tag_delete": ("tag",)}.get(name, ())
    for key in required:
        if not (isinstance(action.get(key), str) and action[key]):
            return f"Action must have non-empty {key} field"
    return None


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
        title = params.get("title")
        if title is not None and not (isinstance(title, str) and title):
            raise bad_request("title must be a non-empty string")
        tags = params.get("tags")
        if tags is not None and _tag_list(tags) is None:
            raise bad_request("tags must be a comma-separated string of non-empty tags")
        item = self.items.add(url, title=title, tags=_tag_list(tags))
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
        since = _since(params)
        favorite = _choice(params, "favorite", {"0": False, "1": True})
        content_type = _choice(params, "contentType", {t: t for t in _CONTENT_TYPES})
        detail = _choice(params, "detailType", {"simple": "simple", "complete": "complete"})
        items = self.items.query(
            state=_choice(params, "state", _STATES) or "unread",
            favorite=favorite,
            tag=text(params, "tag"),
            search=text(params, "search"),
            domain=text(params, "domain"),
            since=since,
            sort=_choice(params, "sort", _SORTS) or "newest",
            count=int_param(params, "count") or None,
            offset=int_param(params, "offset") or 0,
        )
        if content_type is not None:
            # serve never fetches pages, so no item is known to be an article, image or video
            items = []
        complete = detail == "complete"
        kept = Articles(self.items.conn).summaries(i.url for i in items) if complete else {}
        return json_response(_listing(items, detail or "simple", since, kept))


def _article_fields(article: Mapping[str, Any], excerpt: str) -> dict[str, Any]:
    """What the page kept with the save tells a ``complete`` item (issue 14)."""
    image = article["lead_image"] or ""
    words = int(article["word_count"])
    fields: dict[str, Any] = {
        "is_article": "1",
        "word_count": str(words),
        "excerpt": excerpt or article["excerpt"],
        "has_image": "1" if image else "0",
        "time_to_read": reading_minutes(words),
        "lang": article["lang"] or "",
    }
    if image:
        fields["top_image_url"] = image
    return fields


def _since(params: Params) -> int | None:
    """``since`` as unix seconds; a decimal (``1796083200.0``, as pockyt sends it) too."""
    value = text(params, "since")
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise bad_request("Parameter since must be a number") from None
    if not math.isfinite(number) or number < 0:
        raise bad_request("Parameter since must be a time in seconds")
    return int(number)


def _choice(params: Params, name: str, allowed: Mapping[str, T]) -> T | None:
    """One of Pocket's enumerated values (case-insensitive, as Pocket lower-cased them)."""
    value = text(params, name)
    if value is None:
        return None
    found = allowed.get(value.lower())
    if found is None:
        raise ApiError(400, Code.INVALID_REQUEST, f"{name} must be one of {', '.join(allowed)}")
    return found


def _listing(
    items: Sequence[Item],
    detail: str,
    since: int | None,
    kept: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """A ``/v3/get`` answer: ``status`` 2 and ``list`` ``[]`` when nothing matched;
    ``since`` the newest update among the items (the one asked for when none)."""
    listing = {}
    for index, item in enumerate(items):
        entry = item.to_pocket(detail)
        # Pocket's fields for what serve does not know (it never fetches pages), and
        # sort_id: clients that walk the list object by key need it to keep the order.
        entry.update(sort_id=index, is_index="0", lang="", time_to_read=0)
        entry["listen_duration_estimate"] = 0
        if detail == "complete" and item.url in kept:
            entry.update(_article_fields(kept[item.url], entry["excerpt"]))
        listing[item.item_id] = entry
    newest = max((item.time_updated for item in items), default=since or 0)
    return {
        "status": 1 if items else 2,
        "complete": 1,
        "list": listing or [],
        "error": None,
        "search_meta": {"search_type": "normal"},
        "since": newest,
        "maxActions": 30,
        "cachetype": "db",
    }


__all__ = ["NAMESPACE", "ListApi", "check_actions"]
