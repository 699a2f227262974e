"""``tuckaway serve``: run the Pocket-v3-compatible server until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sqlite3
import sys
from pathlib import Path

from tuckaway import db
from tuckaway.cli.common import Subparsers, port
from tuckaway.serve.app import start_server
from tuckaway.serve.auth import issue_token
from tuckaway.serve.limits import DEFAULT_KEY_LIMIT, DEFAULT_USER_LIMIT, is_loopback

log = logging.getLogger(__name__)


def add_commands(sub: Subparsers) -> None:
    p = sub.add_parser(
        "serve",
        help="publish your local list as a Pocket-compatible API on this machine",
        description="Serve the local list (the one `tuckaway save` uses without an account) "
        "over HTTP with Pocket's v3 API: /v3/add, /v3/send, /v3/get and the OAuth "
        "endpoints with an approval page, so Pocket clients can use it. Binds 127.0.0.1. "
        "Stop with Ctrl-C.",
    )
    p.add_argument(
        "--port", type=port, required=True, help="TCP port to listen on (0: any free port)"
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1); non-loopback needs --allow-remote",
    )
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host and Host header. There is no TLS: tokens and your "
        "list would cross the network in clear text. Put a TLS proxy in front.",
    )
    p.add_argument(
        "--consumer-key",
        metavar="KEY",
        help="accept only this consumer key (default: any non-empty key)",
    )
    p.add_argument(
        "--rate-limit",
        type=int,
        metavar="N",
        help=f"calls an hour per user (default {DEFAULT_USER_LIMIT}; Pocket allowed 320)",
    )
    p.add_argument(
        "--key-rate-limit",
        type=int,
        metavar="N",
        help=f"calls an hour per consumer key (default {DEFAULT_KEY_LIMIT}; Pocket allowed 10,000)",
    )
    p.add_argument(
        "--issue-token",
        action="store_true",
        help="create an access token for user 'local' and print it once on stdout "
        "(for `tuckaway login pocket --access-token-stdin`, scripts and tests)",
    )
    p.add_argument(
        "--ready-file",
        metavar="PATH",
        help="write the server's URL to PATH once it is listening",
    )
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    if not is_loopback(args.host) and not args.allow_remote:
        print(
            f"tuckaway: refusing to listen on {args.host}: the server has no TLS, so access "
            "tokens and your list would travel the network in clear text. Use a loopback "
            "address, or pass --allow-remote behind a TLS proxy.",
            file=sys.stderr,
        )
        return 2
    for option, value in (
        ("--rate-limit", args.rate_limit),
        ("--key-rate-limit", args.key_rate_limit),
    ):
        if value is not None and value < 1:
            print(f"tuckaway: {option} must be at least 1", file=sys.stderr)
            return 2
    conn = db.connect(args.settings.paths.db_path)
    try:
        return asyncio.run(_serve(args, conn))
    finally:
        conn.close()


async def _serve(args: argparse.Namespace, conn: sqlite3.Connection) -> int:
    try:
        server = await start_server(
            conn,
            host=args.host,
            port=args.port,
            consumer_key=args.consumer_key,
            rate_limit=args.rate_limit,
            key_rate_limit=args.key_rate_limit,
            allow_remote=args.allow_remote,
        )
    except OSError as exc:
        print(f"tuckaway: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    ready = Path(args.ready_file) if args.ready_file else None
    try:
        if args.issue_token:
            print(issue_token(conn), flush=True)
        print(f"serving on {server.url}", file=sys.stderr, flush=True)
        if args.allow_remote and not is_loopback(args.host):
            print("warning: reachable from the network without TLS", file=sys.stderr)
        log.info("serving the local list on %s", server.url)
        if ready is not None:
            _write_atomically(ready, server.url + "\n")
        await _until_stopped()
    finally:
        await server.close()
        if ready is not None:
            with contextlib.suppress(OSError):
                ready.unlink()
    return 0


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, AttributeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)
