"""Adapters: what talks to the world, around the pure core in ``firmaio.fsm``.

``client`` (the issuer API over httpx), ``store`` (SQLite and PostgreSQL behind the core's store
ports), ``runner`` and ``batching`` (batch runs), ``cli`` (the ``firmaio`` command) and, with the
``[sandbox]`` extra, ``sandbox`` (a local issuer API). The core never imports any of them.
"""
