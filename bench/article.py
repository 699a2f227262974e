"""Kept-page row (issue 14): a save carrying a 1 MB article vs a plain save.

Both on one warm port of the real host, into the local store, in turns so the
machine's load falls on both alike. The ratio is what keeping the page costs a
click: the larger frame, its validation, compression and the one write of the
copy (never into the outbox).
"""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING, Any

from bench.client import TUCKAWAY_HOST, frame

if TYPE_CHECKING:
    from bench.run import Config, Row

#: one paragraph of a page, with the accents and markup a real article carries
PARAGRAPH = (
    "<p>Le café du coin, où l'on lit <em>tranquillement</em> un article qu'on a "
    "gardé pour plus tard &mdash; sans réseau, sans serveur.</p>\n"
)


def page(size: int) -> tuple[str, str]:
    """An article's html of about ``size`` bytes, and its text."""
    html = PARAGRAPH * (size // len(PARAGRAPH.encode()))
    text = html.replace("<p>", "").replace("</p>", "").replace("<em>", "").replace("</em>", "")
    return html, text


def article_rows(cfg: Config) -> list[Row]:
    from bench.run import Row, ms, percentile, warm_port

    count = 5 if cfg.quick else 40
    html, text = page(1_000_000)
    port = warm_port(TUCKAWAY_HOST, cfg, "article")
    times: dict[str, list[float]] = {"plain": [], "kept": []}
    try:
        for i in range(count):
            for kind in times:
                request: dict[str, Any] = {
                    "id": f"{kind}-{i}",
                    "op": "save",
                    "url": f"https://example.com/article/{kind}/{i}",
                    "title": f"Article {i}",
                }
                if kind == "kept":
                    request["article"] = {"html": html, "text": text, "title": f"Article {i}"}
                data = frame(request)
                start = time.perf_counter()
                port.send_raw(data)
                reply = port.final(request["id"])
                times[kind].append(time.perf_counter() - start)
                if not reply.get("ok"):
                    raise RuntimeError(f"save failed: {reply}")
    finally:
        port.close()
    kept, plain = statistics.median(times["kept"]), statistics.median(times["plain"])
    return [
        Row("article_save_p50", "save round trip p50 with a 1 MB article", "ms", ms(kept),
            ms(plain), "plain save", "",
            f"{count} of each, in turns; p99 {ms(percentile(times['kept'], 99)):.1f} ms; "
            "the article is kept compressed, outside the outbox"),
    ]
