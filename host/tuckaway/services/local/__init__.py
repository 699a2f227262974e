"""The embedded local list (the default, no account): writes applied to the store."""
