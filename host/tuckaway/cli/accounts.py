"""``tuckaway login`` and ``tuckaway logout``: link and unlink accounts.

The flows live in :mod:`tuckaway.accounts.signin`; this module reads the
token from stdin, prints the address to open and what became of the writes
kept while signed out.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import webbrowser
from typing import Any

from tuckaway.accounts.signin import LOGIN_TIMEOUT_S, OnAuthorize, link_token, login, logout
from tuckaway.cli.common import (
    Subparsers,
    UsageError,
    closing,
    non_negative_float,
    open_context,
)
from tuckaway.cli.selfhosted import (
    SELF_HOSTED,
    add_login_arguments,
    link_self_hosted,
    read_login_input,
)
from tuckaway.context import Context
from tuckaway.delivery.batcher import Batcher


def add_commands(sub: Subparsers) -> None:
    p = sub.add_parser(
        "login",
        help="link a Pocket, Mastodon, wallabag or Readeck account",
        description="Link an account. Opens the service's sign-in page in your browser "
        "(the address is printed too) and waits for you to approve; the token goes to the "
        "system keyring. With --access-token-stdin, link a token you already have.",
    )
    p.add_argument("service", choices=("pocket", "mastodon", "wallabag", "readeck"))
    p.add_argument("--instance", metavar="URL", help="your Mastodon server (mastodon only)")
    add_login_arguments(p)
    p.add_argument(
        "--consumer-key",
        metavar="KEY",
        help="Pocket consumer key (default: TUCKAWAY_POCKET_CONSUMER_KEY)",
    )
    p.add_argument(
        "--access-token-stdin",
        action="store_true",
        help="read an access token from stdin instead of signing in in the browser",
    )
    p.add_argument(
        "--username",
        default="",
        help="Pocket user name to show (with --access-token-stdin); your wallabag user name",
    )
    p.add_argument(
        "--no-browser", action="store_true", help="only print the address, do not open it"
    )
    p.add_argument(
        "--timeout",
        type=non_negative_float,
        metavar="SECONDS",
        help=f"how long to wait for your approval (default {round(LOGIN_TIMEOUT_S)})",
    )
    p.set_defaults(func=cmd_login)

    p = sub.add_parser(
        "logout",
        help="unlink an account and forget its token",
        description="Forget the account's token (Mastodon tokens are revoked at the server too).",
    )
    p.add_argument("service", choices=("pocket", "mastodon", "wallabag", "readeck"))
    p.set_defaults(func=cmd_logout)


def cmd_login(args: argparse.Namespace) -> int:
    given: Any
    if args.service in SELF_HOSTED:
        given = read_login_input(args)
        if given is None:
            return 2
        return _said_linked(args, _run_login(args, given))
    if args.service == "mastodon" and not args.instance:
        raise UsageError("login mastodon needs --instance URL")
    if args.service == "pocket" and args.instance:
        raise UsageError("--instance is only for mastodon")
    token = sys.stdin.readline() if args.access_token_stdin else None
    if token is not None and not token.strip():
        raise UsageError("--access-token-stdin found no token on stdin")
    return _said_linked(args, _run_login(args, token))


def _run_login(args: argparse.Namespace, given: Any) -> tuple[dict[str, Any], int, int]:
    return asyncio.run(
        closing(open_context(args), lambda ctx: _login_and_deliver(ctx, args, given))
    )


def _said_linked(args: argparse.Namespace, outcome: tuple[dict[str, Any], int, int]) -> int:
    result, released, waiting = outcome
    who = result.get("username")
    print(f"linked {args.service}" + (f" as {who}" if who else ""))
    if released:
        print(f"sent {released - waiting} of {released} write(s) kept while signed out")
        if waiting:
            print(f"{waiting} still waiting: see `tuckaway queue`")
    return 0


async def _login_and_deliver(
    ctx: Context, args: argparse.Namespace, token: Any
) -> tuple[dict[str, Any], int, int]:
    """Link the account; then deliver the writes that were held for want of it.

    Returns the result, how many held writes were released, and how many of
    them are still waiting when the bounded delivery ends.
    """
    result = await _link(ctx, args, token)
    batcher = Batcher(ctx)
    released = batcher.release_held(args.service)
    waiting = 0
    if released:
        await batcher.finish(ctx.settings.request_timeout_s)
        waiting = sum(1 for e in ctx.outbox.entries() if e.service == args.service)
    return result, released, waiting


async def _link(ctx: Context, args: argparse.Namespace, token: Any) -> dict[str, Any]:
    if args.service in SELF_HOSTED:
        return await link_self_hosted(ctx, args, token, _opener(args))
    if token is not None:
        return await link_token(
            ctx,
            args.service,
            token,
            instance=args.instance,
            consumer_key=args.consumer_key,
            username=args.username,
        )

    return await login(
        ctx,
        args.service,
        args.instance,
        _opener(args),
        consumer_key=args.consumer_key,
        timeout_s=args.timeout,
    )


def _opener(args: argparse.Namespace) -> OnAuthorize:
    async def on_authorize(url: str) -> None:
        print(
            f"Open this address to sign in (waiting for you):\n  {url}",
            file=sys.stderr,
            flush=True,
        )
        if not args.no_browser:
            await asyncio.to_thread(webbrowser.open, url)

    return on_authorize


def cmd_logout(args: argparse.Namespace) -> int:
    asyncio.run(closing(open_context(args), lambda ctx: logout(ctx, args.service)))
    print(f"unlinked {args.service}")
    return 0
