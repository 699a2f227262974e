"""Firefox ESR over WebDriver BiDi (no geckodriver): `--remote-debugging-port`,
`session.new`, `webExtension.install` of the unpacked extension.

BiDi cannot navigate a tab to a moz-extension:// page, so the tests open the
options page from the browser's own chrome (`--remote-allow-system-access`,
`moz:scope: chrome`), which is also how they reach the toolbar button.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import queue
import re
import subprocess
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientWebSocketResponse, WSMsgType

from .harness import EXTENSION_DIR, FIREFOX, GECKO_ID, eventually

BIDI_LINE = re.compile(r"WebDriver BiDi listening on (ws://\S+)")
# A fixed internal UUID, so the extension's pages have a known address.
EXTENSION_UUID = "5f1c3c1e-7a1b-4c2d-9e8f-0a1b2c3d4e5f"
EXTENSION_ORIGIN = f"moz-extension://{EXTENSION_UUID}"


class BiDiError(RuntimeError):
    pass


@dataclass
class Firefox:
    process: subprocess.Popen[bytes]
    ws: ClientWebSocketResponse
    output: list[str]
    ids: Any = field(default_factory=lambda: itertools.count(1))
    waiting: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type != WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            future = self.waiting.pop(data.get("id", -1), None)
            if future is None or future.done():
                continue
            if data.get("type") == "error":
                future.set_exception(BiDiError(f"{data.get('error')}: {data.get('message')}"))
            else:
                future.set_result(data.get("result", {}))

    async def send(self, method: str, params: dict[str, Any]) -> Any:
        mid = next(self.ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting[mid] = future
        await self.ws.send_str(json.dumps({"id": mid, "method": method, "params": params}))
        return await asyncio.wait_for(future, 30)

    async def evaluate(self, context: str, expression: str) -> Any:
        result = await self.send(
            "script.evaluate",
            {"expression": expression, "target": {"context": context}, "awaitPromise": True,
             "serializationOptions": {"maxObjectDepth": 0}},
        )  # fmt: skip
        if result.get("type") == "exception":
            raise BiDiError(result["exceptionDetails"]["text"])
        value = result["result"]
        return value.get("value")

    async def install_extension(self, path: Path = EXTENSION_DIR) -> str:
        result = await self.send(
            "webExtension.install", {"extensionData": {"type": "path", "path": str(path)}}
        )
        return str(result["extension"])

    async def tabs(self) -> list[dict[str, Any]]:
        return list((await self.send("browsingContext.getTree", {}))["contexts"])

    async def chrome_window(self) -> str:
        tree = await self.send("browsingContext.getTree", {"moz:scope": "chrome"})
        return str(tree["contexts"][0]["context"])

    async def open_extension_page(self, path: str) -> str:
        """Open one of the extension's pages in a new foreground tab; returns its context."""
        url = f"{EXTENSION_ORIGIN}/{path}"
        chrome = await self.chrome_window()
        await self.evaluate(chrome, (
            f"gBrowser.selectedTab = gBrowser.addTab({json.dumps(url)}, "
            "{triggeringPrincipal: Services.scriptSecurityManager.getSystemPrincipal()}); 'ok'"
        ))  # fmt: skip

        async def find() -> str | None:
            for tab in await self.tabs():
                if tab["url"] == url:
                    return str(tab["context"])
            return None

        return str(await eventually(find, what=f"the tab with {url}"))

    async def open(self, url: str) -> str:
        created = await self.send("browsingContext.create", {"type": "tab"})
        context = str(created["context"])
        await self.send(
            "browsingContext.navigate", {"context": context, "url": url, "wait": "complete"}
        )
        await self.send("browsingContext.activate", {"context": context})
        return context

    async def click_action(self) -> None:
        """Press the toolbar button on the selected tab, the way the browser's shortcut does."""
        chrome = await self.chrome_window()
        await self.evaluate(chrome, (
            "(() => { const { ExtensionParent } = ChromeUtils.importESModule("
            "'resource://gre/modules/ExtensionParent.sys.mjs');"
            f" const ext = WebExtensionPolicy.getByID({json.dumps(GECKO_ID)}).extension;"
            " ExtensionParent.apiManager.global.browserActionFor(ext).triggerAction(window);"
            " return 'ok'; })()"
        ))  # fmt: skip

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.send("browser.close", {}), 10)
        with contextlib.suppress(Exception):
            await self.ws.close()
        if self.reader:
            self.reader.cancel()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                await asyncio.to_thread(self.process.wait, 10)


@contextlib.asynccontextmanager
async def launch_firefox(tmp: Path, home: Path) -> AsyncIterator[Firefox]:
    """Firefox with a fresh profile; HOME is `home` (for ~/.mozilla/native-messaging-hosts)."""
    profile = tmp / "firefox-profile"
    profile.mkdir(parents=True, exist_ok=True)
    uuids = json.dumps({GECKO_ID: EXTENSION_UUID})
    (profile / "user.js").write_text(
        f'user_pref("extensions.webextensions.uuids", {json.dumps(uuids)});\n'
        'user_pref("browser.shell.checkDefaultBrowser", false);\n'
        'user_pref("datareporting.policy.dataSubmissionEnabled", false);\n'
        'user_pref("app.update.disabledForTesting", true);\n',
        "utf-8",
    )
    env = {**os.environ, "HOME": str(home), "MOZ_HEADLESS": "1"}
    process = subprocess.Popen(
        [FIREFOX, "--headless", "--no-remote", "--profile", str(profile),
         "--remote-debugging-port=0", "--remote-allow-system-access"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    output: list[str] = []
    found: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode(errors="replace")
            output.append(line)
            match = BIDI_LINE.search(line)
            if match:
                found.put(match.group(1))
        found.put(None)

    threading.Thread(target=drain, name="firefox-output", daemon=True).start()
    try:
        endpoint = await asyncio.to_thread(found.get, True, 60)
    except queue.Empty:
        endpoint = None
    if endpoint is None:
        process.kill()
        process.wait(10)
        raise RuntimeError("firefox did not start WebDriver BiDi:\n" + "".join(output[-40:]))
    async with ClientSession() as session:
        ws = await session.ws_connect(
            endpoint.rstrip("/") + "/session", max_msg_size=64 * 1024 * 1024
        )
        firefox = Firefox(process, ws, output)
        firefox.reader = asyncio.create_task(firefox._read())
        try:
            await firefox.send("session.new", {"capabilities": {}})
            yield firefox
        finally:
            await firefox.close()
