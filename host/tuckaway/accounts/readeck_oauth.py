"""Readeck's OAuth sign-in: client registration, authorization code with PKCE.

From Readeck's ``docs/api/oauth.md``: register a client (``POST
/api/oauth/client``, RFC 7591) naming the loopback redirect, send the user to
``/authorize`` (scopes ``bookmarks:read bookmarks:write profile:read``, PKCE
S256, a state), take the code on the one-shot loopback listener and trade it
at ``POST /api/oauth/token``. The token goes to the keyring like a pasted one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from tuckaway import __version__
from tuckaway.accounts.oauth import LoopbackRedirect, new_state, pkce_challenge, pkce_verifier
from tuckaway.accounts.selfhosted import check_one_list, link_readeck, service_url
from tuckaway.accounts.signin import SignInDenied, _error_page, _linked_page, login_timeout
from tuckaway.errors import AuthFailed, TuckawayError, Unavailable
from tuckaway.logs import register_secret
from tuckaway.services.rest import ServiceError, ServiceUnavailable, call

if TYPE_CHECKING:
    from tuckaway.accounts.signin import OnAuthorize
    from tuckaway.context import Context

log = logging.getLogger(__name__)

SCOPES = "bookmarks:read bookmarks:write profile:read"
#: RFC 7591 ``software_id``: the same for every install of Tuckaway
SOFTWARE_ID = "6a1f0c1e-8d6b-4c57-9a43-3b2f5e7d9c10"


async def login_readeck(
    ctx: Context, url: str, on_authorize: OnAuthorize, timeout_s: float | None = None
) -> dict[str, Any]:
    base = service_url(url, "the Readeck address")
    check_one_list(ctx, "readeck")
    http = await ctx.http()
    state, verifier = new_state(), pkce_verifier()
    register_secret(verifier)
    async with LoopbackRedirect(state, "/callback") as listener:
        try:
            client = await call(
                http,
                "POST",
                f"{base}/api/oauth/client",
                name="Readeck",
                json_body={
                    "client_name": "Tuckaway",
                    "client_uri": "https://github.com/tuckaway/tuckaway",
                    "redirect_uris": [listener.redirect_uri],
                    "software_id": SOFTWARE_ID,
                    "software_version": __version__,
                },
            )
        except ServiceError as exc:
            raise _why(exc, base, "register Tuckaway") from None
        client_id = str((client.body or {}).get("client_id") or "")
        if not client_id:
            raise AuthFailed(f"Readeck at {base} registered Tuckaway without a client_id")
        query = {
            "client_id": client_id,
            "redirect_uri": listener.redirect_uri,
            "scope": SCOPES,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
            "state": state,
        }
        await on_authorize(f"{base}/authorize?" + urlencode(query))
        answer = await listener.wait(timeout_s or login_timeout())
        try:
            token = await _token(ctx, base, client_id, answer, verifier, listener.redirect_uri)
            result = await link_readeck(ctx, base, token)
        except TuckawayError as exc:
            listener.finish(_error_page("Readeck", exc))
            raise
        listener.finish(_linked_page("Readeck", str(result.get("username") or "")))
    return result


async def _token(
    ctx: Context, base: str, client_id: str, query: dict[str, str], verifier: str, redirect: str
) -> str:
    if "error" in query or not query.get("code"):
        reason = query.get("error_description") or query.get("error") or "no code returned"
        raise SignInDenied(f"the sign-in was not approved at {base} ({reason}); nothing was linked")
    register_secret(query["code"])
    try:
        answer = await call(
            await ctx.http(),
            "POST",
            f"{base}/api/oauth/token",
            name="Readeck",
            form={
                "grant_type": "authorization_code",
                "client_id": client_id,
                "code": query["code"],
                "code_verifier": verifier,
                "redirect_uri": redirect,
            },
        )
    except ServiceError as exc:
        raise _why(exc, base, "finish the sign-in") from None
    token = (answer.body or {}).get("access_token") if isinstance(answer.body, dict) else None
    if not isinstance(token, str) or not token:
        raise AuthFailed(f"Readeck at {base} finished the sign-in without a token")
    register_secret(token)
    return token


def _why(exc: ServiceError, base: str, doing: str) -> TuckawayError:
    if isinstance(exc, ServiceUnavailable) or exc.status == 429:
        return Unavailable(f"Readeck at {base} could not {doing} ({exc.message}); try again later")
    return AuthFailed(f"Readeck at {base} refused to {doing} ({exc.message})")
