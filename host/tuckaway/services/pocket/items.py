"""What a save's reply passes on of the service's item: its documented scalars, capped.

PROTOCOL.md's ``item`` is what the service returned about a saved page; a
service may return nested lists of images, videos and authors, or huge
strings, and a reply must stay far under the browsers' 1 MiB.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuckaway.services.pocket.client import PocketItem

#: The item fields a save's result passes on (PROTOCOL.md: ``item``, what the service
#: returned about it): the scalars pocket-v3-add.txt and /v3/get document. Nested
#: objects (``images``, ``videos``, ``authors``, ``tags`` ...) are left out, and
#: every string is capped, so that a reply stays far under the browsers' 1 MiB.
_URL_FIELDS = frozenset({"given_url", "normal_url", "resolved_url", "amp_url", "top_image_url"})
_TITLE_FIELDS = frozenset({"title", "given_title", "resolved_title"})
_SCALAR_FIELDS = frozenset(
    {
        "item_id",
        "resolved_id",
        "domain_id",
        "origin_domain_id",
        "response_code",
        "mime_type",
        "content_length",
        "encoding",
        "date_resolved",
        "date_published",
        "status",
        "favorite",
        "time_added",
        "time_updated",
        "time_read",
        "time_favorited",
        "word_count",
        "has_image",
        "has_video",
        "is_index",
        "is_article",
        "lang",
        "time_to_read",
        "listen_duration_estimate",
    }
)
URL_CAP = 8192  # a longer url is left out, not cut: a cut url leads nowhere
TITLE_CAP = 2000
EXCERPT_CAP = 500
SCALAR_CAP = 200


def trim_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """The documented scalar fields of a service's item, strings capped (see ``_URL_FIELDS``)."""
    out: dict[str, Any] = {}
    for key, value in item.items():
        if value is None or isinstance(value, Mapping | list):
            continue
        if not isinstance(value, str):
            if key in _SCALAR_FIELDS and isinstance(value, bool | int | float):
                out[key] = value
            continue
        if key in _URL_FIELDS:
            if len(value) <= URL_CAP:
                out[key] = value
        elif key in _TITLE_FIELDS:
            out[key] = _cap(value, TITLE_CAP)
        elif key == "excerpt":
            out[key] = _cap(value, EXCERPT_CAP)
        elif key in _SCALAR_FIELDS:
            out[key] = _cap(value, SCALAR_CAP)
    return out


def _cap(text: str, cap: int) -> str:
    return text if len(text) <= cap else text[: cap - 1].rstrip() + "\u2026"


def item_of(result: Any) -> PocketItem | None:
    """The item an add's answer describes, if it describes one."""
    from pydantic import ValidationError  # here: see backend.py on import cost

    from tuckaway.services.pocket.client import PocketItem

    if isinstance(result, PocketItem):
        return result
    if isinstance(result, Mapping) and result.get("item_id") not in (None, ""):
        try:
            return PocketItem.model_validate(result)
        except ValidationError:
            return None
    return None
