"""Adapters: the issuer-API client, the sandbox, the simulated issuer and the CLI.

This is where concrete I/O lives; the pure core in ``fsm`` never imports it.
"""
