"""A minimal CDP client for one target over its own WebSocket.

Playwright (over CDP) does not surface an extension's action popup as a page,
so the tests talk to the popup target directly: evaluate, type, screenshot.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientWebSocketResponse, WSMsgType


class CDPError(RuntimeError):
    pass


class TargetClient:
    def __init__(self, session: ClientSession, ws: ClientWebSocketResponse) -> None:
        self._session = session
        self._ws = ws
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, ws_url: str) -> TargetClient:
        session = ClientSession()
        try:
            ws = await session.ws_connect(ws_url, max_msg_size=64 * 1024 * 1024)
        except BaseException:
            await session.close()
            raise
        return cls(session, ws)

    async def _read(self) -> None:
        async for message in self._ws:
            if message.type != WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            future = self._waiting.pop(data.get("id", -1), None)
            if future is not None and not future.done():
                if "error" in data:
                    future.set_exception(CDPError(str(data["error"])))
                else:
                    future.set_result(data.get("result", {}))
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(CDPError("the target went away"))

    async def send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        mid = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[mid] = future
        await self._ws.send_str(json.dumps({"id": mid, "method": method, "params": params or {}}))
        return await asyncio.wait_for(future, 30)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
        )
        if "exceptionDetails" in result:
            raise CDPError(json.dumps(result["exceptionDetails"])[:2000])
        return result["result"].get("value")

    async def type_text(self, text: str) -> None:
        await self.send("Input.insertText", {"text": text})

    async def press_enter(self) -> None:
        await self.press_key("Enter")

    #: key, code, virtual key code, text
    KEYS = {
        "Enter": ("Enter", "Enter", 13, "\r"),
        "Tab": ("Tab", "Tab", 9, None),
        "Space": (" ", "Space", 32, " "),
        "Backspace": ("Backspace", "Backspace", 8, None),
    }

    async def press_key(self, name: str, *, shift: bool = False) -> None:
        """A real key press (keyDown, keyUp) as the keyboard sends it: Tab moves focus."""
        key, code, vk, text = self.KEYS[name]
        modifiers = 8 if shift else 0
        for kind in ("keyDown", "keyUp"):
            params: dict[str, Any] = {
                "type": kind, "key": key, "code": code, "windowsVirtualKeyCode": vk,
                "nativeVirtualKeyCode": vk, "modifiers": modifiers,
            }  # fmt: skip
            if kind == "keyDown" and text is not None:
                params["text"] = text
            await self.send("Input.dispatchKeyEvent", params)

    async def screenshot(self, path: Path, selector: str = "body") -> None:
        box = await self.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
            " return {x: r.x, y: r.y, width: Math.ceil(r.width), height: Math.ceil(r.height)}; })()"
        )
        shot = await self.send(
            "Page.captureScreenshot",
            {"format": "png", "clip": {**box, "scale": 1}, "captureBeyondViewport": True},
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    async def close(self) -> None:
        await self._ws.close()
        self._reader.cancel()
        await self._session.close()
