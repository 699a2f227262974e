"""The whole protocol as one JSON Schema document (``tuckaway schema``).

Built from the request union (:mod:`tuckaway.wire.protocol`) and the reply
models (:mod:`tuckaway.wire.results`); the extension's tests validate their
messages against it and take their lists of ops from it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from tuckaway import PROTOCOL_VERSION
from tuckaway.wire.protocol import (
    ITEM_OPS,
    MODELS,
    REQUEST_MODELS,
    RESULTS,
    WRITE_OPS,
    request_adapter,
)
from tuckaway.wire.results import AuthorizeEvent, ErrorReply, OkReply, QueuedEvent, RetryingEvent

REPLIES = (OkReply, ErrorReply)
EVENTS = (QueuedEvent, RetryingEvent, AuthorizeEvent)


def json_schema() -> dict[str, Any]:
    """The protocol: requests (``oneOf`` on op), replies, events, per-op results, op lists."""
    models: list[type[BaseModel]] = [
        *REQUEST_MODELS,
        *REPLIES,
        *EVENTS,
        *dict.fromkeys(RESULTS.values()),
    ]
    mode: Literal["validation"] = "validation"
    _, top = models_json_schema([(m, mode) for m in models], ref_template="#/$defs/{model}")
    request_schema = request_adapter().json_schema(ref_template="#/$defs/{model}")
    defs = dict(top.get("$defs", {}))
    defs.update(request_schema.pop("$defs", {}))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Tuckaway native-messaging protocol",
        "description": (
            "Requests (oneOf on op), replies, events and per-op results."
            f" Protocol {PROTOCOL_VERSION}."
        ),
        "protocol": PROTOCOL_VERSION,
        "write_ops": sorted(WRITE_OPS),
        "item_ops": sorted(ITEM_OPS),
        "tag_ops": sorted(op for op in ITEM_OPS if "tags" in MODELS[op].model_fields),
        "$defs": defs,
        "properties": {
            "request": request_schema,
            "reply": {"oneOf": [_ref(m) for m in REPLIES]},
            "event": {"oneOf": [_ref(m) for m in EVENTS]},
            "results": {
                "type": "object",
                "properties": {op: _ref(m) for op, m in RESULTS.items()},
            },
        },
    }


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/$defs/{model.__name__}"}
