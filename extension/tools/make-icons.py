"""Render icons/icon.svg (and saved.svg, the toolbar icon on a saved page) to PNGs.

Uses the Playwright Python package with the system Chromium; the PNGs are
committed, so loading the extension needs no build step.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent.parent / "icons"
SIZES = (16, 32, 48, 128)


def main() -> int:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for name, sizes in (("icon", SIZES), ("saved", SIZES[:3])):
            render(browser, name, sizes)
        browser.close()
    return 0


def render(browser: Any, name: str, sizes: tuple[int, ...]) -> None:
    svg = (HERE / f"{name}.svg").read_text("utf-8")
    for size in sizes:
        page = browser.new_page(viewport={"width": size, "height": size})
        page.set_content(
            "<style>html,body{margin:0;background:transparent}svg{display:block}</style>"
            + svg.replace('width="128" height="128"', f'width="{size}" height="{size}"')
        )
        page.screenshot(path=str(HERE / f"{name}-{size}.png"), omit_background=True)
        page.close()


if __name__ == "__main__":
    sys.exit(main())
