"""Tokens in a real Secret Service (gnome-keyring under dbus), and nowhere else.

These tests run the host and the CLI exactly as a user's desktop does: no
``PYTHON_KEYRING_BACKEND``, so ``keyring`` picks the Secret Service on the
session bus. ``bash .ci/keyring-session.sh`` provides that bus with an
unlocked throwaway keyring and sets ``TUCKAWAY_SECRET_SERVICE=1``; without it
the tests skip, unless ``TUCKAWAY_REQUIRE_SECRET_SERVICE=1`` (CI) makes that a
failure.

After signing in to Pocket (through ``tuckaway serve``'s approval page) and to
Mastodon (a 4.x stand-in, PKCE), saving and bookmarking, every file under the
test's config, data and state directories (the log among them), and
everything the host wrote to stdout and stderr, is searched for the secrets:
the access tokens, the Mastodon client secret, the authorization code, the
PKCE verifier and Pocket's request token (allowed only in the authorize URL
the host hands the extension). None may appear.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from support.browser import browse_in_thread
from support.hostproc import HostProcess, host_env, run_cli, serve_process
from support.mastodon_standin import MastodonStandIn

pytestmark = pytest.mark.keyring

CONSUMER_KEY = "4242-secret-service-consumer-key"


def _secret_service_or_skip() -> None:
    if os.environ.get("TUCKAWAY_SECRET_SERVICE") == "1":
        return
    why = "no Secret Service session: run under `bash .ci/keyring-session.sh`"
    if os.environ.get("TUCKAWAY_REQUIRE_SECRET_SERVICE") == "1":
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture
def ss_env(home: Path) -> dict[str, str]:
    """A host environment whose keyring is whatever ``keyring`` finds: the Secret Service."""
    _secret_service_or_skip()
    env = host_env(home)
    del env["PYTHON_KEYRING_BACKEND"]
    del env["TUCKAWAY_TEST_KEYRING_FILE"]
    return env


def _secret(entry: str) -> str | None:
    """Read a tuckaway entry straight from the Secret Service (not through tuckaway)."""
    from keyring.backends import SecretService

    value: str | None = SecretService.Keyring().get_password("tuckaway", entry)
    return value


@pytest.fixture
def serve_url(tmp_path: Path) -> Iterator[str]:
    with serve_process(tmp_path / "serve-home", CONSUMER_KEY) as url:
        yield url


def test_the_default_keyring_in_the_session_is_the_secret_service(ss_env: dict[str, str]) -> None:
    probe = (
        "import keyring; k = keyring.get_keyring(); "
        "print(type(k).__module__ + '.' + type(k).__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=ss_env, capture_output=True, text=True, check=True
    )
    assert "SecretService" in out.stdout, out.stdout


def test_token_from_stdin_lands_in_the_secret_service_and_logout_removes_it(
    ss_env: dict[str, str], serve_url: str
) -> None:
    env = {**ss_env, "TUCKAWAY_POCKET_URL": serve_url, "TUCKAWAY_POCKET_CONSUMER_KEY": CONSUMER_KEY}
    linked = run_cli(env, "login", "pocket", "--access-token-stdin", input="tok-from-stdin-0001\n")
    assert linked.returncode == 0, linked.stderr
    stored = _secret("pocket")
    assert stored is not None and "tok-from-stdin-0001" in stored
    status = run_cli(env, "status", "--json")
    assert json.loads(status.stdout)["accounts"]["pocket"]["linked"] is True
    assert "tok-from-stdin-0001" not in status.stdout + status.stderr

    out = run_cli(env, "logout", "pocket")
    assert out.returncode == 0, out.stderr
    assert _secret("pocket") is None


def test_signed_in_to_both_services_no_secret_is_found_outside_the_keyring(
    ss_env: dict[str, str], serve_url: str, home: Path
) -> None:
    mastodon = MastodonStandIn()
    status = mastodon.add_status("worth keeping")
    with mastodon.running() as instance:
        env = {
            **ss_env,
            "TUCKAWAY_POCKET_URL": serve_url,
            "TUCKAWAY_POCKET_CONSUMER_KEY": CONSUMER_KEY,
            "TUCKAWAY_LOG_LEVEL": "DEBUG",  # the chattiest logs must still hold no secret
            "TUCKAWAY_BATCH_QUIET_MS": "50",
        }
        with HostProcess(env) as host:
            host.send({"id": "p", "op": "login", "service": "pocket"})
            pocket_authorize = host.recv_for("p", final=False)["url"]
            pocket_tab = browse_in_thread(pocket_authorize)
            assert host.recv_for("p", timeout=30)["ok"] is True

            host.send({"id": "m", "op": "login", "service": "mastodon", "instance": instance})
            mastodon_tab = browse_in_thread(host.recv_for("m", final=False)["url"])
            assert host.recv_for("m", timeout=30)["ok"] is True

            saved = host.request(
                {"id": "s", "op": "save", "url": "https://example.org/kept", "tags": ["x"]},
                timeout=30,
            )
            assert saved["ok"] is True, saved
            marked = host.request({"id": "b", "op": "bookmark", "status_id": status.id}, timeout=30)
            assert marked["ok"] is True, marked
            hello = host.request({"id": "h", "op": "hello"})["result"]
            assert hello["backend"] == "pocket"
            assert hello["accounts"]["mastodon"]["linked"] is True
            for tab in (pocket_tab, mastodon_tab):  # each one-shot listener is gone
                with pytest.raises(ConnectionRefusedError):
                    socket.create_connection(("127.0.0.1", _port(tab.url)), timeout=5).close()
        stdout, stderr = bytes(host.raw_stdout), bytes(host.stderr)

    pocket_secret = json.loads(_secret("pocket") or "{}")
    mastodon_secret = json.loads(_secret("mastodon") or "{}")
    tokens = [pocket_secret.get("access_token"), mastodon_secret.get("access_token")]
    assert all(tokens), "both tokens are in the Secret Service"
    assert mastodon.bookmarked_ids() == [status.id]

    # What else is secret on the way: the Mastodon app's client secret, the
    # authorization code, the PKCE verifier, and Pocket's request token.
    (app,) = mastodon.apps.values()
    (grant,) = mastodon.grants.values()
    (exchange,) = mastodon.requests_to("/oauth/token", "POST")
    verifier = dict(parse_qsl(exchange.body))["code_verifier"]
    request_token = dict(parse_qsl(urlsplit(pocket_authorize).query))["request_token"]
    assert mastodon_secret.get("client_secret") == app.client_secret
    assert dict(parse_qsl(urlsplit(mastodon_tab.url).query))["code"] == grant.code
    secrets = {
        "the Pocket access token": tokens[0],
        "the Mastodon access token": tokens[1],
        "the Mastodon client secret": app.client_secret,
        "the Mastodon authorization code": grant.code,
        "the PKCE code verifier": verifier,
        "the Pocket request token": request_token,
    }
    assert all(len(v) >= 12 for v in secrets.values()), secrets.keys()

    # Pocket's request token rides in the authorize URL the host hands the extension
    # (the browser must open it): allowed in that event, and nowhere else.
    authorize, other = _split_authorize_events(stdout)
    assert request_token.encode() in authorize  # the search does see what is there
    log = home / "state" / "log" / "tuckaway.log"
    files = [p for p in home.rglob("*") if p.is_file()]
    assert log in files and log.stat().st_size > 0, files
    assert any(p.suffix == ".db" for p in files), files
    for what, value in secrets.items():
        needle = value.encode()
        assert needle not in other, f"{what} leaked to stdout"
        assert needle not in stderr, f"{what} leaked to stderr"
        if what != "the Pocket request token":
            assert needle not in authorize, f"{what} leaked into an authorize event"
        for path in files:
            assert needle not in path.read_bytes(), f"{what} leaked into {path}"


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None and urlsplit(url).hostname == "127.0.0.1", url
    return port


def _split_authorize_events(stdout: bytes) -> tuple[bytes, bytes]:
    """The host's stdout frames: the ``authorize`` events, and everything else."""
    authorize, other = bytearray(), bytearray()
    at = 0
    while at < len(stdout):
        (length,) = struct.unpack("=I", stdout[at : at + 4])
        body = stdout[at + 4 : at + 4 + length]
        at += 4 + length
        is_authorize = json.loads(body).get("event") == "authorize"
        (authorize if is_authorize else other).extend(body)
    return bytes(authorize), bytes(other)
