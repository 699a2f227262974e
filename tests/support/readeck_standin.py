"""A Readeck stand-in on 127.0.0.1 whose every request and answer is checked
against Readeck's API description.

``readeck_openapi.yaml`` restates the routes Tuckaway uses from Readeck's own
OpenAPI files (see its header); openapi-core validates each request the
stand-in receives and each answer it gives, and records what does not fit in
``violations`` (the fixtures assert it stays empty). Behaviour, from the same
files: ``POST /api/bookmarks`` answers 202 with ``Bookmark-Id`` and
``Location`` (extraction happens later); ``PATCH /api/bookmarks/{id}`` takes
``is_archived``, ``is_marked``, ``labels`` (replaces), ``add_labels`` and
``remove_labels`` and answers the changed values; ``DELETE`` answers 204;
labels are renamed and deleted with ``/api/bookmarks/labels?name=``;
``/api/bookmarks/sync?since=`` lists updated and deleted ids; the OAuth
client registration, ``/authorize`` (approves at once, as a user clicking
"Authorize" would) and ``/api/oauth/token`` with PKCE follow docs/api/oauth.md.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from openapi_core import OpenAPI
from openapi_core.contrib.aiohttp import AIOHTTPOpenAPIWebRequest, AIOHTTPOpenAPIWebResponse
from threaded_standin import ThreadedStandin

TOKEN = "rd-standin-token-41c"
USERNAME = "rita"
SPEC = Path(__file__).with_name("readeck_openapi.yaml")


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Bookmark:
    id: str
    url: str
    title: str = ""
    is_archived: bool = False
    is_marked: bool = False
    labels: list[str] = field(default_factory=list)
    #: the page a client sent with the bookmark (Readeck keeps it instead of fetching)
    html: str = ""
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)

    def to_json(self, base: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "href": f"{base}/api/bookmarks/{self.id}",
            "created": _iso(self.created),
            "updated": _iso(self.updated),
            "state": 0,
            "loaded": True,
            "url": self.url,
            "title": self.title,
            "type": "article",
            "is_deleted": False,
            "is_marked": self.is_marked,
            "is_archived": self.is_archived,
            "labels": list(self.labels),
        }


class ReadeckStandin(ThreadedStandin):
    name = "readeck-standin"

    def __init__(self) -> None:
        super().__init__()
        self.openapi = OpenAPI.from_file_path(str(SPEC))
        self.violations: list[str] = []
        self.bookmarks: dict[str, Bookmark] = {}
        self.deleted: list[tuple[str, float]] = []
        self.tokens = {TOKEN}
        self._ids = itertools.count(1)
        self._grants: dict[str, tuple[str, str]] = {}  # code -> (client_id, challenge)
        self._clients: dict[str, list[str]] = {}

    # -- test helpers ----------------------------------------------------------------

    def link(self, env: dict[str, str]) -> None:
        from support.hostproc import run_cli

        done = run_cli(
            env, "login", "readeck", "--url", self.url, "--token-stdin", input=TOKEN + "\n"
        )
        assert done.returncode == 0, done.stderr

    def by_url(self, url: str) -> Bookmark | None:
        return next((b for b in self.bookmarks.values() if b.url == url), None)

    def add(self, url: str, **fields: Any) -> Bookmark:
        """A bookmark saved elsewhere (another device)."""
        bookmark = Bookmark(f"rd{next(self._ids):04d}", url, **fields)
        self.bookmarks[bookmark.id] = bookmark
        return bookmark

    # -- serving -----------------------------------------------------------------

    async def answer(self, request: web.Request, body: Any) -> web.StreamResponse:
        wrapped = AIOHTTPOpenAPIWebRequest(request, body=await request.read() or None)
        if request.path.startswith("/api/"):
            try:
                self.openapi.validate_request(wrapped)
            except Exception as exc:  # recorded: the test fails on any
                self.violations.append(f"request {request.method} {request.path}: {exc}")
        response = self._route(request, body)
        if request.path.startswith("/api/") and isinstance(response, web.Response):
            try:
                self.openapi.validate_response(wrapped, AIOHTTPOpenAPIWebResponse(response))
            except Exception as exc:
                self.violations.append(f"answer {request.method} {request.path}: {exc}")
        return response

    def _route(self, request: web.Request, body: Any) -> web.StreamResponse:
        path, m = request.path, request.method
        if path == "/authorize":
            return self._authorize(request)
        if path == "/api/oauth/client" and m == "POST":
            client_id = "cl" + secrets.token_hex(4)
            self._clients[client_id] = list(body.get("redirect_uris") or [])
            return web.json_response(
                {"client_id": client_id, "registration_access_token": secrets.token_hex(8)},
                status=201,
            )
        if path == "/api/oauth/token" and m == "POST":
            return self._token(body or {})
        auth = request.headers.get("Authorization", "")
        if auth.removeprefix("Bearer ") not in self.tokens:
            return web.json_response({"status": 401, "message": "Unauthorized"}, status=401)
        data = body if isinstance(body, dict) else {}
        if path == "/api/profile":
            return web.json_response({"provider": {}, "user": {"username": USERNAME}})
        if path == "/api/bookmarks" and m == "POST":
            return self._create(data)
        if path == "/api/bookmarks" and m == "GET":
            ids = request.query.getall("id", [])
            found = [b for b in self.bookmarks.values() if not ids or b.id in ids]
            return web.json_response([b.to_json(self.url) for b in found])
        if path == "/api/bookmarks/sync":
            return self._sync(request.query.get("since"))
        if path == "/api/bookmarks/labels":
            return self._label(request.query.get("name", ""), m, data)
        if path.startswith("/api/bookmarks/"):
            bookmark = self.bookmarks.get(path.removeprefix("/api/bookmarks/"))
            if bookmark is None:
                return web.json_response({"status": 404, "message": "Not Found"}, status=404)
            if m == "GET":
                return web.json_response(bookmark.to_json(self.url))
            if m == "PATCH":
                return self._update(bookmark, data)
            if m == "DELETE":
                del self.bookmarks[bookmark.id]
                self.deleted.append((bookmark.id, time.time()))
                return web.Response(status=204)
        return web.json_response({"status": 404, "message": "Not Found"}, status=404)

    def _create(self, data: dict[str, Any]) -> web.Response:
        bookmark = self.add(str(data.get("url")), title=str(data.get("title") or ""))
        bookmark.labels = list(dict.fromkeys(data.get("labels") or []))
        bookmark.html = str(data.get("html") or "")
        return web.json_response(
            {"status": 202, "message": "Link submited"},
            status=202,
            headers={
                "Bookmark-Id": bookmark.id,
                "Location": f"{self.url}/api/bookmarks/{bookmark.id}",
            },
        )

    def _update(self, bookmark: Bookmark, data: dict[str, Any]) -> web.Response:
        changed: dict[str, Any] = {}
        for key in ("is_archived", "is_marked", "title"):
            if key in data:
                setattr(bookmark, key, data[key])
                changed[key] = data[key]
        if "labels" in data:
            bookmark.labels = list(dict.fromkeys(data["labels"]))
        bookmark.labels += [x for x in data.get("add_labels") or [] if x not in bookmark.labels]
        drop = set(data.get("remove_labels") or [])
        bookmark.labels = [x for x in bookmark.labels if x not in drop]
        bookmark.updated = time.time()
        return web.json_response(
            {
                "href": f"{self.url}/api/bookmarks/{bookmark.id}",
                "id": bookmark.id,
                "updated": _iso(bookmark.updated),
                **{k: str(v) for k, v in changed.items()},
            }
        )

    def _label(self, name: str, method: str, data: dict[str, Any]) -> web.Response:
        carrying = [b for b in self.bookmarks.values() if name in b.labels]
        if not carrying:
            return web.json_response({"status": 404, "message": "Not Found"}, status=404)
        for bookmark in carrying:
            bookmark.labels = [
                str(data["name"]) if (x == name and method == "PATCH") else x
                for x in bookmark.labels
                if x != name or method == "PATCH"
            ]
            bookmark.updated = time.time()
        return web.Response(status=200 if method == "PATCH" else 204)

    def _sync(self, since: str | None) -> web.Response:
        start = datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp() if since else 0
        rows = [
            {"id": b.id, "time": _iso(b.updated), "type": "update"}
            for b in self.bookmarks.values()
            if b.updated >= start
        ]
        if since:  # without since, only updated bookmarks (routes-sync.yaml)
            rows += [
                {"id": i, "time": _iso(t), "type": "delete"} for i, t in self.deleted if t >= start
            ]
        return web.json_response(rows)

    def _authorize(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        if q.get("redirect_uri") not in self._clients.get(q.get("client_id", ""), []):
            return web.Response(status=400, text="unknown client or redirect_uri")
        code = secrets.token_hex(8)
        self._grants[code] = (q["client_id"], q.get("code_challenge", ""))
        query = urlencode({"code": code, "state": q.get("state", "")})
        raise web.HTTPFound(f"{q['redirect_uri']}?{query}")

    def _token(self, form: dict[str, Any]) -> web.Response:
        grant = self._grants.pop(str(form.get("code")), None)
        verifier = str(form.get("code_verifier") or "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if grant is None or grant != (form.get("client_id"), challenge.decode()):
            return web.json_response({"error": "invalid_grant"}, status=400)
        token = "rd-oauth-" + secrets.token_hex(8)
        self.tokens.add(token)
        return web.json_response(
            {"access_token": token, "token_type": "Bearer", "scope": "bookmarks:read"}
        )
