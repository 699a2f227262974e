"""The one HTML page template: ``tuckaway serve``'s approval pages and the sign-in tabs.

A page is a title and a body of already-escaped HTML in one small card. No
scripts, no outside resources: :data:`PAGE_HEADERS` forbid both, and framing.
Plain strings only, so importing this costs nothing on the host's start-up path.
"""

from __future__ import annotations

import html

_STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; background: #f4f1ea; color: #222;
       margin: 0; display: flex; min-height: 100vh; align-items: center;
       justify-content: center; }
main { background: #fff; border-radius: 12px; box-shadow: 0 2px 14px #0002;
       padding: 2rem 2.5rem; max-width: 28rem; }
h1 { font-size: 1.3rem; margin: 0 0 .75rem; }
p { margin: .5rem 0; color: #444; }
.buttons { display: flex; gap: .75rem; margin-top: 1.5rem; }
button { font: inherit; padding: .55rem 1.4rem; border-radius: 8px; cursor: pointer;
         border: 1px solid #bbb; background: #fff; }
button.approve { background: #1a7f64; border-color: #1a7f64; color: #fff; }
small { color: #777; }
"""

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Tuckaway</title><style>{style}</style></head>
<body><main>{body}</main></body></html>
"""

#: the headers every page goes out with
PAGE_HEADERS: dict[str, str] = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'",
}


def render(title: str, body: str) -> str:
    """The page titled ``title`` (plain text) around ``body`` (HTML, escaped by the caller)."""
    return _PAGE.format(title=html.escape(title), style=_STYLE, body=body)


def message(title: str, text: str) -> str:
    """A page saying one thing: a heading and a paragraph, both plain text."""
    return render(title, f"<h1>{html.escape(title)}</h1>\n<p>{html.escape(text)}</p>")


__all__ = ["PAGE_HEADERS", "message", "render"]
