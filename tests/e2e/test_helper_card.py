"""The options page's helper-app card when the helper app is older than the extension needs."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from .chromium import Chromium
from .harness import register_for_chromium

pytestmark = pytest.mark.e2e

# A helper app from before this extension: answers hello as version 0.0.1, knows no other op.
OLD_HOST = """
import json, struct, sys
inp, out = sys.stdin.buffer, sys.stdout.buffer
while len(header := inp.read(4)) == 4:
    message = json.loads(inp.read(struct.unpack("=I", header)[0]))
    if message.get("op") == "hello":
        reply = {"id": message["id"], "ok": True, "result": {
            "name": "org.tuckaway.host", "version": "0.0.1", "protocol": 1,
            "backend": "local", "accounts": {}, "pending": 0}}
    else:
        reply = {"id": message["id"], "ok": False, "error": {
            "code": "invalid_request", "message": "unknown op", "retryable": False}}
    body = json.dumps(reply).encode()
    out.write(struct.pack("=I", len(body)) + body)
    out.flush()
"""


@pytest.fixture
async def chromium_old_host(playwright: object, tmp_path: Path) -> AsyncIterator[Chromium]:
    from .chromium import launch_chromium

    script = tmp_path / "old-host.py"
    script.write_text(OLD_HOST, "utf-8")
    host = tmp_path / "old-host"
    host.write_text(f"#!/bin/sh\nexec '{sys.executable}' '{script}' \"$@\"\n", "utf-8")
    host.chmod(0o755)
    profile = tmp_path / "chromium-profile"
    register_for_chromium(profile, host)
    async with launch_chromium(playwright, profile) as browser:  # type: ignore[arg-type]
        yield browser


async def test_an_older_helper_app_is_told_to_update_and_what_waits(
    chromium_old_host: Chromium,
) -> None:
    options = await chromium_old_host.extension_page("options/options.html")
    update = options.locator("#host-update")
    await update.wait_for(state="visible", timeout=20000)
    assert await options.inner_text("#host-badge") == "Update needed"
    text = await options.inner_text("#host-update-text")
    assert text.startswith("Update the helper app: this is tuckaway 0.0.1")
    assert await options.locator("#host-waiting li").count() >= 1
    assert await options.locator("#host-missing").is_hidden()
