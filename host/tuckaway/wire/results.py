"""The host's side of the wire contract as pydantic models: results, replies, events.

Nothing here is validated at run time: the host builds its replies as plain
dicts. The models are the JSON Schema (``tuckaway schema``) that the
extension's tests and ours check replies against; each request model in
:mod:`tuckaway.wire.protocol` names its result model here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EditableSetting = Literal[
    "pocket_url", "pocket_consumer_key", "batch_quiet_ms", "batch_max_delay_ms", "batch_max_actions"
]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PocketAccount(_Out):
    linked: bool
    username: str | None = None


class MastodonAccount(_Out):
    linked: bool
    instance: str | None = None
    acct: str | None = None


class ListAccount(_Out):
    """A self-hosted list service's account (wallabag, Readeck)."""

    linked: bool
    username: str | None = None
    instance: str | None = None


class Accounts(_Out):
    pocket: PocketAccount
    mastodon: MastodonAccount
    wallabag: ListAccount
    readeck: ListAccount


class Problem(_Out):
    """Something the user must fix that the host works around: a bad config.toml key
    (it took its default) or a damaged database."""

    kind: Literal["config", "database"]
    file: str
    line: int | None = None
    key: str = ""
    message: str
    allowed: str = ""
    text: str


class HelloResult(_Out):
    name: Literal["tuckaway"]
    version: str
    protocol: Literal[1]
    backend: Literal["local", "pocket", "wallabag", "readeck"]
    accounts: Accounts
    pending: int
    #: only when there is one: what the options page shows to be fixed
    problems: list[Problem] | None = None


#: what the host changed in the request (a url's user name and password left out)
Notes = Annotated[list[str] | None, Field(description="what the host changed in the request")]


class SaveResult(_Out):
    item_id: str
    url: str
    item: dict[str, Any]
    notes: Notes = None


class ItemResult(_Out):
    item_id: str
    notes: Notes = None


class EmptyResult(_Out):
    pass


class LookupResult(_Out):
    saved: bool
    item_id: str | None
    status: Literal["unread", "archived"] | None
    favorite: bool
    tags: list[str]
    pending: int
    has_article: bool


class TagCount(_Out):
    tag: str
    count: int


class TagsResult(_Out):
    tags: list[str] | list[TagCount]


class ListedItem(_Out):
    item_id: str
    url: str
    title: str
    excerpt: str
    domain: str
    tags: list[str]
    status: Literal["unread", "archived"]
    favorite: bool
    time_added: int
    time_updated: int
    word_count: int | None = None
    has_article: bool


class ListResult(_Out):
    items: list[ListedItem]
    next_cursor: str | None
    total: int


class ArticleResult(_Out):
    """One chunk of a kept page's html (``offset`` counts characters) and its metadata;
    ``next_offset`` asks for the next chunk, null after the last."""

    item_id: str | None
    url: str
    title: str
    byline: str | None
    site_name: str | None
    lang: str | None
    excerpt: str
    lead_image: str | None
    word_count: int
    minutes: int
    captured_at: int
    size: int
    offset: int
    html: str
    next_offset: int | None


class ArticleStatsResult(_Out):
    count: int
    bytes: int


class ArticlesClearResult(_Out):
    deleted: int
    bytes: int


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
    sources: dict[EditableSetting, Literal["default", "config", "environment", "keyring"]]
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
    reason: Literal["unavailable", "rate_limited", "disk_full"]
    retry_after: float | None


class AuthorizeEvent(_Out):
    id: str | int
    event: Literal["authorize"]
    url: str
