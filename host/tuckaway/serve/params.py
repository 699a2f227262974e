"""Request parameters in, JSON answers out.

Pocket's clients send parameters in the query string, as a JSON body or
form-encoded; the three are read into one mapping (the body wins). The typed
readers refuse what Pocket refused, with a 400 that names the parameter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from tuckaway.serve.errors import bad_request

#: the parameters of one request: JSON values by name
Params = dict[str, Any]


async def read_params(request: web.Request) -> Params:
    """Query parameters overlaid with the body (JSON, or form-encoded)."""
    params: Params = dict(request.query)
    if not request.can_read_body:
        return params
    if request.content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params
    raw = await request.read()
    if not raw.strip():
        return params
    try:
        body = json.loads(raw)
    except ValueError:
        raise bad_request("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object")
    params.update(body)
    return params


def text(params: Mapping[str, object], name: str) -> str | None:
    """A scalar parameter as a string; None when absent or empty."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise bad_request(f"Parameter {name} must be a string")
    return str(value)


def int_param(params: Mapping[str, object], name: str) -> int | None:
    """A non-negative whole number (``"12"``, ``12``); None when absent or empty."""
    value = text(params, name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise bad_request(f"Parameter {name} must be a number") from None
    if number < 0:
        raise bad_request(f"Parameter {name} must not be negative")
    return number


def is_web_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme.lower() in {"http", "https"} and bool(parts.netloc)


def json_response(data: object) -> web.Response:
    return web.Response(
        text=json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


__all__ = ["Params", "int_param", "is_web_url", "json_response", "read_params", "text"]
