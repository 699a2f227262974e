"""Accounts: sign-in flows, tokens in the OS keyring, the OAuth loopback listener.

``credentials`` is the only module that touches ``keyring``; ``oauth`` the only
one that listens for a redirect; ``signin`` runs the flows. May import the core
modules.
"""
