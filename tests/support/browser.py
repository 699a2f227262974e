"""A browser tab, as far as a sign-in needs one: follow redirects, press Approve or Deny."""

from __future__ import annotations

import asyncio
import html.parser
from dataclasses import dataclass
from urllib.parse import urljoin

import aiohttp


class _Forms(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")


@dataclass
class Page:
    status: int
    url: str
    text: str


async def browse(url: str, decision: str = "approve") -> Page:
    """Open ``url`` like a browser tab: follow redirects; on an approval form, press
    ``decision`` (approve/deny) and follow where that leads."""
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as resp:
            page = Page(resp.status, str(resp.url), await resp.text())
        forms = _Forms()
        forms.feed(page.text)
        if forms.action is None:
            return page
        data = {**forms.fields, "decision": decision}
        async with http.post(urljoin(page.url, forms.action), data=data) as resp:
            return Page(resp.status, str(resp.url), await resp.text())


def browse_in_thread(url: str, decision: str = "approve") -> Page:
    return asyncio.run(browse(url, decision))
