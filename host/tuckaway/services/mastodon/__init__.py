"""Mastodon bookmarks on the user's server: client, backend, bookmarks import."""
