"""Faults between the host and the service: nothing is lost, every write arrives.

The real host process (``python -m tuckaway.host``) talks to a real
``tuckaway serve`` through a fault-injecting proxy (tests/support/faultproxy.py)
on 127.0.0.1. The first tests check the proxy itself.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.faultproxy import Fault, PocketService


def post(url: str, body: dict[str, Any], timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[PocketService]:
    with PocketService(tmp_path) as svc:
        yield svc


def add(svc: PocketService, url: str) -> tuple[int, dict[str, str], bytes]:
    return post(svc.url + "/v3/add", {"consumer_key": "k", "access_token": svc.token, "url": url})


# -- the proxy itself -------------------------------------------------------------------


def test_proxy_forwards_and_records_actions_without_credentials(service: PocketService) -> None:
    status, _, body = add(service, "https://a.example/1")
    assert status == 200 and json.loads(body)["item"]["given_url"] == "https://a.example/1"
    sent = post(service.url + "/v3/send", {
        "consumer_key": "k", "access_token": service.token,
        "actions": [{"action": "archive", "url": "https://a.example/1"}]})
    assert sent[0] == 200
    records = service.records()
    assert [r.path for r in records] == ["/v3/add", "/v3/send"]
    assert records[0].actions == [{"action": "add", "url": "https://a.example/1"}]
    assert records[1].actions == [{"action": "archive", "url": "https://a.example/1"}]
    assert "https://a.example/1" in service.items()
    assert service.adds_per_url() == {"https://a.example/1": 1}


def test_proxy_answers_scripted_faults_in_order_then_forwards(service: PocketService) -> None:
    service.script(Fault.error(503), Fault.limit_403(7), Fault.limit_429(3))
    s1, _, _ = add(service, "https://b.example/")
    s2, h2, _ = add(service, "https://b.example/")
    s3, h3, _ = add(service, "https://b.example/")
    s4, _, _ = add(service, "https://b.example/")
    assert (s1, s2, s3, s4) == (503, 403, 429, 200)
    assert h2["X-Limit-User-Remaining"] == "0" and h2["X-Limit-User-Reset"] == "7"
    assert h3["Retry-After"] == "3"
    assert service.adds_per_url() == {"https://b.example/": 1}
    assert [r.fault for r in service.records()] == ["status:503", "limit_403", "limit_429", None]


def test_proxy_refuses_connections_then_listens_again_on_the_same_port(
    service: PocketService,
) -> None:
    port = service.proxy.port
    service.refuse()
    with pytest.raises(urllib.error.URLError) as info:
        add(service, "https://c.example/")
    assert isinstance(info.value.reason, ConnectionRefusedError)
    service.accept()
    assert service.proxy.port == port
    assert add(service, "https://c.example/")[0] == 200


def test_a_lost_reply_reaches_the_service_but_not_the_client(service: PocketService) -> None:
    service.script(Fault.lost_reply(), Fault.drop())
    assert add(service, "https://d.example/")[0] == 502
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        add(service, "https://e.example/")
    assert service.adds_per_url() == {"https://d.example/": 1}
    assert "https://e.example/" not in service.items()


def test_a_held_request_waits_for_release(service: PocketService) -> None:
    service.script(Fault.hold())
    answers: list[int] = []
    worker = threading.Thread(target=lambda: answers.append(add(service, "https://f.example/")[0]))
    worker.start()
    held = service.wait_held()
    assert [r.actions[0]["url"] for r in held] == ["https://f.example/"]
    assert answers == [] and "https://f.example/" not in service.items()
    assert service.release() == 1
    worker.join(10)
    assert answers == [200] and "https://f.example/" in service.items()


def test_chaos_with_a_seed_repeats_the_same_faults(tmp_path: Path) -> None:
    runs = []
    for n in range(2):
        with PocketService(tmp_path / str(n)) as svc:
            svc.chaos(0.5, seed=42, faults=[Fault.error(503), Fault.limit_429(1)])
            for i in range(20):
                add(svc, f"https://g.example/{i}")
            runs.append([r.fault for r in svc.records()])
    assert runs[0] == runs[1]
    assert 3 <= sum(1 for f in runs[0] if f) <= 17
