"""The browser table: where each browser reads native-messaging manifests, per OS.

Plain data. Paths are templates for :meth:`Platform.expand` (``{config}``,
``{appsupport}``, ``{local}``...; a leading ``/`` is a system path). ``user``
and ``system`` list every manifest directory the browser reads, its own
first; ``keys`` are the Windows registry keys it reads (under HKCU and HKLM),
its own first. A browser counts as present when one of its ``profile``
directories or ``programs`` exists (a bare program name is looked up on PATH
and the usual bin directories). Sources of the less obvious rows are noted.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuckaway.browsers.platform import Family, OSName
from tuckaway.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class Places:
    """Where one browser keeps things on one OS."""

    user: tuple[str, ...] = ()
    system: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    profile: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Flatpak:
    app_id: str
    manifest_dir: str  # inside ~/.var/app/<app_id>/, as the sandboxed browser sees its home


@dataclass(frozen=True, kw_only=True)
class Browser:
    key: str
    label: str
    family: Family
    linux: Places = Places()
    darwin: Places = Places()
    windows: Places = Places()
    flatpak: Flatpak | None = None
    snap: str | None = None

    def on(self, os: OSName) -> Places:
        return {"linux": self.linux, "darwin": self.darwin, "windows": self.windows}[os]


CHROME_KEY = r"Software\Google\Chrome\NativeMessagingHosts"
MOZILLA_KEY = r"Software\Mozilla\NativeMessagingHosts"
CHROME_SYSTEM_LINUX = "/etc/opt/chrome/native-messaging-hosts"
CHROME_SYSTEM_MAC = "/Library/Google/Chrome/NativeMessagingHosts"
# Firefox and every fork read ~/.mozilla, even once profiles move to ~/.config/mozilla (147).
MOZILLA_USER_LINUX = "{home}/.mozilla/native-messaging-hosts"
MOZILLA_USER_MAC = "{appsupport}/Mozilla/NativeMessagingHosts"
MOZILLA_SYSTEM_LINUX = (
    "/usr/lib/mozilla/native-messaging-hosts",
    "/usr/lib64/mozilla/native-messaging-hosts",
)
MOZILLA_SYSTEM_MAC = "/Library/Application Support/Mozilla/NativeMessagingHosts"

BROWSERS: tuple[Browser, ...] = (
    Browser(
        key="chrome",
        label="Google Chrome",
        family="chrome",
        linux=Places(
            user=("{config}/google-chrome/NativeMessagingHosts",),
            system=(CHROME_SYSTEM_LINUX,),
            profile=("{config}/google-chrome",),
            programs=("google-chrome", "google-chrome-stable", "/opt/google/chrome/chrome"),
        ),
        darwin=Places(
            user=("{appsupport}/Google/Chrome/NativeMessagingHosts",),
            system=(CHROME_SYSTEM_MAC,),
            profile=("{appsupport}/Google/Chrome",),
            programs=("/Applications/Google Chrome.app",),
        ),
        windows=Places(
            keys=(CHROME_KEY,),
            profile=("{local}/Google/Chrome/User Data",),
            programs=("{programfiles}/Google/Chrome/Application/chrome.exe",),
        ),
        flatpak=Flatpak(
            app_id="com.google.Chrome", manifest_dir="config/google-chrome/NativeMessagingHosts"
        ),
    ),
    Browser(
        key="chrome-beta",
        label="Google Chrome Beta",
        family="chrome",
        linux=Places(
            user=("{config}/google-chrome-beta/NativeMessagingHosts",),
            system=(CHROME_SYSTEM_LINUX,),
            profile=("{config}/google-chrome-beta",),
            programs=("google-chrome-beta", "/opt/google/chrome-beta/chrome"),
        ),
        darwin=Places(
            user=("{appsupport}/Google/Chrome Beta/NativeMessagingHosts",),
            system=(CHROME_SYSTEM_MAC,),
            profile=("{appsupport}/Google/Chrome Beta",),
            programs=("/Applications/Google Chrome Beta.app",),
        ),
        windows=Places(
            keys=(CHROME_KEY,),
            profile=("{local}/Google/Chrome Beta/User Data",),
            programs=("{programfiles}/Google/Chrome Beta/Application/chrome.exe",),
        ),
    ),
    Browser(
        key="chrome-dev",
        label="Google Chrome Dev",
        family="chrome",
        linux=Places(
            user=("{config}/google-chrome-unstable/NativeMessagingHosts",),
            system=(CHROME_SYSTEM_LINUX,),
            profile=("{config}/google-chrome-unstable",),
            programs=("google-chrome-unstable", "/opt/google/chrome-unstable/chrome"),
        ),
        darwin=Places(
            user=("{appsupport}/Google/Chrome Dev/NativeMessagingHosts",),
            system=(CHROME_SYSTEM_MAC,),
            profile=("{appsupport}/Google/Chrome Dev",),
            programs=("/Applications/Google Chrome Dev.app",),
        ),
        windows=Places(
            keys=(CHROME_KEY,),
            profile=("{local}/Google/Chrome Dev/User Data",),
            programs=("{programfiles}/Google/Chrome Dev/Application/chrome.exe",),
        ),
        flatpak=Flatpak(
            app_id="com.google.ChromeDev",
            manifest_dir="config/google-chrome-unstable/NativeMessagingHosts",
        ),
    ),
    Browser(
        key="chrome-canary",
        label="Google Chrome Canary",
        family="chrome",
        linux=Places(
            user=("{config}/google-chrome-canary/NativeMessagingHosts",),
            system=(CHROME_SYSTEM_LINUX,),
            profile=("{config}/google-chrome-canary",),
            programs=("google-chrome-canary", "/opt/google/chrome-canary/chrome"),
        ),
        darwin=Places(
            user=("{appsupport}/Google/Chrome Canary/NativeMessagingHosts",),
            system=(CHROME_SYSTEM_MAC,),
            profile=("{appsupport}/Google/Chrome Canary",),
            programs=("/Applications/Google Chrome Canary.app",),
        ),
        windows=Places(
            keys=(CHROME_KEY,),
            profile=("{local}/Google/Chrome SxS/User Data",),
            programs=("{local}/Google/Chrome SxS/Application/chrome.exe",),
        ),
    ),
    Browser(
        key="chromium",
        label="Chromium",
        family="chrome",
        linux=Places(
            user=("{config}/chromium/NativeMessagingHosts",),
            system=("/etc/chromium/native-messaging-hosts",),
            profile=("{config}/chromium",),
            programs=("chromium", "chromium-browser"),
        ),
        darwin=Places(
            user=("{appsupport}/Chromium/NativeMessagingHosts",),
            system=("/Library/Application Support/Chromium/NativeMessagingHosts",),
            profile=("{appsupport}/Chromium",),
            programs=("/Applications/Chromium.app",),
        ),
        windows=Places(
            keys=(r"Software\Chromium\NativeMessagingHosts",),
            profile=("{local}/Chromium/User Data",),
            programs=("{local}/Chromium/Application/chrome.exe",),
        ),
        flatpak=Flatpak(
            app_id="org.chromium.Chromium", manifest_dir="config/chromium/NativeMessagingHosts"
        ),
        snap="chromium",
    ),
    Browser(
        key="edge",
        label="Microsoft Edge",
        family="chrome",
        linux=Places(
            user=("{config}/microsoft-edge/NativeMessagingHosts",),
            system=("/etc/opt/edge/native-messaging-hosts",),
            profile=("{config}/microsoft-edge",),
            programs=("microsoft-edge", "microsoft-edge-stable", "/opt/microsoft/msedge/msedge"),
        ),
        darwin=Places(
            user=("{appsupport}/Microsoft Edge/NativeMessagingHosts",),
            system=("/Library/Microsoft/Edge/NativeMessagingHosts",),
            profile=("{appsupport}/Microsoft Edge",),
            programs=("/Applications/Microsoft Edge.app",),
        ),
        windows=Places(
            keys=(r"Software\Microsoft\Edge\NativeMessagingHosts",),
            profile=("{local}/Microsoft/Edge/User Data",),
            programs=("{programfiles}/Microsoft/Edge/Application/msedge.exe",),
        ),
        flatpak=Flatpak(
            app_id="com.microsoft.Edge", manifest_dir="config/microsoft-edge/NativeMessagingHosts"
        ),
    ),
    Browser(
        key="edge-beta",
        label="Microsoft Edge Beta",
        family="chrome",
        linux=Places(
            user=("{config}/microsoft-edge-beta/NativeMessagingHosts",),
            system=("/etc/opt/edge/native-messaging-hosts",),
            profile=("{config}/microsoft-edge-beta",),
            programs=("microsoft-edge-beta", "/opt/microsoft/msedge-beta/msedge"),
        ),
        darwin=Places(
            user=("{appsupport}/Microsoft Edge Beta/NativeMessagingHosts",),
            system=("/Library/Microsoft/Edge/NativeMessagingHosts",),
            profile=("{appsupport}/Microsoft Edge Beta",),
            programs=("/Applications/Microsoft Edge Beta.app",),
        ),
        windows=Places(
            keys=(r"Software\Microsoft\Edge\NativeMessagingHosts",),
            profile=("{local}/Microsoft/Edge Beta/User Data",),
            programs=("{programfiles}/Microsoft/Edge Beta/Application/msedge.exe",),
        ),
    ),
    Browser(
        key="edge-dev",
        label="Microsoft Edge Dev",
        family="chrome",
        linux=Places(
            user=("{config}/microsoft-edge-dev/NativeMessagingHosts",),
            system=("/etc/opt/edge/native-messaging-hosts",),
            profile=("{config}/microsoft-edge-dev",),
            programs=("microsoft-edge-dev", "/opt/microsoft/msedge-dev/msedge"),
        ),
        darwin=Places(
            user=("{appsupport}/Microsoft Edge Dev/NativeMessagingHosts",),
            system=("/Library/Microsoft/Edge/NativeMessagingHosts",),
            profile=("{appsupport}/Microsoft Edge Dev",),
            programs=("/Applications/Microsoft Edge Dev.app",),
        ),
        windows=Places(
            keys=(r"Software\Microsoft\Edge\NativeMessagingHosts",),
            profile=("{local}/Microsoft/Edge Dev/User Data",),
            programs=("{programfiles}/Microsoft/Edge Dev/Application/msedge.exe",),
        ),
    ),
    Browser(
        key="brave",
        label="Brave",
        family="chrome",
        linux=Places(
            user=("{config}/BraveSoftware/Brave-Browser/NativeMessagingHosts",),
            profile=("{config}/BraveSoftware/Brave-Browser",),
            programs=("brave-browser", "brave", "/opt/brave.com/brave/brave"),
        ),
        # Brave on macOS also reads Chrome's directory (brave/brave-browser#5272).
        darwin=Places(
            user=(
                "{appsupport}/BraveSoftware/Brave-Browser/NativeMessagingHosts",
                "{appsupport}/Google/Chrome/NativeMessagingHosts",
            ),
            profile=("{appsupport}/BraveSoftware/Brave-Browser",),
            programs=("/Applications/Brave Browser.app",),
        ),
        windows=Places(
            keys=(r"Software\BraveSoftware\Brave-Browser\NativeMessagingHosts", CHROME_KEY),
            profile=("{local}/BraveSoftware/Brave-Browser/User Data",),
            programs=("{programfiles}/BraveSoftware/Brave-Browser/Application/brave.exe",),
        ),
        flatpak=Flatpak(
            app_id="com.brave.Browser",
            manifest_dir="config/BraveSoftware/Brave-Browser/NativeMessagingHosts",
        ),
        snap="brave",
    ),
    Browser(
        key="brave-beta",
        label="Brave Beta",
        family="chrome",
        linux=Places(
            user=("{config}/BraveSoftware/Brave-Browser-Beta/NativeMessagingHosts",),
            profile=("{config}/BraveSoftware/Brave-Browser-Beta",),
            programs=("brave-browser-beta", "/opt/brave.com/brave-beta/brave"),
        ),
        darwin=Places(
            user=(
                "{appsupport}/BraveSoftware/Brave-Browser-Beta/NativeMessagingHosts",
                "{appsupport}/Google/Chrome/NativeMessagingHosts",
            ),
            profile=("{appsupport}/BraveSoftware/Brave-Browser-Beta",),
            programs=("/Applications/Brave Browser Beta.app",),
        ),
        windows=Places(
            keys=(r"Software\BraveSoftware\Brave-Browser-Beta\NativeMessagingHosts", CHROME_KEY),
            profile=("{local}/BraveSoftware/Brave-Browser-Beta/User Data",),
            programs=("{programfiles}/BraveSoftware/Brave-Browser-Beta/Application/brave.exe",),
        ),
    ),
    Browser(
        key="brave-nightly",
        label="Brave Nightly",
        family="chrome",
        linux=Places(
            user=("{config}/BraveSoftware/Brave-Browser-Nightly/NativeMessagingHosts",),
            profile=("{config}/BraveSoftware/Brave-Browser-Nightly",),
            programs=("brave-browser-nightly", "/opt/brave.com/brave-nightly/brave"),
        ),
        darwin=Places(
            user=(
                "{appsupport}/BraveSoftware/Brave-Browser-Nightly/NativeMessagingHosts",
                "{appsupport}/Google/Chrome/NativeMessagingHosts",
            ),
            profile=("{appsupport}/BraveSoftware/Brave-Browser-Nightly",),
            programs=("/Applications/Brave Browser Nightly.app",),
        ),
        windows=Places(
            keys=(r"Software\BraveSoftware\Brave-Browser-Nightly\NativeMessagingHosts", CHROME_KEY),
            profile=("{local}/BraveSoftware/Brave-Browser-Nightly/User Data",),
            programs=("{programfiles}/BraveSoftware/Brave-Browser-Nightly/Application/brave.exe",),
        ),
    ),
    # Vivaldi and Opera on Windows read Chrome's registry key (KeePassXC's installer does the same).
    Browser(
        key="vivaldi",
        label="Vivaldi",
        family="chrome",
        linux=Places(
            user=("{config}/vivaldi/NativeMessagingHosts",),
            profile=("{config}/vivaldi",),
            programs=("vivaldi", "vivaldi-stable", "/opt/vivaldi/vivaldi"),
        ),
        darwin=Places(
            user=("{appsupport}/Vivaldi/NativeMessagingHosts",),
            profile=("{appsupport}/Vivaldi",),
            programs=("/Applications/Vivaldi.app",),
        ),
        windows=Places(
            keys=(r"Software\Vivaldi\NativeMessagingHosts", CHROME_KEY),
            profile=("{local}/Vivaldi/User Data",),
            programs=("{local}/Vivaldi/Application/vivaldi.exe",),
        ),
        flatpak=Flatpak(
            app_id="com.vivaldi.Vivaldi", manifest_dir="config/vivaldi/NativeMessagingHosts"
        ),
    ),
    Browser(
        key="vivaldi-snapshot",
        label="Vivaldi Snapshot",
        family="chrome",
        linux=Places(
            user=("{config}/vivaldi-snapshot/NativeMessagingHosts",),
            profile=("{config}/vivaldi-snapshot",),
            programs=("vivaldi-snapshot", "/opt/vivaldi-snapshot/vivaldi"),
        ),
        darwin=Places(
            user=("{appsupport}/Vivaldi Snapshot/NativeMessagingHosts",),
            profile=("{appsupport}/Vivaldi Snapshot",),
            programs=("/Applications/Vivaldi Snapshot.app",),
        ),
        windows=Places(
            keys=(r"Software\Vivaldi\NativeMessagingHosts", CHROME_KEY),
            profile=("{local}/Vivaldi Snapshot/User Data",),
            programs=("{local}/Vivaldi Snapshot/Application/vivaldi.exe",),
        ),
    ),
    Browser(
        key="opera",
        label="Opera",
        family="chrome",
        linux=Places(
            user=("{config}/opera/NativeMessagingHosts",),
            profile=("{config}/opera",),
            programs=("opera", "/usr/lib/x86_64-linux-gnu/opera/opera"),
        ),
        darwin=Places(
            user=("{appsupport}/com.operasoftware.Opera/NativeMessagingHosts",),
            profile=("{appsupport}/com.operasoftware.Opera",),
            programs=("/Applications/Opera.app",),
        ),
        windows=Places(
            keys=(CHROME_KEY,),
            profile=("{roaming}/Opera Software/Opera Stable",),
            programs=("{local}/Programs/Opera/opera.exe",),
        ),
        flatpak=Flatpak(app_id="com.opera.Opera", manifest_dir="config/opera/NativeMessagingHosts"),
        snap="opera",
    ),
    Browser(
        key="arc",
        label="Arc",
        family="chrome",
        darwin=Places(
            user=("{appsupport}/Arc/User Data/NativeMessagingHosts",),
            profile=("{appsupport}/Arc/User Data",),
            programs=("/Applications/Arc.app",),
        ),
    ),
    Browser(
        key="thorium",
        label="Thorium",
        family="chrome",
        linux=Places(
            user=("{config}/thorium/NativeMessagingHosts",),
            profile=("{config}/thorium",),
            programs=("thorium-browser", "/opt/chromium.org/thorium/thorium"),
        ),
        darwin=Places(
            user=("{appsupport}/Thorium/NativeMessagingHosts",),
            profile=("{appsupport}/Thorium",),
            programs=("/Applications/Thorium.app",),
        ),
        windows=Places(
            keys=(
                r"Software\Thorium\NativeMessagingHosts",
                r"Software\Chromium\NativeMessagingHosts",
            ),
            profile=("{local}/Thorium/User Data",),
            programs=("{local}/Thorium/Application/thorium.exe",),
        ),
    ),
    Browser(
        key="firefox",
        label="Firefox",
        family="firefox",
        linux=Places(
            user=(MOZILLA_USER_LINUX,),
            system=MOZILLA_SYSTEM_LINUX,
            profile=("{home}/.mozilla/firefox", "{config}/mozilla/firefox"),
            programs=("firefox", "firefox-esr", "/usr/lib/firefox/firefox", "/opt/firefox/firefox"),
        ),
        darwin=Places(
            user=(MOZILLA_USER_MAC,),
            system=(MOZILLA_SYSTEM_MAC,),
            profile=("{appsupport}/Firefox",),
            programs=("/Applications/Firefox.app",),
        ),
        windows=Places(
            keys=(MOZILLA_KEY,),
            profile=("{roaming}/Mozilla/Firefox",),
            programs=("{programfiles}/Mozilla Firefox/firefox.exe",),
        ),
        flatpak=Flatpak(
            app_id="org.mozilla.firefox", manifest_dir=".mozilla/native-messaging-hosts"
        ),
        snap="firefox",
    ),
    # Developer Edition and Nightly share Firefox's places; they are found by their programs.
    Browser(
        key="firefox-dev",
        label="Firefox Developer Edition",
        family="firefox",
        linux=Places(
            user=(MOZILLA_USER_LINUX,),
            system=MOZILLA_SYSTEM_LINUX,
            programs=("firefox-developer-edition", "/opt/firefox-dev/firefox"),
        ),
        darwin=Places(
            user=(MOZILLA_USER_MAC,),
            system=(MOZILLA_SYSTEM_MAC,),
            programs=("/Applications/Firefox Developer Edition.app",),
        ),
        windows=Places(
            keys=(MOZILLA_KEY,),
            programs=("{programfiles}/Firefox Developer Edition/firefox.exe",),
        ),
    ),
    Browser(
        key="firefox-nightly",
        label="Firefox Nightly",
        family="firefox",
        linux=Places(
            user=(MOZILLA_USER_LINUX,),
            system=MOZILLA_SYSTEM_LINUX,
            programs=("firefox-nightly", "/opt/firefox-nightly/firefox"),
        ),
        darwin=Places(
            user=(MOZILLA_USER_MAC,),
            system=(MOZILLA_SYSTEM_MAC,),
            programs=("/Applications/Firefox Nightly.app",),
        ),
        windows=Places(
            keys=(MOZILLA_KEY,),
            programs=("{programfiles}/Firefox Nightly/firefox.exe",),
        ),
    ),
    Browser(
        key="librewolf",
        label="LibreWolf",
        family="firefox",
        linux=Places(
            user=("{home}/.librewolf/native-messaging-hosts", MOZILLA_USER_LINUX),
            system=("/usr/lib/librewolf/native-messaging-hosts",),
            profile=("{home}/.librewolf/profiles.ini",),
            programs=("librewolf", "/usr/share/librewolf/librewolf"),
        ),
        darwin=Places(
            user=("{appsupport}/librewolf/NativeMessagingHosts", MOZILLA_USER_MAC),
            profile=("{appsupport}/librewolf/profiles.ini",),
            programs=("/Applications/LibreWolf.app",),
        ),
        windows=Places(
            keys=(r"Software\LibreWolf\NativeMessagingHosts", MOZILLA_KEY),
            profile=("{roaming}/librewolf",),
            programs=("{programfiles}/LibreWolf/librewolf.exe",),
        ),
        flatpak=Flatpak(
            app_id="io.gitlab.librewolf-community", manifest_dir=".librewolf/native-messaging-hosts"
        ),
    ),
    Browser(
        key="waterfox",
        label="Waterfox",
        family="firefox",
        linux=Places(
            user=("{home}/.waterfox/native-messaging-hosts", MOZILLA_USER_LINUX),
            profile=("{home}/.waterfox",),
            programs=("waterfox", "/opt/waterfox/waterfox"),
        ),
        darwin=Places(
            user=("{appsupport}/Waterfox/NativeMessagingHosts", MOZILLA_USER_MAC),
            profile=("{appsupport}/Waterfox",),
            programs=("/Applications/Waterfox.app",),
        ),
        windows=Places(
            keys=(r"Software\Waterfox\NativeMessagingHosts", MOZILLA_KEY),
            profile=("{roaming}/Waterfox",),
            programs=("{programfiles}/Waterfox/waterfox.exe",),
        ),
        flatpak=Flatpak(
            app_id="net.waterfox.waterfox", manifest_dir=".waterfox/native-messaging-hosts"
        ),
    ),
    Browser(
        key="floorp",
        label="Floorp",
        family="firefox",
        linux=Places(
            user=("{home}/.floorp/native-messaging-hosts", MOZILLA_USER_LINUX),
            profile=("{home}/.floorp",),
            programs=("floorp", "/opt/floorp/floorp"),
        ),
        darwin=Places(
            user=("{appsupport}/Floorp/NativeMessagingHosts", MOZILLA_USER_MAC),
            profile=("{appsupport}/Floorp",),
            programs=("/Applications/Floorp.app",),
        ),
        windows=Places(
            keys=(r"Software\Floorp\NativeMessagingHosts", MOZILLA_KEY),
            profile=("{roaming}/Floorp",),
            programs=("{programfiles}/Ablaze Floorp/floorp.exe",),
        ),
        flatpak=Flatpak(app_id="one.ablaze.floorp", manifest_dir=".floorp/native-messaging-hosts"),
    ),
    # Zen reads ~/.mozilla, not ~/.zen (zen-browser/desktop#10622).
    Browser(
        key="zen",
        label="Zen",
        family="firefox",
        linux=Places(
            user=(MOZILLA_USER_LINUX,),
            profile=("{home}/.zen",),
            programs=("zen", "zen-browser", "/opt/zen-browser-bin/zen-bin"),
        ),
        darwin=Places(
            user=(MOZILLA_USER_MAC,),
            profile=("{appsupport}/zen",),
            programs=("/Applications/Zen.app", "/Applications/Zen Browser.app"),
        ),
        windows=Places(
            keys=(MOZILLA_KEY,),
            profile=("{roaming}/zen",),
            programs=("{programfiles}/Zen Browser/zen.exe",),
        ),
        flatpak=Flatpak(
            app_id="app.zen_browser.zen", manifest_dir=".mozilla/native-messaging-hosts"
        ),
    ),
)
BY_KEY: dict[str, Browser] = {b.key: b for b in BROWSERS}


def browser(name: str) -> Browser:
    try:
        return BY_KEY[name.lower()]
    except KeyError:
        raise ConfigError(f"unknown browser {name!r}; known: {', '.join(BY_KEY)}") from None
