"""Signing in and out: Pocket's three-step OAuth and Mastodon's code flow with PKCE.

Both flows send the user's browser to the service and take the answer on a
one-shot loopback listener (:mod:`tuckaway.accounts.oauth`). ``login`` over native
messaging hands the URL to ``on_authorize`` (the extension opens it in a tab);
``tuckaway login`` prints it and opens the browser. Tokens go straight to the
keyring (:mod:`tuckaway.accounts.credentials`) and are never logged, printed or sent to
the extension.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import aiohttp

from tuckaway.accounts.credentials import (
    SERVICES,
    KeyringUnavailable,
    MastodonApp,
    MastodonCredentials,
    PocketCredentials,
    keyring_backend,
    stored_consumer_key,
)
from tuckaway.accounts.oauth import LoopbackRedirect, Page, new_state, pkce_challenge, pkce_verifier
from tuckaway.accounts.selfhosted import check_one_list
from tuckaway.errors import AuthFailed, ConfigError, InvalidRequest, TuckawayError, Unavailable
from tuckaway.logs import register_secret
from tuckaway.settings import check_service_url

if TYPE_CHECKING:
    from tuckaway.context import Context

log = logging.getLogger(__name__)

OnAuthorize = Callable[[str], Awaitable[None]]

#: How long a sign-in waits for the user (seconds); TUCKAWAY_LOGIN_TIMEOUT_S overrides.
LOGIN_TIMEOUT_S = 300.0
#: ``read:statuses`` for ``GET /api/v1/statuses/:id`` (bookmark_state). Sign-ins from
#: before it was asked keep working: their status reads go through the search.
MASTODON_SCOPES = "read:bookmarks write:bookmarks read:search read:accounts read:statuses"
MASTODON_APP_NAME = "Tuckaway"
MASTODON_WEBSITE = "https://github.com/tuckaway/tuckaway"
#: Registered without a port: servers match loopback redirects on any port (RFC 8252, 7.3).
MASTODON_REDIRECT = "http://127.0.0.1/callback"
_REVOKE_TIMEOUT_S = 10.0


class SignInDenied(AuthFailed):
    """The user said no at the service (or the service refused the sign-in)."""


def login_timeout() -> float:
    raw = os.environ.get("TUCKAWAY_LOGIN_TIMEOUT_S", "")
    try:
        value = float(raw) if raw else LOGIN_TIMEOUT_S
    except ValueError:
        return LOGIN_TIMEOUT_S
    return value if value > 0 else LOGIN_TIMEOUT_S


# -- entry points ------------------------------------------------------------------


async def login(
    ctx: Context,
    service: str,
    instance: str | None,
    on_authorize: OnAuthorize,
    *,
    consumer_key: str | None = None,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """Run the sign-in of ``service``; ``on_authorize(url)`` is called once with the
    address the user must open. Returns ``{"linked": True, "username": ...}``."""
    timeout = timeout_s if timeout_s is not None else login_timeout()
    if service == "pocket":
        check_one_list(ctx, "pocket")
        return await _login_pocket(ctx, on_authorize, consumer_key, timeout)
    if service == "mastodon":
        if not instance:
            raise InvalidRequest(
                "mastodon sign-in needs instance (your server's https URL)",
                [{"loc": "instance", "msg": "required for mastodon"}],
            )
        return await _login_mastodon(ctx, normalize_instance(instance), on_authorize, timeout)
    raise InvalidRequest(f"unknown service {service!r}", [{"loc": "service", "msg": "unknown"}])


async def logout(ctx: Context, service: str) -> dict[str, Any]:
    """Forget ``service``'s token (revoking it first where the service offers that)."""
    if service not in SERVICES:
        raise InvalidRequest(f"unknown service {service!r}", [{"loc": "service", "msg": "unknown"}])
    if service == "mastodon" and ctx.is_linked("mastodon"):
        try:
            creds = ctx.credentials.mastodon()
        except KeyringUnavailable:
            creds = None
        if creds is not None:
            await _mastodon_revoke(
                ctx, creds.instance, creds.access_token, creds.client_id, creds.client_secret
            )
    try:
        ctx.credentials.forget(service)
    except KeyringUnavailable as exc:
        raise KeyringUnavailable(
            f"{service} is unlinked, but its token could not be removed from the keyring: "
            f"{exc.message}"
        ) from exc
    log.info("%s account unlinked", service)
    return {"linked": False}


async def link_token(
    ctx: Context,
    service: str,
    token: str,
    *,
    instance: str | None = None,
    consumer_key: str | None = None,
    username: str = "",
) -> dict[str, Any]:
    """Link an account from a token the user already holds (``--access-token-stdin``).

    Pocket asks the service nothing (works offline; ``username`` may be empty);
    Mastodon asks ``verify_credentials`` who the token belongs to.
    """
    token = token.strip()
    if not token:
        raise ConfigError("no access token on stdin")
    register_secret(token)
    keyring_backend()
    if service == "pocket":
        check_one_list(ctx, "pocket")
        base = check_service_url(ctx.settings.pocket_url, "pocket_url")
        key = _consumer_key(ctx, consumer_key)
        ctx.credentials.save_pocket(PocketCredentials(base, key, token, username))
        log.info("pocket account linked from a given token")
        return {"linked": True, "username": username or None}
    if service == "mastodon":
        if not instance:
            raise ConfigError("--instance is required for mastodon")
        base = normalize_instance(instance)
        acct = await _mastodon_acct(ctx, base, token)
        ctx.credentials.save_mastodon(MastodonCredentials(base, token, acct))
        log.info("mastodon account linked from a given token")
        return {"linked": True, "username": acct}
    raise ConfigError(f"unknown service {service!r}")


def normalize_instance(instance: str) -> str:
    """``mastodon.social`` -> ``https://mastodon.social``; https required except loopback.

    A handle typed as the server (``bob@mastodon.social``, ``@bob@mastodon.social``)
    gives its host part: the user name before the last ``@`` is dropped.
    """
    value = instance.strip()
    if "://" not in value:
        value = "https://" + value.lstrip("@")
    parts = urlsplit(value)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # not a number, or out of range
        port_ok = False
    if not parts.hostname or not port_ok:
        raise ConfigError(f"{instance!r} names no Mastodon server (try mastodon.social)")
    base = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"  # without any "user@"
    return check_service_url(base, "the Mastodon instance")


# -- Pocket ------------------------------------------------------------------------


def _consumer_key(ctx: Context, given: str | None) -> str:
    key = given or ctx.settings.pocket_consumer_key or stored_consumer_key()
    if not key:
        raise ConfigError(
            "a Pocket consumer key is needed: set it on the options page (it is kept in "
            "the system keyring) or in TUCKAWAY_POCKET_CONSUMER_KEY, or pass --consumer-key"
        )
    register_secret(key)
    return key


async def _login_pocket(
    ctx: Context, on_authorize: OnAuthorize, consumer_key: str | None, wait_s: float
) -> dict[str, Any]:
    base = check_service_url(ctx.settings.pocket_url, "pocket_url")
    key = _consumer_key(ctx, consumer_key)
    keyring_backend()  # before the user approves anything: is there somewhere to put the token?
    http = await ctx.http()
    state = new_state()
    async with LoopbackRedirect(state, "/pocket", state_in_uri=True) as listener:
        redirect_uri = listener.redirect_uri
        status, answer = await _post(
            http,
            f"{base}/v3/oauth/request",
            {"consumer_key": key, "redirect_uri": redirect_uri, "state": state},
            "Pocket",
        )
        if status != 200 or not isinstance(answer.get("code"), str):
            raise _pocket_error(status, answer, "start the sign-in")
        code: str = answer["code"]
        register_secret(code)
        url = f"{base}/auth/authorize?" + urlencode(
            {"request_token": code, "redirect_uri": redirect_uri}
        )
        await on_authorize(url)
        await listener.wait(wait_s)
        # From here on the tab waits for its page: the linked page only once the
        # token is stored, a page saying what went wrong for a known error, and
        # (on anything else, a cancellation too) the listener's unconfirmed page.
        try:
            status, answer = await _post(
                http, f"{base}/v3/oauth/authorize", {"consumer_key": key, "code": code}, "Pocket"
            )
            if status == 403:
                raise SignInDenied(
                    f"the sign-in was not approved at {base} "
                    f"({answer.get('_error') or 'access denied'}); nothing was linked"
                )
            token = answer.get("access_token")
            if status != 200 or not isinstance(token, str) or not token:
                raise _pocket_error(status, answer, "finish the sign-in")
            register_secret(token)
            username = answer.get("username")
            username = username if isinstance(username, str) else ""
            ctx.credentials.save_pocket(PocketCredentials(base, key, token, username))
        except TuckawayError as exc:
            listener.finish(_error_page("Pocket", exc))
            raise
        listener.finish(_linked_page("Pocket", username))
    log.info("pocket account linked")
    return {"linked": True, "username": username or None}


def _pocket_error(status: int, answer: Mapping[str, Any], doing: str) -> TuckawayError:
    detail = answer.get("_error") or f"HTTP {status}"
    if status >= 500 or status == 0:
        return Unavailable(f"Pocket could not {doing} ({detail}); try again later")
    if status in (401, 403):
        return AuthFailed(f"Pocket refused to {doing} ({detail}); check the consumer key")
    return ConfigError(f"Pocket could not {doing} ({detail})")


# -- Mastodon ----------------------------------------------------------------------


async def _login_mastodon(
    ctx: Context, instance: str, on_authorize: OnAuthorize, wait_s: float
) -> dict[str, Any]:
    keyring_backend()
    http = await ctx.http()
    app = await _mastodon_app(ctx, http, instance)
    state = new_state()
    verifier = pkce_verifier()
    register_secret(verifier)
    async with LoopbackRedirect(state, "/callback") as listener:
        redirect_uri = listener.redirect_uri
        url = f"{instance}/oauth/authorize?" + urlencode(
            {
                "response_type": "code",
                "client_id": app.client_id,
                "redirect_uri": redirect_uri,
                "scope": MASTODON_SCOPES,
                "state": state,
                "code_challenge": pkce_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        await on_authorize(url)
        query = await listener.wait(wait_s)
        # As for Pocket: the linked page only once the token is stored.
        try:
            if "error" in query or not query.get("code"):
                reason = query.get("error_description") or query.get("error") or "no code returned"
                if query.get("error") in ("server_error", "temporarily_unavailable"):
                    raise Unavailable(
                        f"{instance} could not start the sign-in ({reason}); try again later"
                    )
                raise SignInDenied(
                    f"the sign-in was not approved at {instance} ({reason}); nothing was linked"
                )
            code = query["code"]
            register_secret(code)
            status, answer = await _post(
                http,
                f"{instance}/oauth/token",
                {
                    "grant_type": "authorization_code",
                    "code": code,
                    "client_id": app.client_id,
                    "client_secret": app.client_secret,
                    "redirect_uri": redirect_uri,
                    "code_verifier": verifier,
                    "scope": MASTODON_SCOPES,
                },
                "Mastodon",
                form=True,
            )
            token = answer.get("access_token")
            if status != 200 or not isinstance(token, str) or not token:
                if answer.get("error") == "invalid_client":
                    ctx.credentials.forget_mastodon_app(instance)
                raise _mastodon_error(status, answer, instance, "finish the sign-in")
            register_secret(token)
            acct = await _mastodon_acct(ctx, instance, token)
            ctx.credentials.save_mastodon(
                MastodonCredentials(instance, token, acct, app.client_id, app.client_secret)
            )
        except TuckawayError as exc:
            listener.finish(_error_page("Mastodon", exc))
            raise
        listener.finish(_linked_page("Mastodon", acct))
    log.info("mastodon account linked on %s", instance)
    return {"linked": True, "username": acct}


async def _mastodon_app(ctx: Context, http: aiohttp.ClientSession, instance: str) -> MastodonApp:
    app = ctx.credentials.mastodon_app(instance)
    if app is not None and set(app.scopes.split()) == set(MASTODON_SCOPES.split()):
        return app
    if app is not None:
        # registered for other scopes (an older Tuckaway): the server would refuse to
        # authorize the new ones for it (invalid_scope), so register again
        log.info("the Tuckaway app on %s has other scopes; registering it again", instance)
    status, answer = await _post(
        http,
        f"{instance}/api/v1/apps",
        {
            "client_name": MASTODON_APP_NAME,
            "redirect_uris": MASTODON_REDIRECT,
            "scopes": MASTODON_SCOPES,
            "website": MASTODON_WEBSITE,
        },
        "Mastodon",
    )
    client_id, client_secret = answer.get("client_id"), answer.get("client_secret")
    if status != 200 or not isinstance(client_id, str) or not isinstance(client_secret, str):
        raise _mastodon_error(status, answer, instance, "register Tuckaway")
    register_secret(client_secret)
    app = MastodonApp(instance, client_id, client_secret, MASTODON_SCOPES)
    ctx.credentials.save_mastodon_app(app)
    log.info("registered the Tuckaway app on %s", instance)
    return app


async def _mastodon_acct(ctx: Context, instance: str, token: str) -> str:
    """Who ``token`` belongs to, as ``user@host``."""
    http = await ctx.http()
    try:
        async with http.get(
            f"{instance}/api/v1/accounts/verify_credentials",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        ) as resp:
            status = resp.status
            answer = await _json_or_error(resp)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Unavailable(f"cannot reach {instance}: {type(exc).__name__}") from None
    if status != 200:
        raise _mastodon_error(status, answer, instance, "tell who the token belongs to")
    acct = answer.get("acct")
    if not isinstance(acct, str) or not acct:
        raise ConfigError(f"{instance} answered verify_credentials without an acct")
    if "@" not in acct:
        acct = f"{acct}@{urlsplit(instance).hostname}"
    return acct


async def _mastodon_revoke(
    ctx: Context,
    instance: str,
    token: str,
    client_id: str | None,
    client_secret: str | None,
) -> None:
    """Best effort: a logout goes on even if the instance cannot be told."""
    if not client_id or not client_secret:
        log.info("no client credentials to revoke the mastodon token with; forgetting it only")
        return
    http = await ctx.http()
    try:
        async with asyncio.timeout(_REVOKE_TIMEOUT_S):
            status, _ = await _post(
                http,
                f"{instance}/oauth/revoke",
                {"client_id": client_id, "client_secret": client_secret, "token": token},
                "Mastodon",
                form=True,
            )
    except (TuckawayError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("could not revoke the mastodon token: %s", exc)
        return
    if status == 200:
        log.info("mastodon token revoked")
    else:
        log.warning("mastodon token revocation answered HTTP %d", status)


def _mastodon_error(
    status: int, answer: Mapping[str, Any], instance: str, doing: str
) -> TuckawayError:
    detail = answer.get("error_description") or answer.get("error") or answer.get("_error")
    detail = detail or f"HTTP {status}"
    if status >= 500 or status in (0, 429):
        return Unavailable(f"{instance} could not {doing} ({detail}); try again later")
    if status in (400, 401, 403):
        return AuthFailed(f"{instance} refused to {doing} ({detail}); sign in again")
    return ConfigError(f"{instance} could not {doing} ({detail})")


# -- HTTP --------------------------------------------------------------------------


async def _post(
    http: aiohttp.ClientSession,
    url: str,
    body: Mapping[str, Any],
    what: str,
    *,
    form: bool = False,
) -> tuple[int, dict[str, Any]]:
    """POST JSON (or a form, as OAuth token endpoints take); returns (status, JSON object
    or {"_error": text}). Never logs the body."""
    payload: dict[str, Any] = {"data": dict(body)} if form else {"json": dict(body)}
    try:
        async with http.post(
            url,
            **payload,
            headers={"X-Accept": "application/json", "Accept": "application/json"},
            allow_redirects=False,
        ) as resp:
            return resp.status, await _json_or_error(resp)
    except (aiohttp.ClientError, TimeoutError) as exc:
        host = urlsplit(url).netloc
        raise Unavailable(f"cannot reach {what} at {host}: {type(exc).__name__}") from None


async def _json_or_error(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    text = await resp.text(errors="replace")
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, dict):
        if resp.status >= 400 and "X-Error" in resp.headers:
            value.setdefault("_error", resp.headers["X-Error"])
        return value
    message = resp.headers.get("X-Error") or text.strip()[:200]
    return {"_error": message}


# -- the tab's last page -----------------------------------------------------------


def _linked_page(service: str, who: str) -> Page:
    suffix = f" as {who}" if who else ""
    return Page(
        True, "Signed in", f"Tuckaway is linked to {service}{suffix}. You can close this tab."
    )


def _denied_page(service: str) -> Page:
    return Page(
        False,
        "Not signed in",
        f"{service} did not grant access, so nothing was linked. You can close this tab.",
    )


def _unavailable_page(service: str) -> Page:
    return Page(
        False,
        "Sign-in failed",
        f"{service} could not be reached or had a problem while finishing the sign-in, so "
        "nothing was linked. Try again later from Tuckaway's options page. "
        "You can close this tab.",
    )


def _failed_page(service: str) -> Page:
    return Page(
        False,
        "Sign-in failed",
        f"Signing in to {service} did not complete, so nothing was linked. Tuckaway's "
        "options page (or the terminal you signed in from) says why. You can close this tab.",
    )


def _error_page(service: str, exc: TuckawayError) -> Page:
    if isinstance(exc, SignInDenied):
        return _denied_page(service)
    if isinstance(exc, Unavailable):
        return _unavailable_page(service)
    return _failed_page(service)


__all__ = ["SignInDenied", "link_token", "login", "logout", "normalize_instance"]
