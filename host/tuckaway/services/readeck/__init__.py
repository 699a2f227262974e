"""A Readeck server: the client, the backend (one PATCH per bookmark per batch), sync."""
