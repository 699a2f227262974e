"""``tuckaway serve``: the local list published as a Pocket-v3-compatible API.

May import the core modules (db, store, errors); never the host's wire or delivery.
"""
