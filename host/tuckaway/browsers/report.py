"""``doctor --report``: a pasteable account of this install for a bug report.

Versions, paths, what install wrote (with each manifest's SHA-256) and the
doctor's checks. No secrets: tokens live in the keyring and are never read;
settings are named, not quoted, except the service URL and the batching numbers.
"""

from __future__ import annotations

import hashlib
import platform as pyplatform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tuckaway import __version__
from tuckaway.browsers.doctor import Check
from tuckaway.browsers.record import Entry, read_record
from tuckaway.errors import ConfigError
from tuckaway.settings import Settings


def sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"


def build_report(settings: Settings, checks: Sequence[Check], host: Path | None) -> dict[str, Any]:
    try:
        entries: list[Entry] = read_record(settings.paths.state_dir)
        record_error = None
    except ConfigError as exc:
        entries, record_error = [], exc.message
    return {
        "tuckaway": __version__,
        "python": sys.version.split()[0],
        "frozen": bool(getattr(sys, "frozen", False)),
        "os": f"{pyplatform.system()} {pyplatform.release()} {pyplatform.machine()}",
        "host": str(host) if host else None,
        "host_sha256": sha256(host) if host else None,
        "paths": {
            "config dir": str(settings.paths.config_dir),
            "data dir": str(settings.paths.data_dir),
            "state dir": str(settings.paths.state_dir),
            "log file": str(settings.paths.log_file),
        },
        "service": settings.pocket_url,
        "registrations": [
            {
                "browser": e.browser,
                "scope": e.scope,
                "variant": e.variant,
                "manifest": e.manifest,
                "manifest_sha256": sha256(Path(e.manifest)),
                "registry": "\\".join(e.registry) if e.registry else None,
                "names": e.host_path,
            }
            for e in entries
        ],
        "record_error": record_error,
        "checks": [c.to_json() for c in checks],
    }


def report_text(report: dict[str, Any]) -> str:
    """The report as Markdown-friendly plain text."""
    lines = [
        "### Tuckaway report",
        f"- tuckaway {report['tuckaway']} (Python {report['python']}"
        + (", frozen bundle" if report["frozen"] else "")
        + f") on {report['os']}",
        f"- host: {report['host']} (sha256 {report['host_sha256']})",
        f"- service: {report['service']}",
    ]
    lines += [f"- {name}: {path}" for name, path in report["paths"].items()]
    lines.append("- registrations:" if report["registrations"] else "- registrations: none")
    for r in report["registrations"]:
        where = r["registry"] or r["manifest"]
        lines.append(
            f"  - {r['browser']} ({r['scope']}, {r['variant']}): {where} -> {r['names']} "
            f"(manifest sha256 {r['manifest_sha256']})"
        )
    if report["record_error"]:
        lines.append(f"- install record: {report['record_error']}")
    lines.append("- checks:")
    lines += [f"  - {c['status']}: {c['message']}" for c in report["checks"]]
    return "\n".join(lines)
