"""Browsers: where each reads native-messaging manifests; install, doctor, self-healing.

``table`` (the browser table, plain data) -> ``locations`` (the one list of
places per platform and browser) -> ``install``/``doctor``; ``manifest``,
``launchers``, ``sandbox`` (Flatpak), ``record`` (what install wrote),
``registry`` (Windows), ``platform`` (OS, home, root). May import the core
modules only; ``cli/browsers.py`` prints what these functions return.
"""
