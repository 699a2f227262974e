"""The native-messaging wire: frames, the protocol models, dispatch, the host process.

``framing`` turns bytes into frames, ``protocol`` holds the pydantic models of
every request and reply (the one list of ops), ``dispatch`` routes a request to
its handler, and ``host`` is the ``tuckaway-host`` program the browser starts.
May import the core modules (errors, settings, db, store, context) and
``tuckaway.delivery``; never a service's client directly. Kept free of heavy
imports: the host's cold start goes through this package.
"""
