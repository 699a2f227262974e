"""Chromium with the unpacked extension, driven over CDP (Playwright connect_over_cdp).

The browser is started by hand with the flags a user's browser would not
need but a test does (headless, fresh profile, no network chatter), so the
extension loads from extension/ exactly as a developer loads it unpacked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import subprocess
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Browser, BrowserContext, CDPSession, Page, Playwright, Worker

from .cdp import TargetClient
from .harness import CHROME_ID, CHROMIUM, DEVTOOLS_LINE, EXTENSION_DIR, eventually

EXTENSION_ORIGIN = f"chrome-extension://{CHROME_ID}"


@dataclass
class Chromium:
    process: subprocess.Popen[bytes]
    user_data_dir: Path
    browser: Browser
    context: BrowserContext
    cdp: CDPSession
    stderr: list[str]
    debug_origin: str
    clients: list[TargetClient] = field(default_factory=list)

    async def worker(self) -> Worker:
        """The extension's service worker (started on demand by the browser)."""

        def find() -> Worker | None:
            for worker in self.context.service_workers:
                if worker.url.startswith(EXTENSION_ORIGIN):
                    return worker
            return None

        worker: Worker = await eventually(find, timeout=20, what="the extension's service worker")
        return worker

    async def sw(self, expression: str, arg: Any = None) -> Any:
        """Evaluate a function expression in the service worker, with `tuckaway` in scope."""
        worker = await self.worker()
        return await worker.evaluate(expression, arg)

    async def open(self, url: str) -> Page:
        page = await self.context.new_page()
        await page.goto(url)
        await page.bring_to_front()
        return page

    async def tab_target(self, page: Page) -> dict[str, Any]:
        """The `tab` target holding `page` (Extensions.triggerAction wants a tab target)."""

        async def find() -> dict[str, Any] | None:
            infos = (await self.cdp.send("Target.getTargets", {"filter": [{"type": "tab"}]}))[
                "targetInfos"
            ]
            matches = [t for t in infos if t["url"] == page.url]
            return matches[0] if len(matches) == 1 else None

        target: dict[str, Any] = await eventually(find, what=f"the tab target of {page.url}")
        return target

    async def tab_id(self, page: Page) -> int:
        """The extension API's tab id of `page`."""
        return int(await self.sw(
            "async (url) => (await chrome.tabs.query({})).find((t) => t.url === url).id", page.url))  # fmt: skip

    async def click_action(self, page: Page) -> TargetClient:
        """Click the toolbar button on `page`'s tab (a real action click); returns the popup."""
        target = await self.tab_target(page)
        popup_url = f"{EXTENSION_ORIGIN}/popup/popup.html"
        before = {t["targetId"] for t in await self.targets() if t["url"].startswith(popup_url)}
        await self.cdp.send(
            "Extensions.triggerAction", {"id": CHROME_ID, "targetId": target["targetId"]}
        )

        async def opened() -> dict[str, Any] | None:
            for info in await self.targets():
                if (
                    info["type"] == "page"
                    and info["url"].startswith(popup_url)
                    and info["targetId"] not in before
                ):
                    return info
            return None

        info = await eventually(opened, what="the action popup")
        client = await TargetClient.connect(f"{self.debug_origin}/devtools/page/{info['targetId']}")
        self.clients.append(client)
        await eventually(
            lambda: client.evaluate("document.readyState === 'complete'"), what="popup load"
        )
        return client

    async def targets(self) -> list[dict[str, Any]]:
        return list((await self.cdp.send("Target.getTargets", {"filter": [{}]}))["targetInfos"])

    async def extension_page(self, path: str) -> Page:
        page = await self.context.new_page()
        await page.goto(f"{EXTENSION_ORIGIN}/{path}")
        return page

    async def active_tab(self, page: Page) -> dict[str, Any]:
        """The tab object the browser hands listeners for `page` (id from the tabs API)."""
        await page.bring_to_front()
        tab = await self.sw(
            "async () => (await chrome.tabs.query({active: true, lastFocusedWindow: true}))[0]"
        )
        # Without a user gesture the extension may not read url/title; the browser's
        # own listener call would include them (activeTab), so fill them in.
        return {**tab, "url": page.url, "title": await page.title()}

    async def badge(self) -> str:
        return str(await self.sw("() => chrome.action.getBadgeText({})"))

    async def record_badges(self) -> None:
        """From now on, remember every badge text the background sets (see `badges`)."""
        await self.sw(
            "() => { globalThis.badgeTexts = [];"
            " for (const api of new Set([globalThis.chrome, globalThis.browser].filter(Boolean))) {"
            "   const set = api.action.setBadgeText.bind(api.action);"
            "   api.action.setBadgeText = (details) => { globalThis.badgeTexts.push(details.text); return set(details); };"
            " } }"
        )

    async def badges(self) -> list[str]:
        """The badge texts set since `record_badges`, in order."""
        return list(await self.sw("() => globalThis.badgeTexts"))

    async def close(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):
                await client.close()
        with contextlib.suppress(Exception):
            await self.browser.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                await asyncio.to_thread(self.process.wait, 10)


CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-features=MediaRouter,OptimizationHints,Translate",
    "--password-store=basic",
    "--use-mock-keychain",
    "--window-size=1280,900",
)


@contextlib.asynccontextmanager
async def launch_chromium(
    pw: Playwright,
    user_data_dir: Path,
    *,
    extension: Path = EXTENSION_DIR,
    extra_args: tuple[str, ...] = (),
) -> AsyncIterator[Chromium]:
    user_data_dir.mkdir(parents=True, exist_ok=True)
    args = [
        CHROMIUM,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={user_data_dir}",
        "--remote-debugging-port=0",
        f"--load-extension={extension}",
        f"--disable-extensions-except={extension}",
    ]
    args.extend(extra_args)
    args.append("about:blank")
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr: list[str] = []
    found: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:
        assert process.stderr is not None
        for raw in process.stderr:
            line = raw.decode(errors="replace")
            stderr.append(line)
            match = DEVTOOLS_LINE.search(line)
            if match:
                found.put(match.group(1))
        found.put(None)
        process.stderr.close()

    drainer = threading.Thread(target=drain, name="chromium-stderr", daemon=True)
    drainer.start()
    try:
        endpoint = await asyncio.to_thread(found.get, True, 30)
    except queue.Empty:
        endpoint = None
    if endpoint is None:
        process.kill()
        process.wait(10)
        raise RuntimeError("chromium did not start DevTools:\n" + "".join(stderr[-40:]))
    browser = await pw.chromium.connect_over_cdp(endpoint)
    context = browser.contexts[0]
    cdp = await browser.new_browser_cdp_session()
    parts = urlsplit(endpoint)
    chromium = Chromium(
        process, user_data_dir, browser, context, cdp, stderr, f"ws://{parts.netloc}"
    )
    try:
        yield chromium
    finally:
        await chromium.close()
        drainer.join(timeout=10)


def dump(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)
