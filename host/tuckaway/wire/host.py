"""``tuckaway-host``: the process the browser starts for ``org.tuckaway.host``.

Start-up order matters: stdout is reserved for frames before anything else
runs (fd 1 is moved to a private descriptor and fd 1 / ``sys.stdout`` point
at stderr, so a stray ``print`` or a C library's write cannot corrupt the
channel); then the caller is checked against the allow-list; then the loop
serves. A reader thread turns stdin into frames; all replies are written by
the loop thread, in order, through one :class:`~tuckaway.wire.framing.FrameWriter`.

The browser's first message is read before the event loop exists: when it is
a plain ``hello`` (the extension's first word on every new port) it is
answered at once, through the same dispatcher, so the first reply costs no
asyncio, no reader thread and no validation models. Anything else is handed
to the loop as the first message, exactly as if the reader thread had read it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn

from tuckaway import HOST_NAME, __version__
from tuckaway.context import Context
from tuckaway.errors import InvalidMessage, MessageTooLarge, TuckawayError
from tuckaway.ids import CHROME_EXTENSION_ID, GECKO_EXTENSION_ID
from tuckaway.logs import open_deferred, setup
from tuckaway.settings import Settings
from tuckaway.wire.dispatch import Dispatcher, is_plain_hello
from tuckaway.wire.framing import (
    MAX_ARTICLE_FRAME,
    MAX_REQUEST,
    FrameReader,
    FrameTooLarge,
    FrameWriter,
    TruncatedFrame,
    internal_reply,
    set_binary,
    within_limit,
)

if TYPE_CHECKING:
    import asyncio

log = logging.getLogger("tuckaway.wire.host")

#: a host that gets no message this soon starts on the writes earlier processes left
DRAIN_AFTER_S = 1.0
EOF_GRACE_S = 10.0
#: messages read from the port but not yet handled: the reader waits beyond this, so a
#: browser that writes faster than the host commits cannot grow the host's memory
INBOX_MAX = 256
#: ... and bytes of them: a save may carry a 16 MiB article, and 256 of those must never
#: be held at once (a frame larger than what is left waits until the loop catches up)
INBOX_MAX_BYTES = 2 * MAX_ARTICLE_FRAME
_EOF = object()
_NOTHING = object()  # no item: the stream ended without one


class ByteBudget:
    """Bytes read from the port and not yet handled; :meth:`take` waits while they are
    over the limit (one frame of any size passes when nothing else is held)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._cond = threading.Condition()

    def take(self, size: int) -> None:
        with self._cond:
            while self.used and self.used + size > self.limit:
                self._cond.wait()
            self.used += size

    def give(self, size: int) -> None:
        if not size:
            return
        with self._cond:
            self.used -= size
            self._cond.notify_all()


def caller_allowed(argv: Sequence[str], allowed_ids: Sequence[str] = ()) -> tuple[bool, str]:
    """Is the browser's caller one of ours? (PROTOCOL.md 1)

    Chrome-family browsers pass ``chrome-extension://ID/`` first; Firefox
    passes the manifest path and the add-on id. No argument: started by hand.
    """
    if not argv:
        return True, "started by hand"
    first = argv[0]
    if first.startswith("chrome-extension://"):
        ext_id = first.removeprefix("chrome-extension://").rstrip("/")
        if ext_id in {CHROME_EXTENSION_ID, *allowed_ids}:
            return True, f"extension {ext_id}"
        return False, f"origin {first} is not allowed to use {HOST_NAME}"
    if len(argv) >= 2 and first.endswith(".json"):
        addon = argv[1]
        if addon in {GECKO_EXTENSION_ID, *allowed_ids}:
            return True, f"add-on {addon}"
        return False, f"add-on {addon} is not allowed to use {HOST_NAME}"
    return False, f"unexpected arguments {list(argv)!r}: {HOST_NAME} is started by the browser"


def guard_stdout() -> int:
    """Reserve the real stdout for frames; returns its private descriptor."""
    sys.stdout.flush()
    frames_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    set_binary(0)
    set_binary(frames_fd)
    return frames_fd


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in {"--version", "--help", "-h"}:
        print(
            f"tuckaway-host {__version__}: the native-messaging host {HOST_NAME}.\n"
            "Browsers start it; run `tuckaway install` to register it and `tuckaway doctor` "
            "to check."
        )
        return 0
    frames_fd = guard_stdout()
    try:
        settings = Settings.load(lenient=True)  # a typo must not cut the extension off
    except TuckawayError as exc:
        sys.stderr.write(f"tuckaway-host: {exc.message}\n")
        return 1
    setup(settings.paths.log_file, settings.log_level, defer=True)
    ok, why = caller_allowed(args, settings.allowed_extensions)
    if not ok:
        log.warning("refused: %s", why)
        sys.stderr.write(f"tuckaway-host: refused: {why}\n")
        return 3
    log.info("host %s started (%s)", __version__, why)
    for problem in settings.problems:
        log.warning("config: %s; using the default", problem.describe())
    settings.ensure_dirs()
    writer = FrameWriter(frames_fd)
    stream = sys.stdin.buffer
    try:
        early = _first_message(settings, stream, writer)
        import asyncio  # after the first reply: a plain hello is answered without it

        asyncio.run(serve(settings, stream, writer, early))
    except Exception:
        _last_resort(writer)
    log.info("host exits")
    return 0


def _last_resort(writer: FrameWriter) -> NoReturn:
    """Answer, log and exit 1: never a traceback on the port, never an abort.

    ``os._exit``: the reader thread may be blocked in a read of stdin, and a
    normal interpreter shutdown then aborts on the stdin lock (SIGABRT).
    """
    try:
        log.exception("host crashed")
        writer.write(
            internal_reply(
                None, "the host stopped on an internal error; details are in its log file"
            )
        )
        logging.shutdown()
        sys.stderr.flush()
    finally:
        os._exit(1)


class Early:
    """What happened before the loop: the first inbox items, and a hello already answered."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.ended = False
        self.ctx: Context | None = None
        self.dispatcher: Dispatcher | None = None
        self.idle = False  #: no message came within DRAIN_AFTER_S: drain without one


def _first_message(settings: Settings, stream: BinaryIO, writer: FrameWriter) -> Early:
    """Read the first frame; answer it now if it is a plain ``hello``, else keep it for the loop."""
    early = Early()
    if not _readable_within(stream, DRAIN_AFTER_S):
        early.idle = True  # the browser connected and waits: writes left over go out now
        return early
    item, early.ended = _next_item(FrameReader(stream, MAX_ARTICLE_FRAME))
    if is_plain_hello(item):
        early.ctx = Context(settings)
        early.dispatcher = Dispatcher(early.ctx, writer.write)
        early.dispatcher.handle_many([item])
    elif item is not _NOTHING:
        early.items.append(item)
    if early.ended:
        early.items.append(_EOF)
    return early


async def serve(
    settings: Settings, stream: BinaryIO, writer: FrameWriter, early: Early | None = None
) -> None:
    """Serve one port until EOF; then finish accepted writes (bounded) and return."""
    import asyncio

    early = early or Early()
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    slots = threading.Semaphore(INBOX_MAX)  # one per item in the inbox, taken by the reader
    budget = ByteBudget(INBOX_MAX_BYTES)  # the bytes of those items, given back once handled
    for item in early.items:
        slots.acquire()
        inbox.put_nowait((item, 0))
    if not early.ended:
        reader = threading.Thread(
            target=_read_frames,
            args=(stream, loop, inbox, slots, budget),
            name="frames",
            daemon=True,
        )
        reader.start()
    ctx = early.ctx or Context(settings)
    dispatcher = early.dispatcher or Dispatcher(ctx, writer.write)
    first = True
    if early.dispatcher is not None or early.idle:  # as after any first batch
        first = False
        _warm_up(settings)
        dispatcher.start_background()
    try:
        while True:
            items = [await inbox.get()]
            while not inbox.empty():
                items.append(inbox.get_nowait())
            for _ in items:
                slots.release()
            messages: list[Any] = []
            done = False
            for item, _ in items:
                if item is _EOF:
                    done = True
                elif isinstance(item, TuckawayError):
                    if messages:
                        dispatcher.handle_many(messages)
                        messages = []
                    dispatcher.reject(item)
                else:
                    messages.append(item)
            if messages:
                dispatcher.handle_many(messages)
            budget.give(sum(size for _, size in items))
            if first:
                first = False
                _warm_up(settings)
                dispatcher.start_background()
            if done:
                break
        grace = min(EOF_GRACE_S, settings.request_timeout_s + 1)
        await dispatcher.finish(grace)
    finally:
        await ctx.aclose()


def _readable_within(stream: BinaryIO, seconds: float) -> bool:
    """Whether a frame starts within ``seconds`` (always True where pipes cannot be polled).

    A message that comes at once is answered exactly as before: the cold start
    does not wait for this.
    """
    if os.name != "posix":
        return True
    import select

    try:
        ready, _, _ = select.select([stream.fileno()], [], [], seconds)
    except (OSError, ValueError):
        return True
    return bool(ready)


def _read_frames(
    stream: BinaryIO,
    loop: asyncio.AbstractEventLoop,
    inbox: asyncio.Queue[Any],
    slots: threading.Semaphore,
    budget: ByteBudget,
) -> None:
    held = [0]  # bytes reserved for the frame being read

    def reserve(size: int) -> None:
        budget.take(size)  # over the byte budget: stop reading until the loop catches up
        held[0] = size

    def put(item: Any, size: int) -> None:
        slots.acquire()  # the loop is INBOX_MAX items behind: stop reading until it catches up
        loop.call_soon_threadsafe(inbox.put_nowait, (item, size))

    frames = FrameReader(stream, MAX_ARTICLE_FRAME, reserve)
    while True:
        held[0] = 0
        item, ended = _next_item(frames)
        if item is not _NOTHING:
            put(item, held[0])
        else:
            budget.give(held[0])
        if ended:
            break
    put(_EOF, 0)


def _next_item(frames: FrameReader) -> tuple[Any, bool]:
    """The next frame as an inbox item (message, error or ``_NOTHING``); has the stream ended?"""
    try:
        body = frames.read()
    except FrameTooLarge as exc:
        return MessageTooLarge(f"{exc}; the host keeps serving"), False
    except TruncatedFrame as exc:
        return InvalidMessage(f"incomplete frame: {exc}"), True
    except (OSError, ValueError) as exc:
        log.warning("stdin closed: %s", exc)
        return _NOTHING, True
    if body is None:
        return _NOTHING, True
    message = _decode(body)
    if not within_limit(message, len(body)):
        return (
            MessageTooLarge(
                f"message of {len(body)} bytes is over the {MAX_REQUEST}-byte limit (only a "
                "save carrying the page's article may be larger); the host keeps serving"
            ),
            False,
        )
    return message, False


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        return InvalidMessage("a message must be UTF-8 JSON; this one is not valid UTF-8")
    except (ValueError, RecursionError) as exc:
        return InvalidMessage(f"a message must be a JSON object; this one is not JSON ({exc})")


def _warm_up(settings: Settings) -> None:
    """After the first reply: open the log file; on a thread, load the validation models
    and heal the browser registrations (a few stats: see browsers/heal.py)."""
    open_deferred()

    def load() -> None:
        try:
            from tuckaway.wire.protocol import parse_request  # pydantic, on this thread

            parse_request({"id": 0, "op": "lookup", "url": "https://warm.up/"})
        except Exception:
            # Best effort: the first real request loads the models again and reports
            # what is wrong to its caller; the log keeps the cause.
            log.exception("warming up the validation models failed")
        _heal(settings)

    threading.Thread(target=load, name="warm-up", daemon=True).start()


def _heal(settings: Settings) -> None:
    program = sys.executable if getattr(sys, "frozen", False) else sys.argv[0]
    if not os.path.basename(program).startswith("tuckaway-host"):
        return  # started as `python -m`: no program of ours to name, nothing to import
    from tuckaway.browsers.heal import heal, running_host  # after the first reply, on a thread

    host = running_host()
    if host is None:
        return
    try:
        for entry in heal(settings.paths.state_dir, host):
            log.info("healed %s: it now names %s", entry.manifest, host)
    except Exception:
        log.exception("healing the browser registrations failed")


if __name__ == "__main__":
    sys.exit(main())
