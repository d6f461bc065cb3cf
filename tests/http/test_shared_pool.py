"""A worker's tenants share one pool of HTTP connections to the API (not one pool per tenant):
calls of three tenants made one after the other go out on one connection, and closing one
tenant's client leaves the others' calls going (#27 target 11)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from firmaio.adapters.client import check_settings
from firmaio.adapters.clock import SystemClock
from firmaio.adapters.factory import Factory
from firmaio.adapters.queue import Runtime
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.settings import Settings
from firmaio.adapters.store import open_async_store
from firmaio.adapters.tenants import Tenant, Tenants
from firmaio.fsm.errors import ApiConfigurationError
from tests.tcp_proxy import TcpProxy


def _established(port: int) -> int:
    """This machine's open IPv4 TCP connections to ``port`` on the loopback (``/proc``)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "01" and int(fields[2].split(":")[1], 16) == port:
            count += 1
    return count


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc/net/tcp")
def test_tenants_calls_share_connections(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = {"key-a": "issuer-a", "key-b": "issuer-b", "key-c": "issuer-c"}
    tenants: dict[str, Tenant] = {}
    for n, key in enumerate(keys):
        monkeypatch.setenv(f"FIRMAIO_KEY_{n}", key)
        tenants[f"comune-{n}"] = Tenant(f"comune-{n}", key_env=f"FIRMAIO_KEY_{n}")

    async def scenario(sandbox: Sandbox) -> tuple[int, int]:
        port = urlsplit(sandbox.url).port
        assert port is not None
        store = open_async_store(postgres_url)
        factory = Factory(Settings(base_url=sandbox.url), SystemClock(), store)
        runtime = await Runtime(factory, postgres_url, Tenants(tenants, source=None)).open()
        try:
            await runtime.check_settings()  # one call per tenant's key, one after the other
            after_three = _established(port)
            await runtime.clients["comune-0"].aclose()
            await check_settings(runtime.clients["comune-1"])  # still goes out
            await check_settings(runtime.clients["comune-2"])
            return after_three, _established(port)
        finally:
            await runtime.close()
            await store.close()

    with Sandbox(activation_delay=0, validation_delay=0, keys=keys) as sandbox:
        after_three, after_closing_one = asyncio.run(scenario(sandbox))
    assert after_three == 1, f"three tenants' calls held {after_three} connections"
    assert after_closing_one == 1, "closing one tenant's client closed the others' connection"


def test_a_proxy_named_by_the_environment_is_used_by_every_tenant(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind an administration's outbound proxy (``HTTP_PROXY``/``HTTPS_PROXY``) a worker's
    calls go through it, as the command's and ``serve``'s do: a client given the shared pool
    as its transport would ignore the proxy and connect directly."""
    keys = {"key-a": "issuer-a", "key-b": "issuer-b"}
    tenants: dict[str, Tenant] = {}
    for n, key in enumerate(keys):
        monkeypatch.setenv(f"FIRMAIO_KEY_{n}", key)
        tenants[f"comune-{n}"] = Tenant(f"comune-{n}", key_env=f"FIRMAIO_KEY_{n}")

    async def scenario(sandbox: Sandbox) -> None:
        store = open_async_store(postgres_url)
        factory = Factory(Settings(base_url=sandbox.url), SystemClock(), store)
        runtime = await Runtime(factory, postgres_url, Tenants(tenants, source=None)).open()
        try:  # the proxy here only pipes bytes: the sandbox cannot route a proxy's request
            with pytest.raises(ApiConfigurationError):  # line, but it got the call
                await runtime.check_settings()
        finally:
            await runtime.close()
            await store.close()

    with Sandbox(activation_delay=0, validation_delay=0, keys=keys) as sandbox:
        parts = urlsplit(sandbox.url)
        assert parts.hostname is not None
        assert parts.port is not None
        with TcpProxy(parts.hostname, parts.port) as proxy:  # a forward proxy, to the sandbox
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
            monkeypatch.delenv("NO_PROXY", raising=False)
            monkeypatch.delenv("no_proxy", raising=False)
            asyncio.run(scenario(sandbox))
            through = proxy.accepted
    assert through >= 1, "the tenants' calls did not go through the proxy"
