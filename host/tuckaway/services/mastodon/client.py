"""A small Mastodon client: the statuses, bookmarks and search calls Tuckaway needs.

Every call goes through the Context's one aiohttp session with the user's
bearer token from the keyring. HTTP failures become typed errors that carry
their PROTOCOL.md code: 401 :class:`~tuckaway.errors.AuthFailed`, 403
:class:`Forbidden`, 404 :class:`~tuckaway.errors.NotFound`, 422
:class:`Unprocessable`, 429 :class:`~tuckaway.errors.RateLimited` (with the
wait taken from ``Retry-After`` or ``X-RateLimit-Reset``), 5xx, timeouts and
connection errors :class:`ServiceUnavailable`.

Rate limits are read from every answer, not only from a 429: once one says
``X-RateLimit-Remaining: 0``, the next call raises :class:`RateLimited` at once
(``retry_after``: the seconds until ``X-RateLimit-Reset``) instead of asking a
server that already said it would refuse.

The models keep only what Tuckaway reads and ignore everything else, so the
fields that differ between Mastodon versions and forks (Pleroma, Akkoma,
GoToSocial, Glitch) do not break parsing. Ids are strings in the contract even
where a fork sends numbers.
"""

from __future__ import annotations

import hashlib
import html.parser
import logging
import math
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, field_validator

from tuckaway.errors import (
    ActionFailed,
    AuthFailed,
    NotFound,
    NotLinked,
    RateLimited,
    Unavailable,
)

if TYPE_CHECKING:
    import aiohttp

    from tuckaway.context import Context

log = logging.getLogger(__name__)

#: default wait when a 429 says nothing usable about when to come back
DEFAULT_RATE_LIMIT_WAIT_S = 60.0
MAX_RATE_LIMIT_WAIT_S = 3600.0
#: plain text of a status in a ``bookmarks`` reply is cut to this many characters
TEXT_CAP = 500
#: the other fields of a status summary: no real server sends longer ones, and 40 of
#: them at these caps stay far under the browsers' 1 MiB for one reply
ID_CAP = 64  # as a request's status_id; a longer id is cut (it could not be used anyway)
URL_CAP = 1024  # a longer url is not cut (it would lead nowhere): the uri, or null
ACCT_CAP = 300  # user@domain: 30 + 1 + 253 characters at most
DATE_CAP = 64
#: a status's HTML is read only this far (Mastodon's is a few KiB; a fork's may be anything)
HTML_CAP = 64 * 1024
PAGE_MAX = 40
BOOKMARKS_PATH = "/api/v1/bookmarks"


# -- errors ---------------------------------------------------------------------------


class Forbidden(ActionFailed):
    """403: the token lacks the scope, or the server refuses this account."""


class Unprocessable(ActionFailed):
    """422: the server refused the request as invalid."""


class ServiceUnavailable(Unavailable):
    """5xx, a timeout or a connection failure; ``retry_after`` when the server said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# -- models ---------------------------------------------------------------------------


def _as_str(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Account(_Model):
    id: str
    username: str = ""
    acct: str = ""
    url: str | None = None
    display_name: str = ""

    _ids = field_validator("id", mode="before")(_as_str)


class Card(_Model):
    url: str | None = None
    title: str = ""

    @field_validator("url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return value or None


class Status(_Model):
    id: str
    url: str | None = None
    uri: str | None = None
    created_at: str = ""
    account: Account
    content: str = ""
    spoiler_text: str = ""
    bookmarked: bool | None = None
    #: public, unlisted, private (followers only), direct; forks add others
    visibility: str | None = None
    card: Card | None = None
    reblog: Status | None = None

    _ids = field_validator("id", mode="before")(_as_str)

    @field_validator("content", "spoiler_text", "created_at", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    @property
    def link(self) -> str | None:
        """Where the post can be read: its ``url``, else its ActivityPub ``uri``."""
        return self.url or self.uri

    @property
    def short_link(self) -> str | None:
        """:attr:`link` if it is at most :data:`URL_CAP` long, else the ``uri`` if that is."""
        for candidate in (self.url, self.uri):
            if candidate and len(candidate) <= URL_CAP:
                return candidate
        return None

    def plain_text(self, cap: int = TEXT_CAP) -> str:
        text = html_to_text(self.content)
        if self.spoiler_text:
            spoiler = self.spoiler_text[: cap + 1].strip()
            text = f"CW: {spoiler}\n\n{text}" if text else spoiler
        return cap_text(text, cap)

    def summary(self) -> dict[str, Any]:
        """The trimmed form a ``bookmarks`` reply carries (PROTOCOL.md), every field capped."""
        return {
            "id": self.id[:ID_CAP],
            "url": self.short_link,
            "created_at": self.created_at[:DATE_CAP],
            "acct": cap_text(self.account.acct or self.account.username, ACCT_CAP),
            "text": self.plain_text(),
        }


@dataclass(frozen=True)
class Page:
    """One page of bookmarks and the Link header's ``next`` URL, as the server gave it.

    The cursors are the server's business (bookmark ids in ``max_id`` on
    Mastodon, something else on some forks): the next page is read by following
    ``next_url`` whole. It is None on the last page, and when the link points
    away from the user's server (the token is never sent elsewhere).
    """

    statuses: list[Status]
    next_url: str | None

    @property
    def next_max_id(self) -> str | None:
        """The ``max_id`` of the next link, when it has one."""
        if self.next_url is None:
            return None
        values = parse_qs(urlsplit(self.next_url).query).get("max_id")
        return values[0] if values and values[0] else None


# -- HTML to text -----------------------------------------------------------------------


class _TextOf(html.parser.HTMLParser):
    """Text content of a status's HTML: paragraphs and line breaks kept, no markup."""

    _SKIP = frozenset({"script", "style", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in ("p", "li", "blockquote", "pre") and self.parts:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(content: str) -> str:
    """Plain text of ``content`` (Mastodon's sanitized HTML, or anything a fork sends);
    only its first :data:`HTML_CAP` characters are parsed."""
    if not content:
        return ""
    parser = _TextOf()
    parser.feed(content[:HTML_CAP])
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def cap_text(text: str, cap: int) -> str:
    if len(text) <= cap:
        return text
    return text[: max(0, cap - 1)].rstrip() + "\u2026"


# -- rate limits ------------------------------------------------------------------------


def retry_after_of(headers: Any, now: datetime | None = None) -> float:
    """Seconds to wait after a 429: ``Retry-After`` (seconds or a date), else
    ``X-RateLimit-Reset`` (an ISO 8601 time), else a default; at least 1."""
    from tuckaway.services.ratelimit import wait_s

    wait = wait_s(headers, now)
    if wait is None:
        wait = DEFAULT_RATE_LIMIT_WAIT_S
    return min(MAX_RATE_LIMIT_WAIT_S, max(1.0, wait))


#: window key (instance and token) -> epoch seconds before which no request is sent:
#: the server said its allowance is used up (a 429, or Remaining 0 on any answer).
#: Per process; every client of the same account shares it.
_HELD_UNTIL: dict[str, float] = {}
#: windows whose token may not read statuses (403: signed in before Tuckaway asked for
#: ``read:statuses``); their status reads go straight to the search
_NO_STATUS_READ: set[str] = set()


# -- status urls ------------------------------------------------------------------------

# Mastodon's status ids are decimal: /@bob/media, /@bob/followers and the like are
# pages of the account (its routes.rb), not posts. A url matching none of these is
# looked up with a search instead, so a fork's other forms still work.
_LOCAL_PATHS = (
    re.compile(r"^/@[^/@]+(?:@[^/]+)?/(?P<id>[0-9]+)/?$"),  # /@user/ID, /@user@remote/ID
    re.compile(r"^/web/statuses/(?P<id>[0-9]+)/?$"),
    re.compile(r"^/web/@[^/]+/(?P<id>[0-9]+)/?$"),
    re.compile(r"^/users/[^/]+/statuses/(?P<id>[0-9]+)/?$"),
    re.compile(r"^/notice/(?P<id>[A-Za-z0-9]+)/?$"),  # Pleroma/Akkoma: base62 flake ids
)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"https": 443, "http": 80}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def _origin_text(url: str) -> str:
    scheme, host, port = _origin(url)
    return f"{scheme}://{host}:{port}"


def local_status_id(instance: str, status_url: str) -> str | None:
    """The id in ``status_url`` when it is a status page of ``instance`` itself."""
    if _origin(instance) != _origin(status_url):
        return None
    path = urlsplit(status_url).path
    for pattern in _LOCAL_PATHS:
        match = pattern.match(path)
        if match:
            return match.group("id")
    return None


# -- the client -----------------------------------------------------------------------


class MastodonClient:
    """Calls on one instance with one user token."""

    def __init__(self, http: aiohttp.ClientSession, instance: str, token: str) -> None:
        self.http = http
        self.instance = instance.rstrip("/")
        self._token = token
        digest = hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]
        self._window = f"{self.instance}|{digest}"

    @classmethod
    async def for_context(cls, ctx: Context) -> MastodonClient:
        creds = ctx.credentials.mastodon()
        if creds is None:
            raise NotLinked(
                "no Mastodon account is linked: sign in from the extension's options page "
                "or run `tuckaway login mastodon`"
            )
        return cls(await ctx.http(), creds.instance, creds.access_token)

    # -- plumbing ---------------------------------------------------------

    async def _call(
        self, method: str, path_or_url: str, params: dict[str, str] | None = None
    ) -> tuple[Any, Any]:
        """JSON body and the response's ``links`` for one request; errors raised typed."""
        import aiohttp

        url = path_or_url if "://" in path_or_url else self.instance + path_or_url
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        what = f"{method} {urlsplit(url).path}"
        self._check_allowance()
        try:
            async with self.http.request(method, url, params=params, headers=headers) as resp:
                self._note_allowance(resp.status, resp.headers)
                if resp.status >= 400:
                    raise await _error_of(resp, what)
                try:
                    body = await resp.json(content_type=None)
                except ValueError as exc:
                    raise ServiceUnavailable(
                        f"Mastodon answered {what} with something that is not JSON"
                    ) from exc
                return body, resp.links
        except TimeoutError as exc:
            raise ServiceUnavailable(f"Mastodon did not answer {what} in time") from exc
        except aiohttp.ClientError as exc:
            raise ServiceUnavailable(
                f"cannot reach Mastodon at {self.instance} ({type(exc).__name__})"
            ) from exc

    def _check_allowance(self) -> None:
        """Raise :class:`RateLimited` while the server's allowance is used up."""
        until = _HELD_UNTIL.get(self._window)
        if until is None:
            return
        left = until - time.time()
        if left <= 0:
            del _HELD_UNTIL[self._window]
            return
        raise RateLimited(
            f"Mastodon's rate limit is used up until it resets; try again in {math.ceil(left)}s",
            left,
        )

    def _note_allowance(self, status: int, headers: Any) -> None:
        """After a 429, or any answer saying ``X-RateLimit-Remaining: 0``: hold the next
        request until the reset (``Retry-After``, else ``X-RateLimit-Reset``)."""
        from tuckaway.services.ratelimit import header_int

        remaining = header_int(headers, "X-RateLimit-Remaining")
        if status == 429 or (remaining is not None and remaining <= 0):
            wait = retry_after_of(headers)
            _HELD_UNTIL[self._window] = time.time() + wait
            log.info("mastodon: rate limit used up; next request in %.0fs", wait)

    # -- statuses ---------------------------------------------------------

    async def status(self, status_id: str) -> Status:
        body, _ = await self._call("GET", f"/api/v1/statuses/{_safe_id(status_id)}")
        return Status.model_validate(body)

    async def read_status(self, status_id: str, username: str) -> Status:
        """Status ``status_id`` of this server, with ``bookmarked`` for the token's user.

        ``GET /api/v1/statuses/:id`` needs ``read:statuses``, which sign-ins before
        Tuckaway asked for it lack (403). Their tokens hold ``read:search``: a resolving
        search of the status's ``/@user/ID`` address answers the same Status (Mastodon
        finds a local address by its id alone, whoever ``user`` is:
        ``ResolveURLService#process_local_url``).
        """
        if self._window not in _NO_STATUS_READ:
            try:
                return await self.status(status_id)
            except Forbidden:
                _NO_STATUS_READ.add(self._window)
                log.info("mastodon: the token may not read statuses; asking the search")
        url = f"{self.instance}/@{username or '_'}/{_safe_id(status_id)}"
        found = await self.search_status(url, resolve=True)
        if found is None or found.id != status_id:
            raise NotFound("Mastodon has no such post, or it is not visible to you")
        return found

    async def bookmark(self, status_id: str) -> Status:
        body, _ = await self._call("POST", f"/api/v1/statuses/{_safe_id(status_id)}/bookmark")
        return Status.model_validate(body)

    async def unbookmark(self, status_id: str) -> Status:
        body, _ = await self._call("POST", f"/api/v1/statuses/{_safe_id(status_id)}/unbookmark")
        return Status.model_validate(body)

    async def search_status(self, url: str, *, resolve: bool = True) -> Status | None:
        params = {
            "q": url,
            "type": "statuses",
            "resolve": "true" if resolve else "false",
            "limit": "1",
        }
        body, _ = await self._call("GET", "/api/v2/search", params)
        found = body.get("statuses") if isinstance(body, dict) else None
        if not found:
            return None
        return Status.model_validate(found[0])

    async def resolve(self, *, status_id: str | None = None, status_url: str | None = None) -> str:
        """The id on the user's own server of a status given by id or by url."""
        if status_id:
            return status_id
        if not status_url:
            raise NotFound("no status given")
        local = local_status_id(self.instance, status_url)
        if local is not None:
            return local
        found = await self.search_status(status_url, resolve=True)
        if found is None:
            raise NotFound(f"your Mastodon server could not find a post at {status_url}")
        return found.id

    # -- bookmarks --------------------------------------------------------

    async def bookmarks(
        self, limit: int = 20, max_id: str | None = None, *, url: str | None = None
    ) -> Page:
        """One page, newest bookmark first: the first (``limit``, from ``max_id``), or
        the one at ``url`` (a :attr:`Page.next_url`, followed as given)."""
        params: dict[str, str] | None = None
        if url is not None:
            if not self.is_bookmarks_url(url):
                raise ActionFailed(
                    f"refusing to follow a bookmarks link to another server ({_origin_text(url)})"
                )
        else:
            params = {"limit": str(max(1, min(limit, PAGE_MAX)))}
            if max_id:
                params["max_id"] = max_id
        try:
            body, links = await self._call("GET", url or BOOKMARKS_PATH, params)
        except NotFound:
            # Mastodon >= 3.1 never answers 404 here: the server has no bookmarks API
            # (or a proxy hides it). A revoked token is the likelier, fixable cause on
            # servers that route before they authenticate: ask who the token is first.
            await self._call("GET", "/api/v1/accounts/verify_credentials")
            raise NotFound(
                f"{self.instance} has no Mastodon bookmarks API (404 on {BOOKMARKS_PATH}); "
                "bookmarks need Mastodon 3.1 or later"
            ) from None
        if not isinstance(body, list):
            raise ServiceUnavailable("Mastodon answered the bookmarks page with something odd")
        statuses = [Status.model_validate(s) for s in body]
        next_url: str | None = None
        next_link = links.get("next") if links and statuses else None
        if next_link is not None:
            next_url = str(next_link["url"])
            if not self.is_bookmarks_url(next_url):
                log.warning(
                    "the bookmarks page's next link points to %s, not %s: not followed",
                    _origin_text(next_url),
                    self.instance,
                )
                next_url = None
        return Page(statuses, next_url)

    def is_bookmarks_url(self, url: str) -> bool:
        """Whether ``url`` is the bookmarks endpoint of this client's own server."""
        return _origin(url) == _origin(self.instance) and urlsplit(url).path.rstrip("/").endswith(
            BOOKMARKS_PATH
        )


def _safe_id(status_id: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", status_id):
        raise NotFound(f"{status_id!r} is not a Mastodon status id")
    return status_id


async def _error_of(resp: aiohttp.ClientResponse, what: str) -> Exception:
    server_says = ""
    try:
        body = await resp.json(content_type=None)
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            server_says = body["error"][:200]
    except ValueError:  # an error page that is not JSON says nothing we need
        server_says = ""
    said = f": {server_says}" if server_says else ""
    status = resp.status
    if status == 401:
        return AuthFailed(
            f"Mastodon refused the stored token{said}; sign in again "
            "(writes stay queued until you do)"
        )
    if status == 403:
        return Forbidden(f"Mastodon refused {what} (403){said}")
    if status == 404:
        return NotFound(f"Mastodon has no such post, or it is not visible to you (404){said}")
    if status == 422:
        return Unprocessable(f"Mastodon could not process {what} (422){said}")
    if status == 429:
        wait = retry_after_of(resp.headers)
        return RateLimited(f"Mastodon is rate limiting; try again in {round(wait)}s", wait)
    if status >= 500:
        retry = resp.headers.get("Retry-After")
        return ServiceUnavailable(
            f"Mastodon is failing ({status}){said}",
            retry_after_of(resp.headers) if retry else None,
        )
    return ActionFailed(f"Mastodon answered {what} with HTTP {status}{said}")


__all__ = [
    "Account",
    "Card",
    "Forbidden",
    "MastodonClient",
    "Page",
    "ServiceUnavailable",
    "Status",
    "Unprocessable",
    "html_to_text",
    "local_status_id",
    "retry_after_of",
]
