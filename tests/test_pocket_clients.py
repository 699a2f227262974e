"""Third-party Pocket clients from PyPI, written for the real Pocket, against `tuckaway serve`.

``pocket-api`` (a library) and ``pockyt`` (a command-line client) run
unchanged except for their base URL, which each keeps in a class attribute:
OAuth sign-in (the user's approval answered on serve's page), add, get with
filters, and every ``/v3/send`` action. What passes here passes Pocket, since
serve is as strict as Pocket was (docs/serve.md).
"""

from __future__ import annotations

import re
import time
from argparse import Namespace
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pocket  # pocket-api
import pytest
import requests
from pockyt.api import API as PockytAPI
from pockyt.auth import Authenticator
from pockyt.client import Client as PockytClient

from support.hostproc import serve_process

KEY = "1234-compat-suite"
REDIRECT = "https://client.example/signed-in"


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    with serve_process(tmp_path / "server", KEY) as url:
        yield url


def approve(base_url: str, code: str, redirect_uri: str) -> None:
    """What the person does in the browser: open the approval page, press Approve."""
    page = requests.get(
        f"{base_url}/auth/authorize",
        params={"request_token": code, "redirect_uri": redirect_uri},
        timeout=10,
    )
    assert page.status_code == 200, page.text
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
    answer = requests.post(
        f"{base_url}/auth/authorize",
        data={**fields, "decision": "approve"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302 and answer.headers["Location"] == redirect_uri


# -- pocket-api ------------------------------------------------------------------


@pytest.fixture
def pocket_api(base_url: str, monkeypatch: pytest.MonkeyPatch) -> pocket.Pocket:
    """pocket-api signed in through its own OAuth calls."""
    monkeypatch.setattr(pocket.Pocket, "api_url", f"{base_url}/v3")
    signing_in = pocket.Pocket(KEY)
    code = signing_in.get_request_token(REDIRECT)
    assert code
    approve(base_url, code, REDIRECT)
    token = signing_in.get_access_token(code)
    assert token
    return pocket.Pocket(KEY, token)


def ids_by_url(client: pocket.Pocket, **filters: Any) -> dict[str, str]:
    answer = client.retrieve(detailType="complete", **filters)
    items = answer["list"] or {}
    return {item["given_url"]: item_id for item_id, item in items.items()}


def test_pocket_api_signs_in_adds_and_reads_back(pocket_api: pocket.Pocket) -> None:
    added = pocket_api.add("https://one.example/a", title="First", tags="news,long read")
    assert added["status"] == 1 and added["item"]["given_url"] == "https://one.example/a"
    answer = pocket_api.retrieve(state="all", detailType="complete")
    (item,) = answer["list"].values()
    assert item["resolved_title"] == "First" and set(item["tags"]) == {"news", "long read"}


def test_pocket_api_get_filters(pocket_api: pocket.Pocket) -> None:
    for url in ("https://one.example/a", "https://www.one.example/b", "https://two.example/c"):
        pocket_api.add(url, tags="kept" if "two" in url else None)
    first = ids_by_url(pocket_api, sort="oldest")
    pocket_api.archive(first["https://one.example/a"]).favorite(
        first["https://www.one.example/b"]
    ).commit()

    assert list(ids_by_url(pocket_api, state="unread", sort="oldest")) == [
        "https://www.one.example/b",
        "https://two.example/c",
    ]
    assert list(ids_by_url(pocket_api, state="archive")) == ["https://one.example/a"]
    assert list(ids_by_url(pocket_api, favorite=1)) == ["https://www.one.example/b"]
    assert list(ids_by_url(pocket_api, tag="kept")) == ["https://two.example/c"]
    assert list(ids_by_url(pocket_api, state="all", domain="one.example", sort="oldest")) == [
        "https://one.example/a",
        "https://www.one.example/b",
    ]
    assert list(ids_by_url(pocket_api, state="all", search="two")) == ["https://two.example/c"]
    assert list(ids_by_url(pocket_api, state="all", sort="oldest", count=1, offset=1)) == [
        "https://www.one.example/b"
    ]
    assert ids_by_url(pocket_api, contentType="video") == {}
    later = pocket_api.retrieve(state="all", since=int(time.time()) + 5)
    assert later["list"] == [] and later["status"] == 2


def test_pocket_api_every_send_action(pocket_api: pocket.Pocket) -> None:
    now_ms = int(time.time() * 1000)  # as JS clients send it; serve keeps its own clock
    pocket_api.bulk_add(None, url="https://one.example/a", title="A", tags="x", time=now_ms)
    pocket_api.bulk_add(None, url="https://one.example/b", time=now_ms)
    results = pocket_api.commit()["action_results"]
    a, b = (r["item_id"] for r in results)

    def run(*_: object) -> list[Any]:
        answer = pocket_api.commit()
        assert all(e is None for e in answer["action_errors"]), answer
        return list(answer["action_results"])

    run(pocket_api.archive(a).favorite(b).tags_add(b, "y,z").tags_remove(b, "y"))
    items = pocket_api.retrieve(state="all", detailType="complete")["list"]
    assert items[a]["status"] == "1" and items[b]["favorite"] == "1"
    assert set(items[b]["tags"]) == {"z"}

    run(pocket_api.readd(a).unfavorite(b).tags_replace(a, "w").tag_rename("z", "zz"))
    items = pocket_api.retrieve(state="all", detailType="complete")["list"]
    assert items[a]["status"] == "0" and set(items[a]["tags"]) == {"w"}
    assert items[b]["favorite"] == "0" and set(items[b]["tags"]) == {"zz"}
    assert int(items[a]["time_updated"]) <= time.time()

    # pocket-api has no method for tag_delete: the same commit, one action by hand
    pocket_api._bulk_actions.append({"action": "tag_delete", "tag": "w"})
    run(pocket_api.tags_clear(b).delete(b))
    items = pocket_api.retrieve(state="all", detailType="complete")["list"]
    assert list(items) == [a] and not items[a]["tags"]


def test_pocket_api_sees_pockets_refusal_of_an_empty_title(pocket_api: pocket.Pocket) -> None:
    pocket_api.bulk_add(None, url="https://one.example/a", title="")
    with pytest.raises(pocket.PocketException) as refused:
        pocket_api.commit()
    assert refused.value.http_code == 400 and refused.value.error_code == 130


# -- pockyt --------------------------------------------------------------------------


@pytest.fixture
def pockyt(base_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """pockyt's credentials, from its own sign-in steps (form-encoded answers, no X-Accept)."""
    monkeypatch.setattr(PockytAPI, "POCKET_URL", base_url)
    for name, path in (
        ("API_URL", "/v3"),
        ("REQUEST_TOKEN_URL", "/v3/oauth/request"),
        ("ACCESS_TOKEN_URL", "/v3/oauth/authorize"),
        ("RETRIEVE_URL", "/v3/get"),
        ("MODIFY_URL", "/v3/send"),
    ):
        monkeypatch.setattr(PockytAPI, name, base_url + path)
    auth = Authenticator(Namespace(no_browser=True))
    auth._consumer_key = KEY
    auth._obtain_request_token()
    approve(base_url, auth._request_token, PockytAPI.REDIRECT_URL)
    auth._obtain_access_token()
    assert auth.credentials["username"] == "local"
    return auth.credentials


def pockyt_args(**given: Any) -> Namespace:
    """pockyt's command-line options with its own defaults (`pockyt get` / `mod`)."""
    defaults: dict[str, Any] = dict(
        state="all", sort="newest", content="all", count=-1, query="", tag="-1",
        favorite=-1, domain="", since="", archive=-1, delete=False,
    )  # fmt: skip
    return Namespace(**{**defaults, **given})


def pockyt_get(credentials: dict[str, str], **args: Any) -> dict[str, str]:
    client = PockytClient(credentials, pockyt_args(**args))
    try:
        client._get()
    except SystemExit:  # "No items found !"
        return {}
    return {str(info["link"]): str(info["id"]) for info in client._output}


def pockyt_run(
    credentials: dict[str, str], step: str, inputs: list[dict[str, str]], **args: Any
) -> None:
    client = PockytClient(credentials, pockyt_args(**args))
    client._input = inputs
    getattr(client, step)()
    assert client._response.code == 200


def test_pockyt_puts_gets_with_filters_and_modifies(pockyt: dict[str, str]) -> None:
    urls = ["https://one.example/a", "https://news.one.example/b", "https://two.example/c"]
    pockyt_run(pockyt, "_put", [{"link": url} for url in urls])
    found = pockyt_get(pockyt, sort="oldest")
    assert list(found) == urls

    ids = found
    pockyt_run(pockyt, "_modify", [{"id": ids[urls[0]]}], archive=1)
    pockyt_run(pockyt, "_modify", [{"id": ids[urls[1]]}], favorite=1)
    assert list(pockyt_get(pockyt, state="archive")) == [urls[0]]
    assert list(pockyt_get(pockyt, state="unread", sort="oldest")) == urls[1:]
    assert list(pockyt_get(pockyt, favorite=1)) == [urls[1]]
    assert list(pockyt_get(pockyt, domain="one.example", sort="oldest")) == urls[:2]
    assert list(pockyt_get(pockyt, query="two")) == [urls[2]]
    assert len(pockyt_get(pockyt, count=2)) == 2
    assert pockyt_get(pockyt, content="article") == {}
    # pockyt sends since as a decimal (datetime.timestamp())
    assert set(pockyt_get(pockyt, since=date.today().isoformat())) == set(urls)

    pockyt_run(pockyt, "_modify", [{"id": ids[urls[0]]}], archive=0)
    pockyt_run(pockyt, "_modify", [{"id": ids[urls[1]]}], favorite=0)
    pockyt_run(pockyt, "_modify", [{"id": ids[urls[2]]}], delete=True)
    assert list(pockyt_get(pockyt, state="unread", sort="oldest")) == urls[:2]
    assert pockyt_get(pockyt, favorite=1) == {}
