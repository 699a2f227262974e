"""An aiohttp client for the Readeck API (the routes Tuckaway uses).

Written from Readeck's own OpenAPI description (``docs/api/bookmarks/
routes-bookmarks.yaml``, ``routes-sync.yaml`` and ``types.yaml`` in its
repository). Every call carries ``Authorization: Bearer`` with an API token;
Readeck tokens do not expire on their own, so a 401 means the token was
revoked: the writes wait for the next sign-in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tuckaway.services.rest import Answer, ServiceRefused, call

if TYPE_CHECKING:
    import aiohttp

    from tuckaway.accounts.credentials import ReadeckCredentials

NAME = "Readeck"
#: bookmarks asked for per ``GET /api/bookmarks?id=...`` while syncing
ID_CHUNK = 50


class ReadeckClient:
    """Calls on behalf of one account."""

    def __init__(self, session: aiohttp.ClientSession, creds: ReadeckCredentials) -> None:
        self.session = session
        self.creds = creds
        #: how many calls were made (the bench counts them)
        self.calls = 0

    async def _call(self, method: str, path: str, **kw: Any) -> Answer:
        self.calls += 1
        return await call(
            self.session,
            method,
            f"{self.creds.base_url}{path}",
            token=self.creds.access_token,
            name=NAME,
            **kw,
        )

    async def add(
        self, url: str, title: str | None, labels: Sequence[str], html: str | None = None
    ) -> str:
        """``POST /api/bookmarks``: 202 with the new id in ``Bookmark-Id``; with ``html``
        Readeck keeps that page instead of fetching it."""
        body: dict[str, Any] = {"url": url}
        if title:
            body["title"] = title
        if labels:
            body["labels"] = list(labels)
        if html:
            body["html"] = html
        answer = await self._call("POST", "/api/bookmarks", json_body=body)
        bookmark_id = answer.headers.get("Bookmark-Id")
        if not bookmark_id:
            raise ServiceRefused(f"{NAME} accepted {url} without saying its Bookmark-Id")
        return bookmark_id

    async def patch(self, bookmark_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        answer = await self._call("PATCH", f"/api/bookmarks/{bookmark_id}", json_body=dict(changes))
        return answer.body if isinstance(answer.body, dict) else {}

    async def delete(self, bookmark_id: str) -> None:
        await self._call("DELETE", f"/api/bookmarks/{bookmark_id}")

    async def rename_label(self, old: str, new: str) -> None:
        await self._call(
            "PATCH", "/api/bookmarks/labels", params={"name": old}, json_body={"name": new}
        )

    async def delete_label(self, name: str) -> None:
        await self._call("DELETE", "/api/bookmarks/labels", params={"name": name})

    async def changes(self, since: str | None) -> list[dict[str, Any]]:
        """``GET /api/bookmarks/sync``: ``[{id, time, type: update|delete}]``."""
        params = {"since": since} if since else None
        answer = await self._call("GET", "/api/bookmarks/sync", params=params)
        return [r for r in answer.body or [] if isinstance(r, dict)]

    async def bookmarks(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """The bookmarks with these ids (``GET /api/bookmarks?id=...``, in chunks)."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), ID_CHUNK):
            chunk = ids[start : start + ID_CHUNK]
            params = [("limit", str(len(chunk))), *(("id", i) for i in chunk)]
            answer = await self._call("GET", "/api/bookmarks", params=params)
            found += [b for b in answer.body or [] if isinstance(b, dict)]
        return found
