"""``tuckaway repair``: check the database and, if damaged, recover what SQLite can."""

from __future__ import annotations

import argparse

from tuckaway.cli.common import Subparsers
from tuckaway.repair import repair


def add_commands(sub: Subparsers) -> None:
    p = sub.add_parser(
        "repair",
        help="check the database; if damaged, keep a copy and recover what can be read",
        description="Run SQLite's quick_check on the database. If it is damaged, copy it "
        "aside (tuckaway.db.damaged-DATE), build a fresh one with every row that can "
        "still be read, and say what was lost. Close the browser first.",
    )
    p.set_defaults(func=cmd_repair)


def cmd_repair(args: argparse.Namespace) -> int:
    path = args.settings.paths.db_path
    if not path.exists():
        print(f"no database yet at {path}: nothing to repair")
        return 0
    report = repair(path)
    if report.copy is None:
        print(f"the database {path} is sound: nothing to repair")
        return 0
    print(f"the damaged database is kept at {report.copy}")
    for table, count in sorted(report.recovered.items()):
        print(f"recovered {count} row(s) of {table}")
    for table, why in sorted(report.lost.items()):
        print(f"lost: {'everything' if table == '*' else table}: {why}")
    if not report.lost:
        print("nothing was lost")
    print(f"{path} is usable again")
    return 0
