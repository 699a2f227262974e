"""Render icons/icon.svg to the PNG sizes the manifest names (run after editing the SVG).

Uses the Playwright Python package with the system Chromium; the PNGs are
committed, so loading the extension needs no build step.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent.parent / "icons"
SIZES = (16, 32, 48, 128)


def main() -> int:
    svg = (HERE / "icon.svg").read_text("utf-8")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for size in SIZES:
            page = browser.new_page(viewport={"width": size, "height": size})
            page.set_content(
                "<style>html,body{margin:0;background:transparent}svg{display:block}</style>"
                + svg.replace('width="128" height="128"', f'width="{size}" height="{size}"')
            )
            page.screenshot(path=str(HERE / f"icon-{size}.png"), omit_background=True)
            page.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
