"""The wire contract's requests (PROTOCOL.md) as pydantic v2 models: THE list of ops.

Requests form one discriminated union on ``op``; every model forbids unknown
fields and says, as class attributes, whether it is a write, which service
does it and which result model (:mod:`tuckaway.wire.results`) answers it.
Every other list of ops (``OPS``, ``WRITE_OPS``, ``ITEM_OPS``, ``RESULTS``,
the schema's, the dispatcher's) is derived from the union here.
:func:`parse_request` turns a decoded JSON value into a request model or raises
:class:`~tuckaway.errors.InvalidMessage` / :class:`~tuckaway.errors.InvalidRequest`
with ``fields`` that say where and why.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import ErrorDetails

from tuckaway.errors import InvalidMessage, InvalidRequest
from tuckaway.urls import strip_userinfo
from tuckaway.wire.results import (
    ArticleResult,
    ArticlesClearResult,
    ArticleStatsResult,
    BookmarkResult,
    BookmarksResult,
    EditableSetting,
    EmptyResult,
    HelloResult,
    ItemResult,
    ListResult,
    LoginResult,
    LogoutResult,
    LookupResult,
    SaveResult,
    SettingsResult,
    TagsResult,
)

MAX_URL = 8192
MAX_TAG = 100
MAX_TAGS = 100
MAX_TITLE = 2000
#: the largest integer a JavaScript number holds exactly (Number.MAX_SAFE_INTEGER)
MAX_SAFE_ID = 2**53 - 1
#: whitespace (Unicode's, as ``str.isspace``) and control characters: never in a saved url
_URL_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f]")
#: control characters (C0, DEL, C1): never in a tag or a title
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


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
    # A user name and password are never stored nor sent on; the save reply says so.
    return strip_userinfo(value)


def _no_control(what: str, value: str) -> None:
    found = _CONTROL.search(value)
    if found:
        raise ValueError(f"{what} contains a control character (U+{ord(found.group()):04X})")


def _check_tag(value: str) -> str:
    tag = value.strip()
    if not tag:
        raise ValueError("tag is empty")
    if "," in tag:
        raise ValueError("tag contains a comma (tags are joined with commas for the service)")
    if len(tag) > MAX_TAG:
        raise ValueError(f"tag is longer than {MAX_TAG} characters")
    _no_control("tag", tag)
    return tag


def _check_title(value: str) -> str:
    _no_control("title", value)
    return value


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
#: _CONTROL's characters, as a JSON Schema (ECMAScript) class
_CC = r"\u0000-\u001f\u007f-\u009f"
_TAG_SCHEMA = {
    "type": "string",
    "pattern": rf"^\s*[^,\s{_CC}](?:[^,{_CC}]{{0,{MAX_TAG - 2}}}[^,\s{_CC}])?\s*$",
    "description": f"trimmed: non-empty, at most {MAX_TAG} characters, no comma, no control "
    "characters",
}
_TITLE_SCHEMA = {
    "type": "string",
    "maxLength": MAX_TITLE,
    "pattern": rf"^[^{_CC}]*$",
    "description": "no control characters",
}

WebUrl = Annotated[StrictStr, AfterValidator(_check_url), WithJsonSchema(_URL_SCHEMA)]
Tag = Annotated[StrictStr, AfterValidator(_check_tag), WithJsonSchema(_TAG_SCHEMA)]
TextId = Annotated[StrictStr, Field(min_length=1, max_length=64), AfterValidator(_check_id_text)]
RequestId = (
    Annotated[StrictStr, Field(min_length=1, max_length=64)]
    | Annotated[StrictInt, Field(ge=-MAX_SAFE_ID, le=MAX_SAFE_ID)]
)
TagList = Annotated[list[Tag], Field(max_length=MAX_TAGS)]
Title = Annotated[
    StrictStr,
    Field(max_length=MAX_TITLE),
    AfterValidator(_check_title),
    WithJsonSchema(_TITLE_SCHEMA),
]


Service = Literal["list", "mastodon"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the model of the reply's ``result``
    result: ClassVar[type[BaseModel]]
    #: recorded in the outbox first, answered once delivered (PROTOCOL.md's "W")
    write: ClassVar[bool] = False
    #: who does it: the host itself (None), the reading list (local or Pocket), Mastodon
    handled_by: ClassVar[Service | None] = None
    #: the field a whole-request rule ("exactly one of ...") is reported on
    rule_field: ClassVar[str] = ""

    id: RequestId

    @property
    def is_write(self) -> bool:
        return self.write

    def payload(self) -> dict[str, Any]:
        """The op's fields, without ``id`` and ``op``, unset optionals left out."""
        return self.model_dump(exclude={"id", "op"}, exclude_none=True)


def _exactly_one(*names: str) -> dict[str, Any]:
    return {"oneOf": [{"required": [name]} for name in names]}


class _ItemOrUrl(_Request):
    """A request on one reading-list item, named by ``item_id`` or ``url``."""

    model_config = ConfigDict(json_schema_extra=_exactly_one("item_id", "url"))
    rule_field = "url"

    item_id: TextId | None = None
    url: WebUrl | None = None

    @model_validator(mode="after")
    def _one_target(self) -> _ItemOrUrl:
        if (self.item_id is None) == (self.url is None):
            raise ValueError("give exactly one of item_id or url")
        return self


class _ItemTarget(_ItemOrUrl):
    """A write on one reading-list item."""

    result = ItemResult
    write = True
    handled_by = "list"


class _StatusTarget(_Request):
    """A Mastodon status, named by ``status_url`` or ``status_id``."""

    model_config = ConfigDict(json_schema_extra=_exactly_one("status_url", "status_id"))
    result = BookmarkResult
    handled_by = "mastodon"
    rule_field = "status_url"

    status_url: WebUrl | None = None
    status_id: TextId | None = None

    @model_validator(mode="after")
    def _one_status(self) -> _StatusTarget:
        if (self.status_url is None) == (self.status_id is None):
            raise ValueError("give exactly one of status_url or status_id")
        return self


class Hello(_Request):
    """Who is there: name, version, backend, accounts, queued writes."""

    result = HelloResult

    op: Literal["hello"]


#: a save carrying an article may fill a frame this large (framing.MAX_ARTICLE_FRAME)
MAX_ARTICLE = 16 * 1024 * 1024
MAX_EXCERPT = 10_000
MAX_LANG = 64


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    return value


_NoNul = AfterValidator(_no_nul)
_ArticleLine = Annotated[StrictStr, Field(max_length=MAX_TITLE), _NoNul]


class Article(BaseModel):
    """The page as the browser showed it (Readability's article), kept with a save.
    No string may hold a NUL character."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    html: Annotated[StrictStr, Field(min_length=1, max_length=MAX_ARTICLE), _NoNul]
    text: Annotated[StrictStr, Field(max_length=MAX_ARTICLE), _NoNul]
    title: _ArticleLine | None = None
    byline: _ArticleLine | None = None
    site_name: _ArticleLine | None = None
    lang: Annotated[StrictStr, Field(max_length=MAX_LANG), _NoNul] | None = None
    excerpt: Annotated[StrictStr, Field(max_length=MAX_EXCERPT), _NoNul] | None = None
    lead_image: Annotated[StrictStr, Field(max_length=MAX_URL), _NoNul] | None = None


class Save(_Request):
    """Save a page (W); with ``article``, a copy of it is kept (not in the outbox)."""

    result = SaveResult
    write = True
    handled_by = "list"

    op: Literal["save"]
    url: WebUrl
    title: Title | None = None
    tags: TagList = []
    article: Article | None = None

    def payload(self) -> dict[str, Any]:
        """The write as the outbox records it: the article is kept apart, once."""
        return self.model_dump(exclude={"id", "op", "article"}, exclude_none=True)

    def kept_article(self) -> dict[str, Any] | None:
        return None if self.article is None else self.article.model_dump(exclude_none=True)


class ItemAction(_ItemTarget):
    """archive, readd, favorite, unfavorite, delete, tags_clear (W)."""

    op: Literal["archive", "readd", "favorite", "unfavorite", "delete", "tags_clear"]


class TagsAction(_ItemTarget):
    """tags_add, tags_remove, tags_replace (W)."""

    op: Literal["tags_add", "tags_remove", "tags_replace"]
    tags: Annotated[list[Tag], Field(min_length=1, max_length=MAX_TAGS)]


class TagRename(_Request):
    """Rename a tag on every item (W)."""

    result = EmptyResult
    write = True
    handled_by = "list"

    op: Literal["tag_rename"]
    old_tag: Tag
    new_tag: Tag


class TagDelete(_Request):
    """Delete a tag from every item (W)."""

    result = EmptyResult
    write = True
    handled_by = "list"

    op: Literal["tag_delete"]
    tag: Tag


class Lookup(_Request):
    """Is this url saved, and in what state."""

    result = LookupResult

    op: Literal["lookup"]
    url: WebUrl


class Tags(_Request):
    """Known tag names for completion; with ``counts``, how many items carry each."""

    result = TagsResult

    op: Literal["tags"]
    prefix: Annotated[StrictStr, Field(max_length=MAX_TAG)] | None = None
    counts: StrictBool = False


MAX_SEARCH = 500
MAX_CURSOR = 4096


class ListItems(_Request):
    """One page of the list (local, or the linked account's synced index)."""

    result = ListResult

    op: Literal["list"]
    state: Literal["unread", "archive", "all"] = "unread"
    favorite: StrictBool | None = None
    tag: Tag | None = None
    search: Annotated[StrictStr, Field(max_length=MAX_SEARCH)] | None = None
    sort: Literal["newest", "oldest", "title", "relevance"] | None = None
    limit: Annotated[StrictInt, Field(ge=1, le=200)] = 50
    cursor: Annotated[StrictStr, Field(min_length=1, max_length=MAX_CURSOR)] | None = None


class ArticleGet(_ItemOrUrl):
    """A kept page: its metadata and one chunk of its html from ``offset``."""

    result = ArticleResult

    op: Literal["article"]
    offset: Annotated[StrictInt, Field(ge=0, le=MAX_ARTICLE)] = 0


class ArticleStats(_Request):
    """How many pages are kept and the bytes they take."""

    result = ArticleStatsResult

    op: Literal["article_stats"]


class ArticlesClear(_Request):
    """Delete every kept page (the items stay in the list)."""

    result = ArticlesClearResult

    op: Literal["articles_clear"]


class BookmarkAction(_StatusTarget):
    """bookmark, unbookmark a Mastodon status (W)."""

    write = True

    op: Literal["bookmark", "unbookmark"]


class BookmarkState(_StatusTarget):
    """Whether a Mastodon status is bookmarked (read; the popup's toggle asks)."""

    op: Literal["bookmark_state"]


class Bookmarks(_Request):
    """One page of the user's Mastodon bookmarks."""

    result = BookmarksResult
    handled_by = "mastodon"

    op: Literal["bookmarks"]
    limit: Annotated[StrictInt, Field(ge=1, le=40)] = 20
    max_id: TextId | None = None


_Secret = Annotated[StrictStr, Field(min_length=1, max_length=1000)]
#: what each service's sign-in needs besides ``service`` (the rest must be absent)
LOGIN_FIELDS: dict[str, frozenset[str]] = {
    "pocket": frozenset(),
    "mastodon": frozenset({"instance"}),
    "wallabag": frozenset({"instance", "client_id", "client_secret", "username", "password"}),
    "readeck": frozenset({"instance"}),
}
_LOGIN_OPTIONAL = {"readeck": frozenset({"token"})}
_LOGIN_ALL = ("instance", "client_id", "client_secret", "username", "password", "token")


def _login_rules() -> dict[str, Any]:
    """The JSON Schema form of ``LOGIN_FIELDS``: each service's fields, and no others."""
    return {
        "allOf": [
            {
                "if": {"properties": {"service": {"const": name}}},
                "then": {
                    "required": sorted(needed),
                    "not": {
                        "anyOf": [
                            {"required": [f]}
                            for f in _LOGIN_ALL
                            if f not in needed | _LOGIN_OPTIONAL.get(name, frozenset())
                        ]
                    },
                },
            }
            for name, needed in LOGIN_FIELDS.items()
        ]
    }


class Login(_Request):
    """Link an account. Pocket and Mastodon (and Readeck without ``token``) emit an
    ``authorize`` event with the URL to open; wallabag signs in with the password
    grant (the password is used once, never kept), Readeck with a ``token``."""

    model_config = ConfigDict(json_schema_extra=_login_rules())
    result = LoginResult
    rule_field = "instance"

    op: Literal["login"]
    service: Literal["pocket", "mastodon", "wallabag", "readeck"]
    instance: WebUrl | None = None
    client_id: _Secret | None = None
    client_secret: _Secret | None = None
    username: _Secret | None = None
    password: _Secret | None = None
    token: _Secret | None = None

    @model_validator(mode="after")
    def _fields_for_service(self) -> Login:
        needed = LOGIN_FIELDS[self.service]
        allowed = needed | _LOGIN_OPTIONAL.get(self.service, frozenset())
        for name in _LOGIN_ALL:
            given = getattr(self, name) is not None
            if name in needed and not given:
                what = "your server's https URL" if name == "instance" else name
                raise ValueError(f"{self.service} sign-in needs {name} ({what})")
            if given and name not in allowed:
                raise ValueError(f"{name} is not for {self.service}")
        return self


class Logout(_Request):
    """Forget an account's token."""

    result = LogoutResult

    op: Literal["logout"]
    service: Literal["pocket", "mastodon", "wallabag", "readeck"]


class SettingsGet(_Request):
    """The host settings the options page edits, and where each comes from."""

    result = SettingsResult

    op: Literal["settings"]


class SettingsSet(_Request):
    """Change host settings in config.toml (``reset`` removes keys: back to the defaults)."""

    result = SettingsResult
    rule_field = "reset"

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
    | ListItems
    | ArticleGet
    | ArticleStats
    | ArticlesClear
    | BookmarkAction
    | BookmarkState
    | Bookmarks
    | Login
    | Logout
    | SettingsGet
    | SettingsSet,
    Field(discriminator="op"),
]


def ops_of(model: type[_Request]) -> tuple[str, ...]:
    """The op names a request model stands for (its ``op`` literal)."""
    return get_args(model.model_fields["op"].annotation)


#: the request models, in the union's order
REQUEST_MODELS: tuple[type[_Request], ...] = get_args(get_args(Request)[0])
#: op -> its request model
MODELS: dict[str, type[_Request]] = {op: m for m in REQUEST_MODELS for op in ops_of(m)}
OPS: tuple[str, ...] = tuple(MODELS)
WRITE_OPS = frozenset(op for op, m in MODELS.items() if m.write)
#: writes on one item, named by item_id or url
ITEM_OPS = frozenset(op for op, m in MODELS.items() if issubclass(m, _ItemTarget))
#: the reading list's writes (each one Pocket action)
LIST_OPS = frozenset(op for op in WRITE_OPS if MODELS[op].handled_by == "list")
#: write op -> its service ("list": the reading list, local or Pocket)
WRITE_SERVICE: dict[str, Service] = {
    op: m.handled_by for op, m in MODELS.items() if m.write and m.handled_by is not None
}
#: read op a service answers -> the service whose account it needs
READ_SERVICE: dict[str, Service] = {
    op: m.handled_by for op, m in MODELS.items() if not m.write and m.handled_by is not None
}


def _results() -> dict[str, type[BaseModel]]:
    missing = [m.__name__ for m in REQUEST_MODELS if not hasattr(m, "result")]
    if missing:
        raise TypeError(f"request models without a result model: {', '.join(missing)}")
    return {op: m.result for op, m in MODELS.items()}


#: op -> the model of its reply's ``result``
RESULTS: dict[str, type[BaseModel]] = _results()

_adapter: TypeAdapter[Request] | None = None


def request_adapter() -> TypeAdapter[Request]:
    """The union's validator, built on first use (it costs more than the models)."""
    global _adapter
    if _adapter is None:
        _adapter = TypeAdapter(Request)
    return _adapter


def request_id(message: Any) -> str | int | None:
    """The usable ``id`` of a decoded message, or ``None``.

    Usable means it can be echoed: an integer JavaScript holds exactly, or a
    1-64 character string that can be written as UTF-8 (no lone surrogates).
    """
    if not isinstance(message, dict):
        return None
    rid = message.get("id")
    if isinstance(rid, bool):
        return None
    if isinstance(rid, int):
        return rid if -MAX_SAFE_ID <= rid <= MAX_SAFE_ID else None
    if isinstance(rid, str) and 1 <= len(rid) <= 64 and encodable(rid):
        return rid
    return None


def encodable(text: str) -> bool:
    """Can ``text`` be written as UTF-8? (JSON allows lone surrogates like ``"\\ud800"``.)"""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unencodable_field(message: dict[str, Any]) -> str | None:
    """The path of the first key or string in ``message`` that cannot be written as UTF-8.

    Iterative: a deeply nested value must not cost a RecursionError.
    """
    stack: list[tuple[str, Any]] = [("", message)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if not encodable(value):
                return path
        elif isinstance(value, dict):
            for key, item in value.items():
                shown = key if encodable(key) else key.encode("utf-8", "backslashreplace").decode()
                where = f"{path}.{shown}" if path else shown
                if shown != key:
                    return where
                stack.append((where, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}", item) for i, item in enumerate(value))
    return None


def parse_request(message: Any) -> Request:
    """Validate one decoded message; returns the request model.

    Raises InvalidMessage (not an object, no usable id) or InvalidRequest.
    """
    if not isinstance(message, dict):
        raise InvalidMessage(f"a request must be a JSON object, not {_json_kind(message)}")
    bad = unencodable_field(message)
    if bad is not None:
        # Checked first: nothing from this message may reach a reply, the log or the store.
        msg = "text that cannot be written as UTF-8 (a lone surrogate)"
        raise InvalidRequest(f"invalid request: {bad}: {msg}", [{"loc": bad, "msg": msg}])
    if request_id(message) is None:
        raise InvalidMessage(
            "a request needs an id: a string of 1-64 characters or an integer "
            f"from -{MAX_SAFE_ID} to {MAX_SAFE_ID}"
        )
    op = message.get("op")
    if not isinstance(op, str) or op not in OPS:
        msg = "missing op" if op is None else f"unknown op {op!r}"
        raise InvalidRequest(f"{msg}; known ops: {', '.join(OPS)}", [{"loc": "op", "msg": msg}])
    try:
        return request_adapter().validate_python(message)
    except ValidationError as exc:
        fields = [
            {"loc": _loc(err["loc"], op), "msg": _msg(err)} for err in exc.errors(include_url=False)
        ]
        summary = "; ".join(f"{f['loc'] or op}: {f['msg']}" for f in fields[:3])
        raise InvalidRequest(f"invalid {op} request: {summary}", fields) from None


def _loc(loc: tuple[int | str, ...], op: str) -> str:
    parts = list(loc)
    if parts and parts[0] == op:
        parts = parts[1:]
    parts = [p for p in parts if not (isinstance(p, str) and p.startswith("function-"))]
    if not parts:  # a model validator: name the field the rule is about
        return MODELS[op].rule_field
    return ".".join(str(p) for p in parts)


def _msg(err: ErrorDetails) -> str:
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
