"""The client lets an idle connection go before a server that closes idle ones at 5 s would (the
issuer's calls, and the events' deliveries to a webhook receiver).

Many servers close a connection idle for 5 s (uvicorn's default, Apache's, Node's). A client that
kept it 5 s too could send a call on it the instant the server closed it, and lose the answer: a
create-request lost that way in a 10,000-row benchmark run (bench/README.md, target 14). The
sandbox keeps idle connections 75 s, as a gateway does, so here the client alone decides: through
a TCP proxy that counts the connections made to the sandbox, a call 1 s after the last reuses its
connection; a call 4.5 s after (past the client's 4 s, before such a server's 5 s) opens a new one.
"""

from __future__ import annotations

import asyncio
import http.server
import threading
from urllib.parse import urlsplit

import pytest

from firmaio.adapters.client import IssuerClient
from firmaio.adapters.client.transport import KEEPALIVE_EXPIRY
from firmaio.adapters.sandbox import Sandbox
from firmaio.adapters.webhooks import Deliverer, WebhookTarget
from firmaio.fsm.machine.answers import Kind
from firmaio.fsm.testing import ManualClock
from tests.sandbox_helpers import fiscal_code
from tests.tcp_proxy import TcpProxy
from tests.webhook_helpers import SECRET, MemoryOutbox, event

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


class _NoContent(http.server.BaseHTTPRequestHandler):
    """A webhook receiver that keeps connections open (HTTP/1.1) and answers 204."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


def test_webhook_deliveries_let_an_idle_connection_go_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The events' deliverer keeps an idle connection to a receiver no longer than the client."""
    monkeypatch.setenv("FIRMAIO_TEST_WEBHOOK_SECRET", SECRET)
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NoContent)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()

    async def deliveries(proxy: TcpProxy) -> list[int]:
        outbox, made = MemoryOutbox(), []
        target = WebhookTarget(
            "default", f"http://127.0.0.1:{proxy.port}/events",
            secret_env="FIRMAIO_TEST_WEBHOOK_SECRET",
        )  # fmt: skip
        async with Deliverer(outbox, (target,), clock=ManualClock()) as sender:
            for seq, idle in enumerate((0.0, 1.0, (KEEPALIVE_EXPIRY + SERVER_IDLE) / 2), 1):
                await asyncio.sleep(idle)
                outbox.add(event("f1", seq))
                assert await sender.deliver_due() == 1
                made.append(proxy.accepted)
        return made

    try:
        with TcpProxy("127.0.0.1", receiver.server_address[1]) as proxy:
            made = asyncio.run(deliveries(proxy))
    finally:
        receiver.shutdown()
        receiver.server_close()
    assert made[:2] == [1, 1], "a delivery 1 s after the last reused its connection"
    assert made[2] == 2, "a connection idle past the client's expiry was not used again"
