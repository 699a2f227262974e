"""Browsers: where each reads native-messaging manifests, install, doctor, the registry.

May import the core modules only; the CLI prints what these functions return.
"""
