"""Delivery of writes: the durable outbox and the batcher that owns it.

``outbox`` is the SQLite queue (leases, attempts, outcomes); ``batcher`` is the
single owner of writes: ``enqueue`` records them and wakes the worker,
``release_held`` lets held writes go after a sign-in, and its worker claims due
rows, coalesces them and hands them to a service backend. May import the core
modules and ``tuckaway.services.base``.
"""
