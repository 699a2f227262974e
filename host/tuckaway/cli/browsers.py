"""``tuckaway install``, ``uninstall`` and ``doctor``: the browser registrations, printed."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tuckaway.browsers import doctor
from tuckaway.browsers.explain import explain
from tuckaway.browsers.heal import heal
from tuckaway.browsers.install import Report, install, select_browsers, uninstall
from tuckaway.browsers.launchers import find_host
from tuckaway.browsers.platform import Platform
from tuckaway.browsers.report import build_report, report_text
from tuckaway.browsers.table import BROWSERS, BY_KEY, browser
from tuckaway.cli.common import Subparsers, print_json
from tuckaway.errors import ConfigError
from tuckaway.settings import Settings

log = logging.getLogger("tuckaway.cli.browsers")
_MARK = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "info": " -  "}


def add_commands(sub: Subparsers) -> None:
    p = sub.add_parser(
        "install",
        help="register the host with your browsers",
        description="Write the org.tuckaway.host manifest everywhere each browser reads it "
        f"(browsers: {', '.join(BY_KEY)}). Without --browser, every browser found on this "
        "machine (by its profile folder or its program).",
    )
    p.add_argument(
        "--browser",
        "-b",
        action="append",
        default=[],
        metavar="NAME",
        help="a browser to register with (repeat for more)",
    )
    p.add_argument("--all", action="store_true", help="every browser found (the default)")
    p.add_argument("--system", action="store_true", help="for all users (needs root/admin)")
    p.add_argument("--host-path", metavar="PATH", help="the tuckaway-host program to register")
    p.add_argument(
        "--user-data-dir",
        action="append",
        default=[],
        metavar="DIR",
        type=Path,
        help="also register with a Chromium-family browser started with --user-data-dir DIR",
    )
    p.add_argument("--json", action="store_true", help="print what was done as JSON")
    p.set_defaults(func=cmd_install)

    p = sub.add_parser(
        "uninstall",
        help="remove what `tuckaway install` wrote",
        description="Remove the manifests, registry keys, wrappers and Flatpak copies "
        "`tuckaway install` recorded; nothing else.",
    )
    p.add_argument("--browser", "-b", action="append", default=[], metavar="NAME")
    p.add_argument("--system", action="store_true", help="only the system-wide registrations")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_uninstall)

    p = sub.add_parser(
        "doctor",
        help="check the browser registrations, the host, the keyring and the service",
        description="Check every place each browser reads a registration from (and start "
        "the host the way that browser does), the keyring, the service and the queue. Each "
        "problem comes with its fix; the exit status is 1 when something is broken.",
    )
    p.add_argument("--browser", "-b", action="append", default=[], metavar="NAME")
    p.add_argument(
        "--timeout",
        type=float,
        default=doctor.HELLO_TIMEOUT_S,
        metavar="SECONDS",
        help=f"how long to wait for the host's hello (default {doctor.HELLO_TIMEOUT_S:g})",
    )
    p.add_argument(
        "--explain",
        metavar="TEXT",
        help="say what a browser's error text means and how to fix it (nothing is checked)",
    )
    p.add_argument(
        "--report",
        action="store_true",
        help="print a report to paste into a bug report (versions, paths, hashes; no secrets)",
    )
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    p.set_defaults(func=cmd_doctor)


def cmd_install(args: argparse.Namespace) -> int:
    platform = Platform.current()
    # --user-data-dir alone registers that profile only; with --all or --browser, those too.
    only_dirs = args.user_data_dir and not (args.browser or args.all)
    chosen = [] if only_dirs else select_browsers(platform, args.browser, args.all)
    if not chosen and not args.user_data_dir:
        print(
            "tuckaway: no browser found (looked for "
            + ", ".join(b.label for b in BROWSERS)
            + "); name one with --browser NAME",
            file=sys.stderr,
        )
        return 1
    host = find_host(platform, args.host_path)
    try:
        report = install(
            platform,
            args.settings.paths.state_dir,
            chosen,
            host,
            system=args.system,
            extra_ids=args.settings.allowed_extensions,
            user_data_dirs=args.user_data_dir,
        )
    except PermissionError as exc:
        raise ConfigError(
            f"permission denied writing {exc.filename}: "
            + ("run it as root (sudo)" if args.system else "check that directory's owner")
        ) from exc
    if args.json:
        print_json(report.to_json())
    else:
        _print_install(host, report)
    return 0 if report.installed else 1


def _print_install(host: Path, report: Report) -> None:
    print(f"host: {host}")
    for e in report.installed:
        label = BY_KEY[e.browser].label + (" (Flatpak)" if e.variant == "flatpak" else "")
        where = e.manifest + (f"  [{e.registry[0]}\\{e.registry[1]}]" if e.registry else "")
        print(f"registered for {label}: {where}")
    for s in report.skipped:
        print(f"not registered for {BY_KEY[s['browser']].label}: {s['reason']}")
    for note in report.notes:
        print(f"note: {note}")
    if report.installed:
        print("Restart the browser if it was open; `tuckaway doctor` checks the result.")


def cmd_uninstall(args: argparse.Namespace) -> int:
    platform = Platform.current()
    chosen = [browser(n) for n in args.browser]
    report = uninstall(
        platform, args.settings.paths.state_dir, chosen, system=True if args.system else None
    )
    if args.json:
        print_json(report.to_json())
        return 0
    if not report.removed:
        print("nothing to remove: `tuckaway install` has not registered anything here")
    for name in report.removed:
        print(f"removed {name}")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    if args.explain is not None:
        return _explain(args.explain, args.json)
    platform = Platform.current()
    chosen = [browser(n) for n in args.browser] or list(BROWSERS)
    checks = doctor.run(platform, args.settings, chosen, timeout=args.timeout)
    broken = any(c.status == "fail" for c in checks)
    if args.report:
        try:
            host: Path | None = find_host(platform)
        except ConfigError:
            host = None
        report = build_report(args.settings, checks, host)
        if args.json:
            print_json(report)
        else:
            print(report_text(report))
        return 1 if broken else 0
    if args.json:
        print_json({"ok": not broken, "checks": [c.to_json() for c in checks]})
        return 1 if broken else 0
    for c in checks:
        print(f"{_MARK[c.status]}  {c.message}")
        if c.fix:
            print(f"      fix: {c.fix}")
    print("something is broken: see the fixes above" if broken else "all good")
    return 1 if broken else 0


#: Commands that do not heal first: install/uninstall rewrite the record themselves, and
#: doctor shows the registrations as the browser finds them.
NO_HEAL = frozenset({"install", "uninstall", "doctor"})


def heal_registrations(settings: Settings) -> None:
    """Before a command: re-point manifests whose host moved at the host found now."""
    try:
        host = find_host(Platform.current())
    except ConfigError:
        return
    try:
        healed = heal(settings.paths.state_dir, host)
    except OSError as exc:  # e.g. a system-wide manifest this user cannot write
        log.warning("could not heal the browser registrations: %s", exc)
        return
    for e in healed:
        print(
            f"tuckaway: {e.manifest} named a host that no longer runs; it now names {host}",
            file=sys.stderr,
        )


def _explain(text: str, as_json: bool) -> int:
    found = explain(text)
    if as_json:
        print_json([e.to_json() for e in found])
        return 0 if found else 1
    if not found:
        print(
            "tuckaway: that text is not one I know; run `tuckaway doctor`, which checks every "
            "registration, and paste `tuckaway doctor --report` into a bug report",
            file=sys.stderr,
        )
        return 1
    for e in found:
        print(f"{e.browser} says '{e.says}'")
        print(f"  cause: {e.cause}")
        print(f"  fix:   {e.fix}")
    return 0
