"""The demo's webhook: its flows' events delivered, signed, to a receiver on loopback.

``firmaio demo --db`` keeps its flows in a store, whose outbox holds an event per record. This
starts a receiver in a thread (it verifies each delivery with the ``standardwebhooks`` library,
as a receiver would), delivers the outbox to it with a secret made for the run, and prints what
the receiver got.
"""

from __future__ import annotations

import base64
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

from standardwebhooks import Webhook, WebhookVerificationError

from ..clock import SystemClock
from ..store import AsyncStore
from ..webhooks import Deliverer, WebhookTarget

TYPE_PREFIX = "it.pagopa.firmaio."


@contextmanager
def _receiver(secret: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A receiver on loopback in a thread: its URL and the events it verified."""
    got: list[dict[str, Any]] = []
    webhook = Webhook(secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            try:
                got.append(webhook.verify(body, dict(self.headers.items())))
                self.send_response(204)
            except WebhookVerificationError:
                self.send_response(401)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/events", got
    finally:
        server.shutdown()
        server.server_close()


async def show_events(store: AsyncStore, out: TextIO) -> None:
    """Deliver the store's events to a receiver on loopback; print what it got."""
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    with tempfile.TemporaryDirectory() as folder, _receiver(secret) as (url, got):
        secret_file = Path(folder) / "webhook.secret"
        secret_file.touch(mode=0o600)
        secret_file.write_text(secret)
        target = WebhookTarget("default", url, secret_file=secret_file)
        async with Deliverer(store, [target], clock=SystemClock()) as sender:
            await sender.drain()
    flows: dict[str, list[dict[str, Any]]] = {}
    for event in got:
        flows.setdefault(str(event["subject"]), []).append(event)
    in_order = all(
        [e["data"]["seq"] for e in events] == sorted(e["data"]["seq"] for e in events)
        for events in flows.values()
    )
    print(
        f"\n== the events a local receiver got, each signature verified: {len(got)} "
        f"({len(flows)} flows{', each in order' if in_order else ''})",
        file=out,
    )
    for flow_id, events in flows.items():
        kinds = [str(e["type"]).removeprefix(TYPE_PREFIX) for e in events]
        print(
            f"  flow {flow_id}: {len(events)} events, the last: {', '.join(kinds[-3:])}", file=out
        )
