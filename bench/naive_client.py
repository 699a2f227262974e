"""The baseline for coalescing: one ``POST /v3/add`` per click, nothing batched, nothing queued."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit


class NaiveClient:
    """What an extension without a host would do: call the service on every click."""

    def __init__(self, base_url: str, consumer_key: str, access_token: str) -> None:
        parts = urlsplit(base_url)
        host = parts.hostname or "127.0.0.1"
        self.conn = http.client.HTTPConnection(host, parts.port, timeout=60)
        self.auth = {"consumer_key": consumer_key, "access_token": access_token}

    def save(self, url: str, title: str = "") -> dict[str, object]:
        body = json.dumps({**self.auth, "url": url, "title": title})
        self.conn.request("POST", "/v3/add", body=body, headers={
            "Content-Type": "application/json; charset=UTF-8", "X-Accept": "application/json"})
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"/v3/add answered {response.status}: {data[:200]!r}")
        reply: dict[str, object] = json.loads(data)
        return reply

    def close(self) -> None:
        self.conn.close()
