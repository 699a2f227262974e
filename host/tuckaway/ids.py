"""Fixed identities shared by the extension, the host manifests and the allow-list.

The Chrome-family id follows from the public ``key`` in extension/manifest.json
(sha256 of the DER key, first 32 hex digits mapped to a-p), so it is the same
on every machine; tests check that the two agree.
"""

from __future__ import annotations

CHROME_EXTENSION_ID = "ehnjllfnmbgocicjogdjgcoejnpjmlaj"
GECKO_EXTENSION_ID = "tuckaway@tuckaway.org"
CHROME_ORIGIN = f"chrome-extension://{CHROME_EXTENSION_ID}/"
