"""A wallabag 2.x stand-in (API v2) on 127.0.0.1, written from wallabag's own sources.

Each behaviour follows the controller named beside it (wallabag repository,
``src/Controller/Api/``): EntryRestController.php (entries, exists, mass
actions, tags by url), TagRestController.php (``DELETE /api/tag/label``),
EntryDeletionRestController.php (``/api/entry-deletions``, 410 before the
cutoff), and FOSOAuthServerBundle's token endpoint (password and
refresh_token grants; a used refresh token is spent). Use::

    with WallabagStandin() as wb:
        wb.link(env)            # tuckaway login wallabag ... --secrets-stdin
        ...
        assert len(wb.calls("/api/entries/lists")) == 10

``expire_token()`` makes the current access token answer 401 (the client
must refresh); ``mass_limit`` is the server's ``api_limit_mass_actions``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from threaded_standin import ThreadedStandin

CLIENT_ID = "1_standin-client"
CLIENT_SECRET = "standin-client-secret-7c2"
USERNAME = "wallace"
PASSWORD = "gromit-1993"


def _sha1(url: str) -> str:
    return hashlib.sha1(url.encode()).hexdigest()


@dataclass
class Entry:
    id: int
    url: str
    title: str = ""
    is_archived: int = 0
    is_starred: int = 0
    tags: list[str] = field(default_factory=list)
    updated_at: float = field(default_factory=time.time)
    #: the html a client sent (postEntriesAction keeps it instead of fetching the page)
    content: str = ""

    def to_json(self, tag_ids: dict[str, int]) -> dict[str, Any]:
        # the fields of wallabag's Entry serialisation that matter here
        return {
            "id": self.id,
            "url": self.url,
            "given_url": self.url,
            "hashed_url": _sha1(self.url),
            "title": self.title,
            "is_archived": self.is_archived,
            "is_starred": self.is_starred,
            "tags": [{"id": tag_ids[t], "label": t, "slug": t.lower()} for t in self.tags],
            "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(self.updated_at)),
        }


class WallabagStandin(ThreadedStandin):
    name = "wallabag-standin"

    def __init__(self, mass_limit: int = 10) -> None:
        super().__init__()
        #: api_limit_mass_actions (wallabag's default is 10)
        self.mass_limit = mass_limit
        self.entries: dict[int, Entry] = {}
        self.deletions: list[tuple[int, float]] = []
        #: EntryDeletionRestController: ``since`` before this answers 410
        self.deletion_cutoff = 0.0
        self._ids = itertools.count(1)
        self._tag_ids: dict[str, int] = {}
        self.access_token = ""
        self.refresh_token = ""
        self.refreshes = 0

    # -- test helpers ----------------------------------------------------------------

    def link(self, env: dict[str, str]) -> None:
        from support.hostproc import run_cli

        done = run_cli(
            env,
            "login",
            "wallabag",
            "--url",
            self.url,
            "--client-id",
            CLIENT_ID,
            "--username",
            USERNAME,
            "--secrets-stdin",
            input=f"{CLIENT_SECRET}\n{PASSWORD}\n",
        )
        assert done.returncode == 0, done.stderr

    def expire_token(self) -> None:
        with self._lock:
            self.access_token = "expired-" + secrets.token_hex(4)

    def by_url(self, url: str) -> Entry | None:
        return next((e for e in self.entries.values() if e.url == url), None)

    # -- serving -----------------------------------------------------------------

    async def answer(self, request: web.Request, body: Any) -> web.StreamResponse:
        path = request.path.removesuffix(".json")
        if path == "/oauth/v2/token" and request.method == "POST":
            return self._token(body or {})
        if not path.startswith("/api/"):
            return _json({"error": "not found"}, 404)
        if (
            request.headers.get("Authorization") != f"Bearer {self.access_token}"
            or not self.access_token
        ):
            return _json(
                {
                    "error": "invalid_grant",
                    "error_description": "The access token provided has expired.",
                },
                401,
            )
        q = request.query
        data = body if isinstance(body, dict) else {}
        m = request.method
        if path == "/api/entries" and m == "POST":
            return self._post_entry(data)
        if path == "/api/entries" and m == "GET":
            return self._list(q)
        if path == "/api/entries/lists" and m == "POST":
            return self._post_list(json.loads(q.get("urls", "[]")))
        if path == "/api/entries/exists" and m == "GET":
            return self._exists(request)
        if path == "/api/entries/tags/lists" and m == "POST":
            return self._tags_list(json.loads(q.get("list", "[]")), add=True)
        if path == "/api/entries/tags/list" and m == "DELETE":
            return self._tags_list(json.loads(q.get("list", "[]")), add=False)
        if path == "/api/tag/label" and m == "DELETE":
            return self._delete_tag(q.get("tag", ""))
        if path == "/api/entry-deletions" and m == "GET":
            return self._deletions(q)
        if path.startswith("/api/entries/"):
            tail = path.removeprefix("/api/entries/")
            if tail.isdigit():
                entry = self.entries.get(int(tail))
                if entry is None:  # ParamConverter: no such entry
                    return _json({"error": {"code": 404, "message": "Not Found"}}, 404)
                if m == "GET":
                    return self._entry(entry)
                if m == "PATCH":
                    return self._patch(entry, data)
                if m == "DELETE":
                    answer = self._entry(entry)
                    del self.entries[entry.id]
                    self.deletions.append((entry.id, time.time()))
                    return answer
        return _json({"error": {"code": 404, "message": "No route found"}}, 404)

    def _token(self, form: dict[str, Any]) -> web.Response:
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return _json(
                {
                    "error": "invalid_client",
                    "error_description": "The client credentials are invalid",
                },
                400,
            )
        grant = form.get("grant_type")
        if grant == "password":
            if form.get("username") != USERNAME or form.get("password") != PASSWORD:
                return _json(
                    {
                        "error": "invalid_grant",
                        "error_description": "Invalid username and password combination",
                    },
                    400,
                )
        elif grant == "refresh_token":
            if not self.refresh_token or form.get("refresh_token") != self.refresh_token:
                return _json(
                    {"error": "invalid_grant", "error_description": "Invalid refresh token"}, 400
                )
            self.refreshes += 1
        else:
            return _json({"error": "unsupported_grant_type"}, 400)
        self.access_token = "at-" + secrets.token_hex(8)
        self.refresh_token = "rt-" + secrets.token_hex(8)  # the old one is spent
        return _json(
            {
                "access_token": self.access_token,
                "expires_in": 3600,
                "token_type": "bearer",
                "scope": None,
                "refresh_token": self.refresh_token,
            }
        )

    def _entry(self, entry: Entry) -> web.Response:
        return _json(entry.to_json(self._tag_ids))

    def _assign(self, entry: Entry, tags: str) -> None:
        # TagsAssigner::assignTagsToEntry: comma-separated labels, trimmed, no duplicates
        for label in (t.strip() for t in tags.split(",")):
            if label and label not in entry.tags:
                self._tag_ids.setdefault(label, len(self._tag_ids) + 1)
                entry.tags.append(label)
        entry.updated_at = time.time()

    def _new(self, url: str) -> Entry:
        entry = Entry(next(self._ids), url)
        self.entries[entry.id] = entry
        return entry

    def _post_entry(self, data: dict[str, Any]) -> web.Response:
        # postEntriesAction: an existing url is updated, not duplicated
        url = str(data.get("url") or "")
        if not url:
            return _json({"error": {"code": 400, "message": "url is empty"}}, 400)
        entry = self.by_url(url) or self._new(url)
        self._change(entry, data, replace_tags=False)
        # postEntriesAction: the client's content is used only with a non-empty title and url
        if data.get("content") and data.get("title"):
            entry.content = str(data["content"])
        return self._entry(entry)

    def _post_list(self, urls: list[str]) -> web.Response:
        # postEntriesListAction: above api_limit_mass_actions -> 400 "API limit reached"
        if len(urls) > self.mass_limit:
            return _json({"error": {"code": 400, "message": "API limit reached"}}, 400)
        results = []
        for url in urls:
            entry = self.by_url(url) or self._new(url)
            results.append({"url": url, "entry": entry.id})
        return _json(results)

    def _exists(self, request: web.Request) -> web.Response:
        # getEntriesExistsAction: hashed_urls[] (or urls[]); return_id=1 answers ids or null
        return_id = request.query.get("return_id") == "1"
        hashed = request.query.getall("hashed_urls[]", [])
        urls = request.query.getall("urls[]", [])
        keys = {h: h for h in hashed} | {_sha1(u): u for u in urls}
        if not keys:
            return _json({"error": {"code": 403, "message": "URL is empty?"}}, 403)
        by_hash = {_sha1(e.url): e.id for e in self.entries.values()}
        results = {shown: by_hash.get(h) for h, shown in keys.items()}
        if not return_id:
            results = {k: v is not None for k, v in results.items()}  # type: ignore[misc]
        return _json(results)

    def _patch(self, entry: Entry, data: dict[str, Any]) -> web.Response:
        # patchEntriesAction: tags replace all tags only when non-empty
        self._change(entry, data, replace_tags=True)
        return self._entry(entry)

    def _change(self, entry: Entry, data: dict[str, Any], *, replace_tags: bool) -> None:
        # retrieveValueFromRequest: title, archive/starred (0/1), tags (comma-separated)
        if data.get("title"):
            entry.title = str(data["title"])
        for key, attr in (("archive", "is_archived"), ("starred", "is_starred")):
            if data.get(key) is not None:
                setattr(entry, attr, int(bool(int(data[key]))))
        if data.get("tags"):
            if replace_tags:
                entry.tags = []
            self._assign(entry, str(data["tags"]))
        entry.updated_at = time.time()

    def _tags_list(self, items: list[dict[str, Any]], *, add: bool) -> web.Response:
        # postEntriesTagsListAction / deleteEntriesTagsListAction: by url, entry false if unknown
        results = []
        for element in items:
            entry = self.by_url(str(element.get("url")))
            results.append({"url": element.get("url"), "entry": entry.id if entry else False})
            tags = str(element.get("tags") or "")
            if entry is None or not tags:
                continue
            if add:
                self._assign(entry, tags)
            else:
                drop = {t.strip() for t in tags.split(",")}
                entry.tags = [t for t in entry.tags if t not in drop]
                entry.updated_at = time.time()
        return _json(results)

    def _delete_tag(self, label: str) -> web.Response:
        # TagRestController::deleteTagLabelAction: 404 "Tag not found" when nobody has it
        tagged = [e for e in self.entries.values() if label in e.tags]
        if label not in self._tag_ids:
            return _json({"error": {"code": 404, "message": "Tag not found"}}, 404)
        for entry in tagged:
            entry.tags.remove(label)
            entry.updated_at = time.time()
        return _json({"id": self._tag_ids.pop(label), "label": label, "slug": label.lower()})

    def _list(self, q: Any) -> web.Response:
        # getEntriesAction: since (updated), tags (all of them), HATEOAS pages
        since = int(q.get("since") or 0)
        tags = [t for t in (q.get("tags") or "").split(",") if t]
        page, per_page = int(q.get("page") or 1), int(q.get("perPage") or 30)
        found = sorted(
            (
                e
                for e in self.entries.values()
                if e.updated_at >= since and all(t in e.tags for t in tags)
            ),
            key=lambda e: e.updated_at,
        )
        return _json(_paged([e.to_json(self._tag_ids) for e in found], page, per_page))

    def _deletions(self, q: Any) -> web.Response:
        since = int(q.get("since") or 0)
        if since and since < self.deletion_cutoff:
            return web.json_response(
                {"error": {"code": 410, "message": "since is before the deletion cutoff"}},
                status=410,
                headers={"X-Wallabag-Entry-Deletion-Cutoff": str(int(self.deletion_cutoff))},
            )
        items = [
            {"entry_id": i, "deleted_at": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(t))}
            for i, t in self.deletions
            if t >= since
        ]
        return _json(_paged(items, int(q.get("page") or 1), int(q.get("perPage") or 30)))


def _paged(items: list[dict[str, Any]], page: int, per_page: int) -> dict[str, Any]:
    start = (page - 1) * per_page
    return {
        "page": page,
        "limit": per_page,
        "pages": max(1, math.ceil(len(items) / per_page)),
        "total": len(items),
        "_embedded": {"items": items[start : start + per_page]},
    }


def _json(value: Any, status: int = 200) -> web.Response:
    return web.json_response(value, status=status)
