"""The wire contract (PROTOCOL.md) as pydantic v2 models.

Requests form one discriminated union on ``op``; every model forbids unknown
fields. :func:`parse_request` turns a decoded JSON value into a request model
or raises :class:`~tuckaway.errors.InvalidMessage` /
:class:`~tuckaway.errors.InvalidRequest` with ``fields`` that say where and why.
Result and event models exist for the JSON Schema (``tuckaway schema``) that
the extension's tests validate against.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from tuckaway.errors import InvalidMessage, InvalidRequest
from tuckaway.services.pocket.actions import ITEM_OPS, LIST_OPS

MAX_URL = 8192
MAX_TAG = 100
MAX_TAGS = 100
MAX_TITLE = 2000

WRITE_OPS = frozenset({*LIST_OPS, "bookmark", "unbookmark"})
#: whitespace (Unicode's, as ``str.isspace``) and control characters: never in a saved url
_URL_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f]")


def _check_url(value: str) -> str:
    value = value.strip()
    if len(value) > MAX_URL:
        raise ValueError(f"url is longer than {MAX_URL} characters")
    parts = urlsplit(value)
    if parts.scheme.lower() not in {"http", "https"}:
        shown = parts.scheme or "none"
        raise ValueError(f"only http and https pages can be saved (scheme: {shown})")
    if not parts.hostname:
        raise ValueError("url has no host")
    if _URL_FORBIDDEN.search(value):
        raise ValueError("url contains spaces or control characters")
    return value


def _check_tag(value: str) -> str:
    tag = value.strip()
    if not tag:
        raise ValueError("tag is empty")
    if "," in tag:
        raise ValueError("tag contains a comma (tags are joined with commas for the service)")
    if len(tag) > MAX_TAG:
        raise ValueError(f"tag is longer than {MAX_TAG} characters")
    return tag


def _check_id_text(value: str) -> str:
    if not value.strip():
        raise ValueError("id is empty")
    return value.strip()


# The checks above are Python; the JSON Schema (``tuckaway schema``, which the
# extension's tests validate against) says the same with patterns.
_URL_SCHEMA = {
    "type": "string",
    "maxLength": MAX_URL,
    "pattern": r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^\s\u0000-\u001f\u007f/?#]+[^\s\u0000-\u001f\u007f]*\s*$",
    "description": "an http or https url with a host; no spaces or control characters",
}
_TAG_SCHEMA = {
    "type": "string",
    "pattern": rf"^\s*[^,\s](?:[^,]{{0,{MAX_TAG - 2}}}[^,\s])?\s*$",
    "description": f"trimmed: non-empty, at most {MAX_TAG} characters, no comma",
}

WebUrl = Annotated[StrictStr, AfterValidator(_check_url), WithJsonSchema(_URL_SCHEMA)]
Tag = Annotated[StrictStr, AfterValidator(_check_tag), WithJsonSchema(_TAG_SCHEMA)]
TextId = Annotated[StrictStr, Field(min_length=1, max_length=64), AfterValidator(_check_id_text)]
RequestId = Annotated[StrictStr, Field(min_length=1, max_length=64)] | StrictInt
TagList = Annotated[list[Tag], Field(max_length=MAX_TAGS)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RequestId

    @property
    def is_write(self) -> bool:
        return getattr(self, "op", "") in WRITE_OPS

    def payload(self) -> dict[str, Any]:
        """The op's fields, without ``id`` and ``op``, unset optionals left out."""
        return self.model_dump(exclude={"id", "op"}, exclude_none=True)


def _exactly_one(*names: str) -> dict[str, Any]:
    return {"oneOf": [{"required": [name]} for name in names]}


class _ItemTarget(_Request):
    model_config = ConfigDict(json_schema_extra=_exactly_one("item_id", "url"))

    item_id: TextId | None = None
    url: WebUrl | None = None

    @model_validator(mode="after")
    def _one_target(self) -> _ItemTarget:
        if (self.item_id is None) == (self.url is None):
            raise ValueError("give exactly one of item_id or url")
        return self


class Hello(_Request):
    """Who is there: name, version, backend, accounts, queued writes."""

    op: Literal["hello"]


class Save(_Request):
    """Save a page (W)."""

    op: Literal["save"]
    url: WebUrl
    title: Annotated[StrictStr, Field(max_length=MAX_TITLE)] | None = None
    tags: TagList = []


class ItemAction(_ItemTarget):
    """archive, readd, favorite, unfavorite, delete, tags_clear (W)."""

    op: Literal["archive", "readd", "favorite", "unfavorite", "delete", "tags_clear"]


class TagsAction(_ItemTarget):
    """tags_add, tags_remove, tags_replace (W)."""

    op: Literal["tags_add", "tags_remove", "tags_replace"]
    tags: Annotated[list[Tag], Field(min_length=1, max_length=MAX_TAGS)]


class TagRename(_Request):
    """Rename a tag on every item (W)."""

    op: Literal["tag_rename"]
    old_tag: Tag
    new_tag: Tag


class TagDelete(_Request):
    """Delete a tag from every item (W)."""

    op: Literal["tag_delete"]
    tag: Tag


class Lookup(_Request):
    """Is this url saved, and in what state."""

    op: Literal["lookup"]
    url: WebUrl


class Tags(_Request):
    """Known tag names for completion."""

    op: Literal["tags"]
    prefix: Annotated[StrictStr, Field(max_length=MAX_TAG)] | None = None


class BookmarkAction(_Request):
    """bookmark, unbookmark a Mastodon status (W)."""

    model_config = ConfigDict(json_schema_extra=_exactly_one("status_url", "status_id"))

    op: Literal["bookmark", "unbookmark"]
    status_url: WebUrl | None = None
    status_id: TextId | None = None

    @model_validator(mode="after")
    def _one_status(self) -> BookmarkAction:
        if (self.status_url is None) == (self.status_id is None):
            raise ValueError("give exactly one of status_url or status_id")
        return self


class BookmarkState(_Request):
    """Whether a Mastodon status is bookmarked (read; the popup's toggle asks)."""

    model_config = ConfigDict(json_schema_extra=_exactly_one("status_url", "status_id"))

    op: Literal["bookmark_state"]
    status_url: WebUrl | None = None
    status_id: TextId | None = None

    @model_validator(mode="after")
    def _one_status(self) -> BookmarkState:
        if (self.status_url is None) == (self.status_id is None):
            raise ValueError("give exactly one of status_url or status_id")
        return self


class Bookmarks(_Request):
    """One page of the user's Mastodon bookmarks."""

    op: Literal["bookmarks"]
    limit: Annotated[StrictInt, Field(ge=1, le=40)] = 20
    max_id: TextId | None = None


class Login(_Request):
    """Link an account; emits an ``authorize`` event with the URL to open."""

    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"service": {"const": "mastodon"}}},
            "then": {"required": ["instance"]},
            "else": {"not": {"required": ["instance"]}},
        }
    )

    op: Literal["login"]
    service: Literal["pocket", "mastodon"]
    instance: WebUrl | None = None

    @model_validator(mode="after")
    def _instance_for_mastodon(self) -> Login:
        if self.service == "mastodon" and self.instance is None:
            raise ValueError("mastodon sign-in needs instance (your server's https URL)")
        if self.service == "pocket" and self.instance is not None:
            raise ValueError("instance is only for mastodon")
        return self


class Logout(_Request):
    """Forget an account's token."""

    op: Literal["logout"]
    service: Literal["pocket", "mastodon"]


class SettingsGet(_Request):
    """The host settings the options page edits, and where each comes from."""

    op: Literal["settings"]


EditableSetting = Literal[
    "pocket_url", "pocket_consumer_key", "batch_quiet_ms", "batch_max_delay_ms", "batch_max_actions"
]


class SettingsSet(_Request):
    """Change host settings in config.toml (``reset`` removes keys: back to the defaults)."""

    op: Literal["settings_set"]
    pocket_url: WebUrl | None = None
    pocket_consumer_key: Annotated[StrictStr, Field(min_length=1, max_length=200)] | None = None
    batch_quiet_ms: Annotated[StrictInt, Field(ge=0, le=60_000)] | None = None
    batch_max_delay_ms: Annotated[StrictInt, Field(ge=0, le=600_000)] | None = None
    batch_max_actions: Annotated[StrictInt, Field(ge=1, le=1000)] | None = None
    reset: Annotated[list[EditableSetting], Field(max_length=5)] = []

    @model_validator(mode="after")
    def _something_to_do(self) -> SettingsSet:
        changed = set(self.changes())
        if not changed and not self.reset:
            raise ValueError("give a setting to change, or reset")
        both = changed & set(self.reset)
        if both:
            raise ValueError(f"{', '.join(sorted(both))}: both set and reset")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude={"id", "op", "reset"}, exclude_none=True)


Request = Annotated[
    Hello
    | Save
    | ItemAction
    | TagsAction
    | TagRename
    | TagDelete
    | Lookup
    | Tags
    | BookmarkAction
    | BookmarkState
    | Bookmarks
    | Login
    | Logout
    | SettingsGet
    | SettingsSet,
    Field(discriminator="op"),
]
OPS: tuple[str, ...] = (
    "hello",
    "save",
    "archive",
    "readd",
    "favorite",
    "unfavorite",
    "delete",
    "tags_add",
    "tags_remove",
    "tags_replace",
    "tags_clear",
    "tag_rename",
    "tag_delete",
    "lookup",
    "tags",
    "bookmark",
    "unbookmark",
    "bookmark_state",
    "bookmarks",
    "login",
    "logout",
    "settings",
    "settings_set",
)

_adapter: TypeAdapter[Any] | None = None


def _request_adapter() -> TypeAdapter[Any]:
    global _adapter
    if _adapter is None:
        _adapter = TypeAdapter(Request)
    return _adapter


def request_id(message: Any) -> str | int | None:
    """The usable ``id`` of a decoded message, or ``None``."""
    if not isinstance(message, dict):
        return None
    rid = message.get("id")
    if isinstance(rid, bool):
        return None
    if isinstance(rid, int):
        return rid
    if isinstance(rid, str) and 1 <= len(rid) <= 64:
        return rid
    return None


def parse_request(message: Any) -> Any:
    """Validate one decoded message; returns the request model.

    Raises InvalidMessage (not an object, no usable id) or InvalidRequest.
    """
    if not isinstance(message, dict):
        raise InvalidMessage(f"a request must be a JSON object, not {_json_kind(message)}")
    if request_id(message) is None:
        raise InvalidMessage("a request needs an id: a string of 1-64 characters or an integer")
    op = message.get("op")
    if not isinstance(op, str) or op not in OPS:
        msg = "missing op" if op is None else f"unknown op {op!r}"
        raise InvalidRequest(f"{msg}; known ops: {', '.join(OPS)}", [{"loc": "op", "msg": msg}])
    try:
        return _request_adapter().validate_python(message)
    except ValidationError as exc:
        fields = [
            {"loc": _loc(err["loc"], op), "msg": _msg(err)} for err in exc.errors(include_url=False)
        ]
        summary = "; ".join(f"{f['loc'] or op}: {f['msg']}" for f in fields[:3])
        raise InvalidRequest(f"invalid {op} request: {summary}", fields) from None


#: where a whole-request rule (exactly one of ..., instance for mastodon) is reported
_REQUEST_RULE_LOC = {
    **dict.fromkeys(ITEM_OPS, "url"),
    "settings_set": "reset",
    "bookmark": "status_url",
    "unbookmark": "status_url",
    "bookmark_state": "status_url",
    "login": "instance",
}


def _loc(loc: tuple[int | str, ...], op: str) -> str:
    parts = list(loc)
    if parts and parts[0] == op:
        parts = parts[1:]
    parts = [p for p in parts if not (isinstance(p, str) and p.startswith("function-"))]
    if not parts:  # a model validator: name the field the rule is about
        return _REQUEST_RULE_LOC.get(op, "")
    return ".".join(str(p) for p in parts)


def _msg(err: Any) -> str:
    message = str(err["msg"])
    if err["type"] == "extra_forbidden":
        return "unknown field"
    return message.removeprefix("Value error, ")


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__


# -- replies, events (for the schema and for tests) ------------------------


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PocketAccount(_Out):
    linked: bool
    username: str | None = None


class MastodonAccount(_Out):
    linked: bool
    instance: str | None = None
    acct: str | None = None


class Accounts(_Out):
    pocket: PocketAccount
    mastodon: MastodonAccount


class HelloResult(_Out):
    name: Literal["tuckaway"]
    version: str
    protocol: Literal[1]
    backend: Literal["local", "pocket"]
    accounts: Accounts
    pending: int


class SaveResult(_Out):
    item_id: str
    url: str
    item: dict[str, Any]


class ItemResult(_Out):
    item_id: str


class EmptyResult(_Out):
    pass


class LookupResult(_Out):
    saved: bool
    item_id: str | None
    status: Literal["unread", "archived"] | None
    favorite: bool
    tags: list[str]
    pending: int


class TagsResult(_Out):
    tags: list[str]


class BookmarkResult(_Out):
    status_id: str
    url: str | None
    bookmarked: bool


class StatusSummary(_Out):
    id: str
    url: str | None
    created_at: str
    acct: str
    text: str


class BookmarksResult(_Out):
    statuses: list[StatusSummary]
    next_max_id: str | None


class LoginResult(_Out):
    linked: bool
    username: str | None = None


class LogoutResult(_Out):
    linked: Literal[False]


class SettingsValues(_Out):
    pocket_url: str
    pocket_consumer_key_set: bool
    batch_quiet_ms: int
    batch_max_delay_ms: int
    batch_max_actions: int


class SettingsResult(_Out):
    values: SettingsValues
    sources: dict[EditableSetting, Literal["default", "config", "environment"]]
    config_file: str


class FieldError(_Out):
    loc: str
    msg: str


ErrorCode = Literal[
    "invalid_message",
    "message_too_large",
    "invalid_request",
    "not_linked",
    "auth_failed",
    "action_failed",
    "unknown_item",
    "not_found",
    "auth_timeout",
    "internal",
    "rate_limited",
    "unavailable",
    "config_error",
]


class ErrorBody(_Out):
    code: ErrorCode
    message: str
    fields: list[FieldError] | None = None
    retry_after: float | None = None


class OkReply(_Out):
    id: str | int
    ok: Literal[True]
    result: dict[str, Any]


class ErrorReply(_Out):
    id: str | int | None
    ok: Literal[False]
    error: ErrorBody


class QueuedEvent(_Out):
    id: str | int
    event: Literal["queued"]


class RetryingEvent(_Out):
    id: str | int
    event: Literal["retrying"]
    reason: Literal["unavailable", "rate_limited"]
    retry_after: float | None


class AuthorizeEvent(_Out):
    id: str | int
    event: Literal["authorize"]
    url: str


RESULTS: dict[str, type[BaseModel]] = {
    "hello": HelloResult,
    "save": SaveResult,
    "archive": ItemResult,
    "readd": ItemResult,
    "favorite": ItemResult,
    "unfavorite": ItemResult,
    "delete": ItemResult,
    "tags_add": ItemResult,
    "tags_remove": ItemResult,
    "tags_replace": ItemResult,
    "tags_clear": ItemResult,
    "tag_rename": EmptyResult,
    "tag_delete": EmptyResult,
    "lookup": LookupResult,
    "tags": TagsResult,
    "bookmark": BookmarkResult,
    "unbookmark": BookmarkResult,
    "bookmark_state": BookmarkResult,
    "bookmarks": BookmarksResult,
    "login": LoginResult,
    "logout": LogoutResult,
    "settings": SettingsResult,
    "settings_set": SettingsResult,
}


def json_schema() -> dict[str, Any]:
    """The whole protocol as one JSON Schema document (``tuckaway schema``)."""
    from pydantic.json_schema import models_json_schema

    models: list[tuple[Any, Literal["validation", "serialization"]]] = [
        (m, "validation")
        for m in (
            Hello,
            Save,
            ItemAction,
            TagsAction,
            TagRename,
            TagDelete,
            Lookup,
            Tags,
            BookmarkAction,
            BookmarkState,
            Bookmarks,
            Login,
            Logout,
            SettingsGet,
            SettingsSet,
            OkReply,
            ErrorReply,
            QueuedEvent,
            RetryingEvent,
            AuthorizeEvent,
            *dict.fromkeys(RESULTS.values()),
        )
    ]
    _, top = models_json_schema(models, ref_template="#/$defs/{model}")
    request_schema = _request_adapter().json_schema(ref_template="#/$defs/{model}")
    defs = dict(top.get("$defs", {}))
    defs.update(request_schema.pop("$defs", {}))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Tuckaway native-messaging protocol",
        "description": "Requests (oneOf on op), replies, events and per-op results. Protocol 1.",
        "protocol": 1,
        "write_ops": sorted(WRITE_OPS),
        "$defs": defs,
        "properties": {
            "request": request_schema,
            "reply": {"oneOf": [{"$ref": "#/$defs/OkReply"}, {"$ref": "#/$defs/ErrorReply"}]},
            "event": {
                "oneOf": [
                    {"$ref": "#/$defs/QueuedEvent"},
                    {"$ref": "#/$defs/RetryingEvent"},
                    {"$ref": "#/$defs/AuthorizeEvent"},
                ]
            },
            "results": {
                "type": "object",
                "properties": {op: {"$ref": f"#/$defs/{m.__name__}"} for op, m in RESULTS.items()},
            },
        },
    }
