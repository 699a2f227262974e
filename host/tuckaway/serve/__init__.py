"""``tuckaway serve``: the local list published as a Pocket-v3-compatible API.

The same shapes, status codes and ``X-Error``/``X-Error-Code`` headers as
Pocket's v3 API, over the ``local`` namespace of the store, as strict as Pocket
was, so that what works against it works against Pocket. ``app`` wires the
routes; ``api`` holds the ``/v3`` list endpoints, ``auth`` the keys, tokens,
OAuth and approval pages, ``limits`` the Host check and rate limits,
``params`` the parameter readers, ``errors`` Pocket's error codes.

May import the core modules (db, store, errors,
pages); never the host's wire or delivery.
"""
