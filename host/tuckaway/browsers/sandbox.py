"""A Flatpak browser's sandbox: what its manifest names must be visible inside it.

A frozen one-dir bundle runs anywhere, so it is copied into the app's own
``~/.var/app/<id>/data/tuckaway/`` and the manifest names the copy (as
Bitwarden does). A host from a Python install cannot run inside the sandbox:
the manifest names a wrapper there that starts it outside with
``flatpak-spawn --host``, which needs the app's permission to talk to
``org.freedesktop.Flatpak``.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from tuckaway.browsers.launchers import write_flatpak_wrapper
from tuckaway.browsers.locations import Location
from tuckaway.browsers.manifest import manifest_for, mkdirs, write_manifest
from tuckaway.browsers.record import Entry
from tuckaway.browsers.table import Browser

BUNDLE_MARKER = "_internal"  # PyInstaller's one-dir layout: the executables beside it


def frozen_bundle(host_path: Path) -> Path | None:
    """The one-dir bundle ``host_path`` belongs to, if it is one."""
    bundle = host_path.parent
    return bundle if (bundle / BUNDLE_MARKER).is_dir() else None


def sandbox_data(loc: Location) -> Path:
    """``~/.var/app/<id>/data/tuckaway`` for a Flatpak location's manifest."""
    app = loc.manifest
    while app.parent.name != "app" or app.parent.parent.name != ".var":
        app = app.parent
    return app / "data" / "tuckaway"


def install_flatpak(b: Browser, loc: Location, host_path: Path, extra_ids: Sequence[str]) -> Entry:
    """Write the Flatpak location's manifest and what it names; the record's entry."""
    assert b.flatpak is not None
    data = sandbox_data(loc)
    created = mkdirs(data)
    bundle = frozen_bundle(host_path)
    if bundle is not None:
        copy = data / "bundle"
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(bundle, copy, symlinks=True)
        program, owned = copy / host_path.name, copy
    else:
        program = write_flatpak_wrapper(host_path, data / "tuckaway-host", b.flatpak.app_id)
        owned = program
    created += write_manifest(loc.manifest, manifest_for(b.family, program, extra_ids))
    return Entry(
        browser=b.key,
        scope="user",
        variant="flatpak",
        manifest=str(loc.manifest),
        host_path=str(program),
        wrapper=str(owned),
        created_dirs=created,
        family=b.family,
        extra_ids=list(extra_ids),
        target=str(host_path),
    )


def spawns_outside(entry: Entry) -> bool:
    """Does this Flatpak entry start the host outside the sandbox (not a copied bundle)?"""
    return entry.variant == "flatpak" and entry.wrapper == entry.host_path
