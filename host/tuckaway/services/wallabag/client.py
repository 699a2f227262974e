"""An aiohttp client for the wallabag API v2 (the endpoints Tuckaway uses).

Every call carries ``Authorization: Bearer``; a 401 refreshes the access token
once with the refresh token (``POST /oauth/v2/token``, grant ``refresh_token``),
stores the new pair through ``on_refresh`` and repeats the call. Only when the
refresh itself is refused does the 401 reach the caller (the writes are then
held until the next sign-in). Mass actions take their lists as JSON in the
query string, as wallabag's EntryRestController reads them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tuckaway.services.rest import Answer, ServiceAuthFailed, ServiceRefused, call

if TYPE_CHECKING:
    import aiohttp

    from tuckaway.accounts.credentials import WallabagCredentials

log = logging.getLogger(__name__)

NAME = "wallabag"
#: wallabag's default ``api_limit_mass_actions``; a 400 "API limit reached" halves it
MASS_LIMIT = 10
#: entries per page of a listing
PAGE = 100

OnRefresh = Callable[["WallabagCredentials"], Awaitable[None]]


class LimitReached(ServiceRefused):
    """400 "API limit reached": the server's ``api_limit_mass_actions`` is lower."""


def url_hash(url: str) -> str:
    """wallabag's UrlHasher: SHA-1 of the url (``hashed_urls[]`` lookups)."""
    return hashlib.sha1(url.encode()).hexdigest()  # noqa: S324 - wallabag's own key


async def password_grant(
    session: aiohttp.ClientSession,
    base_url: str,
    client_id: str,
    client_secret: str,
    username: str,
    password: str,
) -> dict[str, Any]:
    """``POST /oauth/v2/token`` with the password grant: ``{access_token, refresh_token ...}``."""
    answer = await call(
        session,
        "POST",
        f"{base_url}/oauth/v2/token",
        name=NAME,
        form={
            "grant_type": "password",
            "client_id": client_id,
            "client_secret": client_secret,
            "username": username,
            "password": password,
        },
    )
    return _tokens(answer)


def _tokens(answer: Answer) -> dict[str, Any]:
    body = answer.body if isinstance(answer.body, Mapping) else {}
    if not isinstance(body.get("access_token"), str) or not body.get("access_token"):
        raise ServiceRefused(f"{NAME} answered the sign-in without an access token")
    return dict(body)


class WallabagClient:
    """Calls on behalf of one account; ``creds`` changes when a refresh succeeds."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        creds: WallabagCredentials,
        on_refresh: OnRefresh | None = None,
    ) -> None:
        self.session = session
        self.creds = creds
        self.on_refresh = on_refresh
        #: how many calls were made (the bench counts them)
        self.calls = 0

    async def _call(self, method: str, path: str, **kw: Any) -> Answer:
        url = f"{self.creds.base_url}{path}"
        self.calls += 1
        try:
            return await call(
                self.session, method, url, token=self.creds.access_token, name=NAME, **kw
            )
        except ServiceAuthFailed:
            if not self.creds.refresh_token:
                raise
            await self.refresh()
        self.calls += 1
        return await call(self.session, method, url, token=self.creds.access_token, name=NAME, **kw)

    async def refresh(self) -> None:
        """Trade the refresh token for a new pair; a refused refresh is a 401 for the caller."""
        self.calls += 1
        try:
            answer = await call(
                self.session,
                "POST",
                f"{self.creds.base_url}/oauth/v2/token",
                name=NAME,
                form={
                    "grant_type": "refresh_token",
                    "refresh_token": self.creds.refresh_token,
                    "client_id": self.creds.client_id,
                    "client_secret": self.creds.client_secret,
                },
            )
        except ServiceRefused as exc:  # 400 invalid_grant: the refresh token is spent
            raise ServiceAuthFailed(
                f"{NAME} refused to renew the sign-in ({exc.message}); sign in again"
            ) from None
        tokens = _tokens(answer)
        self.creds = replace(
            self.creds,
            access_token=tokens["access_token"],
            refresh_token=str(tokens.get("refresh_token") or self.creds.refresh_token),
        )
        log.info("wallabag access token renewed")
        if self.on_refresh is not None:
            await self.on_refresh(self.creds)

    # -- entries -------------------------------------------------------------

    async def add(
        self, url: str, title: str | None, tags: Sequence[str], content: str | None = None
    ) -> dict[str, Any]:
        """``POST /api/entries``; with ``content`` (and a title) wallabag keeps that html
        instead of fetching the page."""
        body: dict[str, Any] = {"url": url}
        if title:
            body["title"] = title
        if tags:
            body["tags"] = ",".join(tags)
        if content and title:
            body["content"] = content
        return _object(await self._call("POST", "/api/entries", json_body=body))

    async def add_many(self, urls: Sequence[str]) -> list[dict[str, Any]]:
        """``POST /api/entries/lists``: ``[{url, entry: id}]``; :class:`LimitReached` above
        the server's mass-action limit."""
        try:
            answer = await self._call(
                "POST", "/api/entries/lists", params={"urls": json.dumps(list(urls))}
            )
        except ServiceRefused as exc:
            if "API limit reached" in exc.message:
                raise LimitReached(exc.message) from None
            raise
        return _list(answer)

    async def exists(self, urls: Sequence[str]) -> dict[str, int | None]:
        """url -> entry id (None when not saved), one call for all ``urls``."""
        by_hash = {url_hash(u): u for u in urls}
        params = [("return_id", "1"), *(("hashed_urls[]", h) for h in by_hash)]
        answer = await self._call("GET", "/api/entries/exists", params=params)
        body = answer.body if isinstance(answer.body, Mapping) else {}
        found: dict[str, int | None] = {}
        for key, value in body.items():
            url = by_hash.get(str(key), str(key))
            found[url] = int(value) if isinstance(value, int) and value else None
        return found

    async def get(self, entry_id: str) -> dict[str, Any]:
        return _object(
            await self._call("GET", f"/api/entries/{entry_id}", params={"detail": "metadata"})
        )

    async def patch(self, entry_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        return _object(
            await self._call("PATCH", f"/api/entries/{entry_id}", json_body=dict(changes))
        )

    async def delete(self, entry_id: str) -> None:
        await self._call("DELETE", f"/api/entries/{entry_id}")

    async def tag_urls(self, tags_by_url: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
        """``POST /api/entries/tags/lists``: add tags to entries named by url."""
        return _list(
            await self._call("POST", "/api/entries/tags/lists", params=_tag_list(tags_by_url))
        )

    async def untag_urls(self, tags_by_url: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
        """``DELETE /api/entries/tags/list``: remove tags from entries named by url."""
        return _list(
            await self._call("DELETE", "/api/entries/tags/list", params=_tag_list(tags_by_url))
        )

    async def delete_tag(self, label: str) -> None:
        """``DELETE /api/tag/label``: the tag leaves every entry."""
        await self._call("DELETE", "/api/tag/label", params={"tag": label})

    async def entries(self, **params: Any) -> dict[str, Any]:
        """One page of ``GET /api/entries`` (``detail=metadata``)."""
        query = {"detail": "metadata", "perPage": PAGE, **params}
        return _object(await self._call("GET", "/api/entries", params=query))

    async def deletions(self, since: int) -> list[dict[str, Any]]:
        """``GET /api/entry-deletions?since=``; a 410 (cutoff) is raised to the caller."""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            body = _object(
                await self._call(
                    "GET",
                    "/api/entry-deletions",
                    params={"since": since, "page": page, "perPage": PAGE},
                )
            )
            items.extend(_embedded(body))
            if page >= int(body.get("pages") or 1):
                return items
            page += 1


def embedded_items(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    return _embedded(body)


def _embedded(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    items = (body.get("_embedded") or {}).get("items") or []
    return [i for i in items if isinstance(i, dict)]


def _tag_list(tags_by_url: Mapping[str, Sequence[str]]) -> dict[str, str]:
    return {"list": json.dumps([{"url": u, "tags": ",".join(t)} for u, t in tags_by_url.items()])}


def _object(answer: Answer) -> dict[str, Any]:
    if answer.body is None:
        return {}
    if not isinstance(answer.body, dict):
        raise ServiceRefused(
            f"{NAME} answered a {type(answer.body).__name__} where an object is due"
        )
    return answer.body


def _list(answer: Answer) -> list[dict[str, Any]]:
    body = answer.body
    if isinstance(body, dict):  # PHP arrays with gaps serialise as objects
        body = list(body.values())
    if not isinstance(body, list):
        return []
    return [r for r in body if isinstance(r, dict)]
