"""The services a reading list can live in, one subpackage each.

``base`` holds the ``Backend`` protocol and the outcomes a delivery returns;
``local`` is the embedded list, ``pocket`` a Pocket-compatible server,
``mastodon`` bookmarks on the user's server; ``ratelimit`` reads the rate-limit
headers every service sends. A service may import the core modules,
``services.base`` and ``accounts.credentials``; nothing outside ``context``
imports a service's backend by name.
"""
