"""The e2e harness's own rules (no browser): screenshots stay out of the work tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from .harness import DOCS_SCREENSHOTS, SCREENSHOT_ARTIFACTS, publish_screenshot, screenshot_file


def test_screenshots_are_written_to_the_gitignored_artifacts() -> None:
    assert screenshot_file("x.png") == SCREENSHOT_ARTIFACTS / "x.png"
    assert SCREENSHOT_ARTIFACTS.parent.name == "test-artifacts"
    assert DOCS_SCREENSHOTS.parts[-2:] == ("docs", "screenshots")


def test_docs_screenshots_change_only_on_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shot = tmp_path / "popup.png"
    shot.write_bytes(b"new picture")
    docs = tmp_path / "docs"
    monkeypatch.delenv("TUCKAWAY_UPDATE_SCREENSHOTS", raising=False)
    assert publish_screenshot(shot, docs) is None
    assert not docs.exists()
    monkeypatch.setenv("TUCKAWAY_UPDATE_SCREENSHOTS", "0")
    assert publish_screenshot(shot, docs) is None
    monkeypatch.setenv("TUCKAWAY_UPDATE_SCREENSHOTS", "1")
    assert publish_screenshot(shot, docs) == docs / "popup.png"
    assert (docs / "popup.png").read_bytes() == b"new picture"
