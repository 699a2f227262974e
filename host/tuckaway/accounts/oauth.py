"""The one-shot loopback redirect of a native app's sign-in (RFC 8252, section 7.3).

A tiny aiohttp server on ``127.0.0.1`` and a port the OS picks receives the
browser's redirect once the user has approved. It checks ``state`` (an answer
for another sign-in is refused with an error page and waiting goes on), hands
the query to the sign-in flow, and answers the browser with the page the flow
asks for ("You can close this tab", or what went wrong). A flow that ends
without choosing a page (an unexpected error, a cancellation, a verdict slower
than :data:`PAGE_WAIT_S`) gets :data:`UNCONFIRMED_PAGE`, which claims neither
success nor failure: the tab must never say "linked" before the token is
stored. It stops after the first answer with the right ``state``, or at the
timeout (:class:`AuthTimeout`).

Also the PKCE helpers (RFC 7636, ``S256``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import secrets
from dataclasses import dataclass

from aiohttp import web

from tuckaway import pages
from tuckaway.errors import AuthTimeout

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
#: How long the browser's request waits for the flow's verdict before :data:`UNCONFIRMED_PAGE`.
PAGE_WAIT_S = 60.0


def new_state() -> str:
    """An unguessable ``state`` value."""
    return secrets.token_urlsafe(24)


def pkce_verifier() -> str:
    """A ``code_verifier``: 64 characters from the unreserved set (43-128 allowed)."""
    return secrets.token_urlsafe(48)


def pkce_challenge(verifier: str) -> str:
    """The ``S256`` ``code_challenge`` of ``verifier``: BASE64URL(SHA256(ascii)), no padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Page:
    """What the browser tab shows at the end."""

    ok: bool
    title: str
    message: str


#: The page when the flow chose none: it cannot tell whether the account is linked.
UNCONFIRMED_PAGE = Page(
    False,
    "Sign-in not confirmed",
    "Tuckaway did not confirm this sign-in here. Go back to Tuckaway's options page "
    "(or the terminal you signed in from): it shows whether the account is linked, "
    "and if not, why. You can close this tab.",
)


class LoopbackRedirect:
    """One sign-in's redirect listener.

    Use as ``async with LoopbackRedirect(state) as listener``: ``listener.redirect_uri``
    is the address to give the service, ``await listener.wait(timeout_s)`` returns
    the query of the redirect, and ``listener.finish(page)`` decides what the tab
    shows (the browser's request is held until then, up to :data:`PAGE_WAIT_S`).
    """

    def __init__(self, state: str, path: str = "/callback", *, state_in_uri: bool = False) -> None:
        self.state = state
        self.path = path
        #: Pocket returns no state of its own: the state rides in the redirect URI.
        self.state_in_uri = state_in_uri
        self.port = 0
        self.refused = 0
        self._runner: web.AppRunner | None = None
        self._arrived: asyncio.Future[dict[str, str]] | None = None
        self._page: asyncio.Future[Page] | None = None

    @property
    def redirect_uri(self) -> str:
        if not self.port:
            raise RuntimeError("the listener is not started")
        uri = f"http://{LOOPBACK}:{self.port}{self.path}"
        if self.state_in_uri:
            uri += f"?state={self.state}"
        return uri

    async def start(self) -> str:
        loop = asyncio.get_running_loop()
        self._arrived = loop.create_future()
        self._page = loop.create_future()
        app = web.Application()
        app.router.add_get(self.path, self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, LOOPBACK, 0)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("waiting for the sign-in redirect on %s:%d", LOOPBACK, self.port)
        return self.redirect_uri

    async def wait(self, timeout_s: float) -> dict[str, str]:
        """The redirect's query parameters, or :class:`AuthTimeout`."""
        assert self._arrived is not None, "start() first"
        try:
            return await asyncio.wait_for(asyncio.shield(self._arrived), timeout_s)
        except TimeoutError:
            extra = (
                f" ({self.refused} answer(s) for another sign-in were refused)"
                if self.refused
                else ""
            )
            raise AuthTimeout(
                f"sign-in was not completed within {round(timeout_s)} seconds{extra}; "
                "start it again"
            ) from None

    def finish(self, page: Page) -> None:
        """Show ``page`` in the browser tab that brought the redirect."""
        if self._page is not None and not self._page.done():
            self._page.set_result(page)

    async def close(self) -> None:
        self.finish(UNCONFIRMED_PAGE)
        if self._arrived is not None and not self._arrived.done():
            self._arrived.cancel()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            with contextlib.suppress(Exception):
                await runner.cleanup()

    async def __aenter__(self) -> LoopbackRedirect:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        assert self._arrived is not None and self._page is not None
        query = {k: v for k, v in request.query.items()}
        given = query.get("state", "")
        if self._arrived.done():
            return _respond(
                Page(
                    False,
                    "Already used",
                    "This sign-in link was already used. "
                    "Start the sign-in again from Tuckaway if you need to.",
                ),
                status=400,
            )
        if not secrets.compare_digest(given.encode(), self.state.encode()):
            self.refused += 1
            log.warning("refused a sign-in redirect whose state does not match")
            return _respond(
                Page(
                    False,
                    "Sign-in not recognised",
                    "This answer belongs to another or an "
                    "expired sign-in, so Tuckaway ignored it. Start the sign-in again.",
                ),
                status=400,
            )
        self._arrived.set_result(query)
        try:
            page = await asyncio.wait_for(asyncio.shield(self._page), PAGE_WAIT_S)
        except TimeoutError:
            page = UNCONFIRMED_PAGE
        return _respond(page, status=200 if page.ok else 400)


def _respond(page: Page, status: int) -> web.StreamResponse:
    return web.Response(
        status=status,
        text=pages.message(page.title, page.message),
        content_type="text/html",
        headers=pages.PAGE_HEADERS,
    )


__all__ = [
    "UNCONFIRMED_PAGE",
    "LoopbackRedirect",
    "Page",
    "new_state",
    "pkce_challenge",
    "pkce_verifier",
]
