"""Signing in to the self-hosted list services: wallabag and Readeck.

wallabag: the OAuth2 password grant, once (``POST /oauth/v2/token`` with the
API client's id and secret, the user name and the password); the access and
refresh tokens go to the keyring, the password never goes anywhere.
Readeck: an API token the user made in Readeck's settings (checked with one
call before it is kept).

A reading list lives in one place: signing in to one of these while another
list service (Pocket, wallabag, Readeck) is linked is refused with what to do.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from tuckaway.accounts.credentials import (
    LIST_SERVICES,
    ReadeckCredentials,
    WallabagCredentials,
    keyring_backend,
)
from tuckaway.errors import AuthFailed, ConfigError
from tuckaway.logs import register_secret
from tuckaway.services.rest import ServiceAuthFailed, ServiceRefused, call
from tuckaway.settings import check_service_url

if TYPE_CHECKING:
    from tuckaway.accounts.signin import OnAuthorize
    from tuckaway.context import Context
    from tuckaway.wire.protocol import Login

log = logging.getLogger(__name__)


async def login(ctx: Context, request: Login, on_authorize: OnAuthorize) -> dict[str, Any]:
    """The options page's sign-in (op ``login``) to wallabag or Readeck."""
    instance = str(request.instance or "")
    if request.service == "wallabag":
        return await login_wallabag(
            ctx,
            instance,
            request.client_id or "",
            request.client_secret or "",
            request.username or "",
            request.password or "",
        )
    if request.token is not None:
        return await link_readeck(ctx, instance, request.token)
    from tuckaway.accounts.readeck_oauth import login_readeck

    return await login_readeck(ctx, instance, on_authorize)


def service_url(url: str, what: str) -> str:
    """``wallabag.example.org`` -> ``https://wallabag.example.org`` (https, or loopback http)."""
    value = url.strip()
    if "://" not in value:
        value = "https://" + value
    return check_service_url(value.rstrip("/"), what)


def check_one_list(ctx: Context, service: str) -> None:
    """Refuse a second list service: writes must not split between two lists."""
    for other in LIST_SERVICES:
        if other != service and ctx.is_linked(other):
            raise ConfigError(
                f"your list already lives in {other}: sign out of it first "
                f"(`tuckaway logout {other}`, or the options page), then sign in to {service}"
            )


async def login_wallabag(
    ctx: Context,
    url: str,
    client_id: str,
    client_secret: str,
    username: str,
    password: str,
) -> dict[str, Any]:
    """The password grant; keeps the tokens (never the password). ``{"linked", "username"}``."""
    from tuckaway.services.wallabag.client import password_grant

    base = service_url(url, "the wallabag address")
    for secret in (client_secret, password):
        register_secret(secret)
    if not client_id or not client_secret or not username or not password:
        raise ConfigError("wallabag sign-in needs the client id and secret, user name and password")
    check_one_list(ctx, "wallabag")
    keyring_backend()  # before anything is asked: is there somewhere to put the tokens?
    try:
        tokens = await password_grant(
            await ctx.http(), base, client_id, client_secret, username, password
        )
    except (ServiceAuthFailed, ServiceRefused) as exc:
        raise AuthFailed(
            f"wallabag at {base} refused the sign-in ({exc.message}); check the client id and "
            "secret (wallabag: API clients management) and the user name and password"
        ) from None
    access, refresh = str(tokens["access_token"]), str(tokens.get("refresh_token") or "")
    register_secret(access)
    register_secret(refresh)
    creds = WallabagCredentials(base, client_id, client_secret, access, refresh, username)
    ctx.credentials.save_wallabag(creds)
    log.info("wallabag account linked on %s", base)
    return {"linked": True, "username": username}


async def link_readeck(ctx: Context, url: str, token: str) -> dict[str, Any]:
    """Keep a Readeck API token once ``GET /api/profile`` says whose it is."""
    base = service_url(url, "the Readeck address")
    token = token.strip()
    if not token:
        raise ConfigError("no Readeck API token on stdin")
    register_secret(token)
    check_one_list(ctx, "readeck")
    keyring_backend()
    try:
        answer = await call(
            await ctx.http(), "GET", f"{base}/api/profile", token=token, name="Readeck"
        )
    except ServiceAuthFailed:
        raise AuthFailed(
            f"Readeck at {base} refused the token; make a new one in its settings"
        ) from None
    user = (answer.body or {}).get("user") if isinstance(answer.body, dict) else None
    username = str(user.get("username") or "") if isinstance(user, dict) else ""
    ctx.credentials.save_readeck(ReadeckCredentials(base, token, username))
    log.info("readeck account linked on %s", base)
    return {"linked": True, "username": username or None}
