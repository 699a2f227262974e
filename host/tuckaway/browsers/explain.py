"""``doctor --explain TEXT``: what a browser's native-messaging error means, and the fix.

The texts are the ones Chrome (and every Chromium-family browser) and
Firefox give the extension or print in their consoles; matching is on a
distinctive part, case-insensitive, so a pasted line with more around it works.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuckaway import HOST_NAME


@dataclass(frozen=True, kw_only=True)
class Explanation:
    says: str  # the part of the browser's text we match
    browser: str
    cause: str
    fix: str

    def to_json(self) -> dict[str, str]:
        return {"says": self.says, "browser": self.browser, "cause": self.cause, "fix": self.fix}


EXPLANATIONS: tuple[Explanation, ...] = (
    Explanation(
        says="Specified native messaging host not found",
        browser="Chrome family",
        cause="The browser found no org.tuckaway.host manifest in the places it reads (or, on "
        "Windows, no registry key naming one); a browser that keeps its profile elsewhere "
        "(--user-data-dir, a Flatpak, a fork) reads other places than Chrome.",
        fix="tuckaway install --all (or --browser NAME; --user-data-dir DIR for a custom "
        "profile), restart the browser, then tuckaway doctor",
    ),
    Explanation(
        says="Access to the specified native messaging host is forbidden",
        browser="Chrome family",
        cause="The manifest's allowed_origins does not list this extension's id "
        "(an unpacked or self-built extension has another id than the store one).",
        fix="add the id to allowed_extensions in config.toml, then tuckaway install --all",
    ),
    Explanation(
        says="Native host has exited",
        browser="Chrome family",
        cause="The host started and stopped before answering: the program in the manifest "
        "fails at start (a removed venv, a moved bundle, a broken Python).",
        fix="tuckaway doctor (starts it the way the browser does and shows why), "
        "or tuckaway install --all to point the manifest at a working host",
    ),
    Explanation(
        says="Failed to start native messaging host",
        browser="Chrome family",
        cause="The manifest's path does not exist, is not executable, or its #! "
        "interpreter is gone.",
        fix="tuckaway install --all (any tuckaway command also heals a moved host)",
    ),
    Explanation(
        says="Error when communicating with the native messaging host",
        browser="Chrome family",
        cause="The host wrote something that is not a native-messaging frame on stdout, "
        "or exited while the browser was writing to it.",
        fix="tuckaway doctor; the host's log (tuckaway status shows where) has the cause",
    ),
    Explanation(
        says="Invalid native messaging host name specified",
        browser="Chrome family",
        cause=f"The extension asked for a host name other than {HOST_NAME}: a build mistake.",
        fix="reinstall the extension from a release",
    ),
    Explanation(
        says="No such native application",
        browser="Firefox family",
        cause="Firefox found no manifest for org.tuckaway.host where it reads (~/.mozilla/"
        "native-messaging-hosts on Linux, even for forks and for profiles under ~/.config/"
        "mozilla; the registry on Windows), or the manifest's allowed_extensions does not "
        "list this add-on's id (Firefox says 'not found' for both).",
        fix="tuckaway install --all, then tuckaway doctor; for a self-built add-on add its id "
        "to allowed_extensions in config.toml first",
    ),
    Explanation(
        says="An unexpected error occurred",
        browser="Firefox family",
        cause="The host could not be started or exited at once (the browser console says "
        "which: 'does not exist, or is not executable', or an exit status).",
        fix="tuckaway doctor, or tuckaway install --all to point the manifest at a working host",
    ),
    Explanation(
        says="does not exist, or is not executable",
        browser="Firefox family",
        cause="The manifest's path names a program that is gone or not executable.",
        fix="tuckaway install --all (any tuckaway command also heals a moved host)",
    ),
    Explanation(
        says="Attempt to postMessage on disconnected port",
        browser="Firefox family",
        cause="The host exited (or was never started) while the extension still used it.",
        fix="tuckaway doctor; the host's log (tuckaway status shows where) has the cause",
    ),
    Explanation(
        says="exceeds the limit of 1048576 bytes",
        browser="Firefox family",
        cause="A message over the 1 MiB native-messaging limit.",
        fix="report it: the host keeps its replies under the limit",
    ),
    Explanation(
        says="flatpak-spawn",
        browser="Flatpak",
        cause="The sandboxed browser may not start programs outside its sandbox.",
        fix="flatpak override --user --talk-name=org.freedesktop.Flatpak APP_ID, "
        "restart the browser",
    ),
)


def explain(text: str) -> list[Explanation]:
    """Every explanation whose browser text appears in ``text``."""
    folded = text.casefold()
    return [e for e in EXPLANATIONS if e.says.casefold() in folded]
