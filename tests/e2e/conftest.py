"""Fixtures for the browser tests: skipped, with the reason, when a browser is missing."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from .harness import CHROMIUM, NativeHost, make_native_host, register_for_chromium


def require_chromium() -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(
            f"{CHROMIUM} is not installed (apt-get install chromium); the e2e tests drive it"
        )


@pytest.fixture
def native_host(tmp_path: Path) -> NativeHost:
    return make_native_host(tmp_path)


@pytest.fixture
async def playwright() -> AsyncIterator[object]:
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        yield pw


@pytest.fixture
async def chromium(
    playwright: object, tmp_path: Path, native_host: NativeHost
) -> AsyncIterator[object]:
    """Chromium with the extension and the real host registered in its profile."""
    from .chromium import launch_chromium

    profile = tmp_path / "chromium-profile"
    register_for_chromium(profile, native_host.wrapper)
    async with launch_chromium(playwright, profile) as browser:  # type: ignore[arg-type]
        yield browser


@pytest.fixture
async def chromium_dead_host(playwright: object, tmp_path: Path) -> AsyncIterator[object]:
    """Chromium whose registered host exits at once (a broken install)."""
    from .chromium import launch_chromium
    from .harness import make_dead_host

    profile = tmp_path / "chromium-profile"
    register_for_chromium(profile, make_dead_host(tmp_path))
    async with launch_chromium(playwright, profile) as browser:  # type: ignore[arg-type]
        yield browser
