"""A Pocket-compatible server: the v3 client, the backend, ``/v3/send`` actions, sync."""
