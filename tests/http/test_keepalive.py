"""The client lets an idle connection go before a server that closes idle ones at 5 s would.

Many servers close a connection idle for 5 s (uvicorn's default, Apache's, Node's). A client that
kept it 5 s too could send a call on it the instant the server closed it, and lose the answer: a
create-request lost that way in a 10,000-row benchmark run (bench/README.md, target 14). The
sandbox keeps idle connections 75 s, as a gateway does, so here the client alone decides: through
a TCP proxy that counts the connections made to the sandbox, a call 1 s after the last reuses its
connection; a call 4.5 s after (past the client's 4 s, before such a server's 5 s) opens a new one.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from firmaio.adapters.client import IssuerClient
from firmaio.adapters.client.transport import KEEPALIVE_EXPIRY
from firmaio.adapters.sandbox import Sandbox
from firmaio.fsm.machine.answers import Kind
from tests.sandbox_helpers import fiscal_code
from tests.tcp_proxy import TcpProxy

SERVER_IDLE = 5.0
"""uvicorn's default ``timeout_keep_alive`` (Apache's and Node's too)."""


def test_an_idle_connection_is_let_go_before_the_server_closes_it(sandbox: Sandbox) -> None:
    assert KEEPALIVE_EXPIRY < SERVER_IDLE
    code = fiscal_code()
    sandbox.issuer.add_citizen(code)
    request_id = sandbox.issuer.create_ready_request("sandbox-key", code)
    parts = urlsplit(sandbox.url)
    assert parts.hostname is not None
    assert parts.port is not None

    async def calls(proxy: TcpProxy) -> list[int]:
        url = f"http://127.0.0.1:{proxy.port}{parts.path}"
        made = []
        async with IssuerClient("sandbox-key", base_url=url) as client:
            for idle in (0.0, 1.0, (KEEPALIVE_EXPIRY + SERVER_IDLE) / 2):
                await asyncio.sleep(idle)
                answer = await client.get_request(request_id)
                assert answer.kind is Kind.REQUEST, answer
                made.append(proxy.accepted)
        return made

    with TcpProxy(parts.hostname, parts.port) as proxy:
        made = asyncio.run(calls(proxy))
    assert made[:2] == [1, 1], "a call 1 s after the last reused its connection"
    assert made[2] == 2, "a connection idle past the client's expiry was not used again"
