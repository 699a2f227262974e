"""A page's url: its identity (one normal form) and what is never kept (a password).

``url_key`` is what makes two spellings one item: scheme and host in lower
case, an IDN host in punycode, the default port dropped, an empty path made
``/``, user name and password left out. The url as given (less its user info)
is what is stored and shown. Plain string work on the text the validator
already checked (http or https, a host, no spaces): nothing is re-quoted.
"""

from __future__ import annotations

DEFAULT_PORTS = {"http": "80", "https": "443"}


def _split(url: str) -> tuple[str, str, str, str] | None:
    """``(scheme, userinfo, hostport, rest)``; None when ``url`` has no ``scheme://``."""
    scheme, sep, after = url.partition("://")
    if not sep:
        return None
    end = min((i for i in (after.find(c) for c in "/?#") if i >= 0), default=len(after))
    authority, rest = after[:end], after[end:]
    userinfo, at, hostport = authority.rpartition("@")
    return scheme, userinfo + at, hostport, rest


def strip_userinfo(url: str) -> str:
    """``url`` without ``user:password@`` (never stored, never sent to a service)."""
    parts = _split(url)
    if parts is None or not parts[1]:
        return url
    scheme, _, hostport, rest = parts
    return f"{scheme}://{hostport}{rest}"


def has_userinfo(url: str) -> bool:
    parts = _split(url)
    return parts is not None and bool(parts[1])


def _host_key(host: str) -> str:
    if host.startswith("["):  # an IPv6 literal
        return host.lower()
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:  # not a name the IDNA codec takes (a label over 63 characters)
        return host.lower()


def url_key(url: str) -> str:
    """The one form of ``url`` that identifies its item (see the module docstring)."""
    parts = _split(url.strip())
    if parts is None:
        return url
    scheme, _, hostport, rest = parts
    scheme = scheme.lower()
    host, port = hostport, ""
    bracket = hostport.rfind("]")
    colon = hostport.rfind(":")
    if colon > bracket:
        host, port = hostport[:colon], hostport[colon + 1 :]
    if port in {"", DEFAULT_PORTS.get(scheme)}:
        port = ""
    host = host if host.isascii() and host == host.lower() else _host_key(host)
    path = rest if rest.startswith("/") else "/" + rest
    return f"{scheme}://{host}{':' + port if port else ''}{path}"


def url_key_or_none(url: object) -> str | None:
    """``url_key`` for SQL (``tuckaway_url_key``): NULL stays NULL."""
    return None if url is None else url_key(str(url))
