"""``tuckaway login wallabag|readeck``: the command-line side of the self-hosted sign-ins.

wallabag: ``--url URL --client-id ID --username USER --secrets-stdin`` (two
lines on stdin: the client secret, then the password; the password is used
once and never kept). Readeck: ``--url URL --token-stdin`` (an API token from
Readeck's settings), or without ``--token-stdin`` its OAuth flow in the browser.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from tuckaway.accounts import selfhosted
from tuckaway.accounts.readeck_oauth import login_readeck

if TYPE_CHECKING:
    from tuckaway.accounts.signin import OnAuthorize
    from tuckaway.context import Context

SELF_HOSTED = ("wallabag", "readeck")


def add_login_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", metavar="URL", help="your wallabag or Readeck server")
    p.add_argument("--client-id", metavar="ID", help="wallabag API client id")
    p.add_argument(
        "--secrets-stdin",
        action="store_true",
        help="wallabag: read the client secret, then the password, from two lines of stdin",
    )
    p.add_argument(
        "--token-stdin",
        action="store_true",
        help="Readeck: read an API token from stdin instead of signing in in the browser",
    )


def _usage(message: str) -> None:
    print(f"tuckaway: {message}", file=sys.stderr)


def read_login_input(args: argparse.Namespace) -> dict[str, str] | None:
    """What the sign-in needs from stdin; None (after saying why) on a usage error."""
    if not args.url:
        _usage(f"login {args.service} needs --url URL (your server)")
        return None
    if args.service == "wallabag":
        if not args.client_id or not args.username or not args.secrets_stdin:
            _usage(
                "login wallabag needs --client-id ID --username USER --secrets-stdin "
                "(stdin: the client secret, then the password, one per line)"
            )
            return None
        secret, password = sys.stdin.readline(), sys.stdin.readline()
        return {"client_secret": secret.strip(), "password": password.rstrip("\r\n")}
    if args.token_stdin:
        return {"token": sys.stdin.readline()}
    return {}


async def link_self_hosted(
    ctx: Context, args: argparse.Namespace, given: dict[str, str], opener: OnAuthorize
) -> dict[str, Any]:
    if args.service == "wallabag":
        return await selfhosted.login_wallabag(
            ctx,
            args.url,
            args.client_id,
            given["client_secret"],
            args.username,
            given["password"],
        )
    if "token" in given:
        return await selfhosted.link_readeck(ctx, args.url, given["token"])
    return await login_readeck(ctx, args.url, opener, args.timeout)
