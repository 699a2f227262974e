"""A wallabag server (API v2): the client with token renewal, the coalescing backend, sync."""
