"""One pool of HTTP connections for every tenant's client of a process (a worker's).

Each tenant has its own :class:`~firmaio.adapters.client.IssuerClient` (its key, its window,
its ``max_connections`` bound on requests in flight), and each client had its own pool of
connections. A worker of 1,000 tenants then held a connection per tenant to the same API (3,000
for three workers, measured against the sandbox: about 3,000 established, and some 1,200
closed in a minute as each tenant's rested past the keep-alive and was opened again): a TCP
connection made, kept and closed per tenant, on the worker's CPU and the server's. Here the
clients share one pool: a connection is the API's, not a tenant's (the key is a header of each
request), so a call goes out on whichever connection is idle, and the connections follow the
calls in flight, not the tenants.

:meth:`SharedPool.for_client` gives each client a view of the pool that a client's ``aclose``
does not close (closing one tenant's client leaves the others' calls going); the pool's owner
closes the pool (:meth:`SharedPool.aclose`) after every client. Where the environment names a
proxy (``HTTPS_PROXY``, ``ALL_PROXY``...: an administration's way out), each client keeps a pool
of its own, which httpx routes through the proxy: a client given a transport ignores them.
"""

from __future__ import annotations

import urllib.request

import httpx

from .transport import KEEPALIVE_EXPIRY, tls_context

KEPT = 100
"""Idle connections the pool keeps for the next calls (it opens as many as the calls in flight
need: each client's ``max_connections`` and the worker's concurrency bound those)."""


class SharedPool:
    """One pool of connections, for many clients (see the module docstring)."""

    def __init__(self, kept: int = KEPT) -> None:
        self._pool = httpx.AsyncHTTPTransport(
            verify=tls_context(),
            limits=httpx.Limits(
                max_connections=None,  # no queue in httpcore's pool (quadratic, httpcore#1035)
                max_keepalive_connections=kept,
                keepalive_expiry=KEEPALIVE_EXPIRY,
            ),
        )

    def for_client(self) -> httpx.AsyncBaseTransport | None:
        """A client's way to the pool (its ``transport``): closing the client leaves it open.
        None (a pool of the client's own, through the proxy) where the environment names a
        proxy, as httpx reads it (the standard library's ``getproxies``)."""
        if urllib.request.getproxies():
            return None
        return _Borrowed(self._pool)

    async def aclose(self) -> None:
        """Close the pool's connections (once every client is done)."""
        await self._pool.aclose()


class _Borrowed(httpx.AsyncBaseTransport):
    def __init__(self, pool: httpx.AsyncHTTPTransport) -> None:
        self._pool = pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._pool.handle_async_request(request)

    async def aclose(self) -> None:
        """The pool is its owner's to close."""
